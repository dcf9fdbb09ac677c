import CorscopeRedaction
import BrowserRules
import CorscopeCapture
import CorscopeHTTP
import CorscopeVerdicts

/// Builds a `CORSReport` from judged exchanges fed one at a time in capture order.
///
/// Memory stays bounded whatever the capture size: counters per origin, one accumulator per
/// blocked group (its first exchange kept whole as the example, a few ids as evidence), a
/// small summary per URL for the cache analysis, and time bins that coarsen as they fill.
/// Everything expensive (templates, strings, layer inference, fixes, redaction) happens either
/// once per group or in `finish()`.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class ReportBuilder {
    public struct Limits: Sendable {
        /// Exchange ids kept per blocked group and per cache finding.
        public var evidencePerGroup = 10
        /// Distinct URLs whose answers are remembered for the cross-request cache checks.
        public var maxTrackedURLs = 50_000
        /// Distinct hosts whose answers are remembered for the layer inference (their Server
        /// values and one answer carrying Access-Control-Allow-Origin).
        public var maxTrackedHosts = 10_000
        /// Blocked groups kept; later new groups are counted but not detailed.
        public var maxGroups = 5_000
        /// Bins of the blocked-over-time series.
        public var timelineBins = 48
        /// Distinct page origins reported one by one; the rest are counted under `otherOrigins`
        /// (a scan with random Origin headers must not grow the report without bound).
        public var maxOrigins = 10_000
        /// Cache-poisoning findings (kind × host × URL template) kept.
        public var maxCacheFindings = 5_000
        public init() {}
    }

    public struct Options: Sendable {
        /// Replace secrets by `[redacted]` (default on).
        public var redact = true
        /// The profile the exchanges were judged with; its console text is shown after Chromium's.
        public var profile: BrowserProfile = .chromium
        /// Input names shown in the report.
        public var inputs: [String] = []
        public var limits = Limits()
        public init() {}
    }

    public let options: Options
    @exclusivity(unchecked) private var totals = CORSReport.Totals()
    @exclusivity(unchecked) private var edges = CORSReport.Edges()
    @exclusivity(unchecked) private var origins: [String: OriginAccumulator] = [:]
    @exclusivity(unchecked) private var groupCount = 0
    /// Blocked requests whose group was not kept because `maxGroups` was reached.
    @exclusivity(unchecked) public private(set) var blockedOutsideGroups = 0
    /// What each host's answers showed across the capture (bounded by `Limits.maxTrackedHosts`).
    @exclusivity(unchecked) private var hosts: [String: HostEvidence] = [:]
    private let cache: CachePoisoningAnalyzer
    private let websockets: WebSocketOriginAnalyzer

    public init(options: Options = Options()) {
        self.options = options
        cache = CachePoisoningAnalyzer(maxTrackedURLs: options.limits.maxTrackedURLs,
                                       evidencePerFinding: options.limits.evidencePerGroup,
                                       maxFindings: options.limits.maxCacheFindings)
        websockets = WebSocketOriginAnalyzer(maxFindings: options.limits.maxCacheFindings,
                                             evidencePerFinding: options.limits.evidencePerGroup)
    }

    // MARK: Streaming

    public func add(_ judged: JudgedExchange) {
        totals.exchanges += 1
        let exchange = judged.exchange
        if exchange.response == nil || exchange.request == nil {
            for anomaly in exchange.anomalies {
                if anomaly == .requestWithoutResponse { edges.requestsWithoutResponse += 1 }
                if anomaly == .responseWithoutRequest { edges.responsesWithoutRequest += 1 }
            }
        }
        guard let head = exchange.requestHead, let time = exchange.requestFirstByte else { return }
        let requestFacts = RequestFacts(head.headers)
        let requestOrigin = requestFacts.origin
        let verdict = judged.verdict
        let isCORS = verdict.kind != .notCORS

        let method = head.method
        let cacheRelevant = method == "GET" || method == "HEAD"
        var host: String?
        if let response = exchange.responseHead, isCORS || cacheRelevant {
            let facts = ResponseFacts(response)
            let exchangeHost = requestFacts.host ?? Self.host(of: exchange)
            host = exchangeHost
            if cacheRelevant {
                cache.observe(exchangeID: { exchange.id }, scheme: Self.scheme(of: exchange), host: exchangeHost, target: head.target,
                              requestOrigin: requestOrigin, response: facts, time: time)
            }
            if isCORS { remember(host: exchangeHost, facts: facts, target: head.target) }
        }

        if verdict.notCORSReason == .websocket {
            websockets.observe(exchange, origin: requestOrigin, scheme: Self.scheme(of: exchange),
                               host: requestFacts.host ?? Self.host(of: exchange), time: time)
        }
        guard isCORS else {
            totals.notCORS += 1
            return
        }
        var originKey = requestOrigin ?? exchange.har?.pageURL.flatMap(Self.origin(ofURL:)) ?? "(unknown origin)"
        let origin: OriginAccumulator
        if let existing = origins[originKey] {
            origin = existing
        } else {
            if origins.count >= options.limits.maxOrigins { originKey = Self.otherOrigins }
            if let other = origins[originKey] {
                origin = other
            } else {
                origin = OriginAccumulator()
                origins[originKey] = origin
            }
        }
        if !verdict.warnings.isEmpty {
            totals.warnings += verdict.warnings.count
            origin.warnings += verdict.warnings.count
            for warning in verdict.warnings { origin.countWarning(warning) }
        }
        // A HAR lists a request whose preflight failed although it never went out, and carries
        // the preflight's verdict: the failure is counted once, on the preflight, as a capture
        // (which has only the preflight) counts it.
        if judged.role == .request, judged.preflight != nil, verdict.kind == .blocked, verdict.failure?.stage == .preflight,
           exchange.response == nil, exchange.isFromHAR {
            return
        }
        if verdict.assumption != nil && verdict.kind != .undecidable { totals.assumedCredentials += 1 }
        switch verdict.kind {
        case .passed:
            if judged.role == .preflight {
                totals.preflightsPassed += 1
            } else {
                totals.passed += 1
                origin.passed += 1
            }
        case .undecidable:
            totals.undecidable += 1
            origin.undecidable += 1
        case .blocked:
            totals.blocked += 1
            origin.blocked += 1
            origin.timeline.add(seconds: time.seconds)
            guard let failure = verdict.failure else { return }
            let key = GroupKey(error: failure.error, method: judged.guardedMethod ?? method,
                               host: host ?? requestFacts.host ?? Self.host(of: exchange),
                               template: EndpointTemplate.template(of: head.target))
            if let group = origin.groups[key] {
                group.count += 1
                if time < group.firstSeen { group.firstSeen = time }
                if time > group.lastSeen { group.lastSeen = time }
                if group.exchangeIDs.count < options.limits.evidencePerGroup { group.exchangeIDs.append(exchange.id) }
            } else if groupCount < options.limits.maxGroups {
                groupCount += 1
                origin.groups[key] = GroupAccumulator(example: judged, failure: failure, time: time)
            } else {
                blockedOutsideGroups += 1
            }
        case .notCORS:
            break
        }
    }

    /// Keeps what a later failure of the same host may need: the Server values its answers
    /// carried (a layer in front answering itself shows another one than the application) and
    /// one answer with Access-Control-Allow-Origin.
    private func remember(host: String, facts: ResponseFacts, target: String) {
        if hosts[host] == nil {
            guard hosts.count < options.limits.maxTrackedHosts else { return }
            hosts[host] = HostEvidence()
        }
        hosts[host]!.observe(facts, target: target)
    }

    // MARK: Finishing

    public func finish() -> CORSReport {
        let redactor = Redactor(enabled: options.redact)
        let timeline = commonTimeline()
        var originReports: [OriginReport] = []
        for (name, accumulator) in origins {
            var groups: [BlockedGroup] = []
            for (key, group) in accumulator.groups {
                groups.append(blockedGroup(origin: name, key: key, group: group, redactor: redactor))
            }
            groups.sort { ($1.count, $0.reason, $0.host, $0.endpoint) < ($0.count, $1.reason, $1.host, $1.endpoint) }
            let warnings = accumulator.warningCounts.map { code, entry in
                WarningCount(code: code, summary: redactor.text(entry.summary), count: entry.count)
            }.sorted { $0.code < $1.code }
            originReports.append(OriginReport(
                origin: name, passed: accumulator.passed, blocked: accumulator.blocked,
                undecidable: accumulator.undecidable, warnings: accumulator.warnings, warningCounts: warnings,
                groups: groups, blockedOverTime: accumulator.timeline.bins(start: timeline.startSecond,
                                                                          width: timeline.width, count: timeline.count)))
        }
        originReports.sort { $0.origin < $1.origin }
        let findings = cache.finish(redactor: redactor)
        var report = CORSReport(
            redacted: options.redact, browser: options.profile.engine.rawValue, inputs: options.inputs,
            totals: totals, origins: originReports, cacheFindings: findings, websocketFindings: websockets.finish(redactor: redactor),
            timeline: CORSReport.Timeline(start: timeline.count > 0 ? Timestamp(seconds: timeline.startSecond, nanoseconds: 0) : nil,
                                          binSeconds: Double(timeline.width), binCount: timeline.count))
        report.edges = edges
        return report
    }

    private func commonTimeline() -> (startSecond: Int64, width: Int64, count: Int) {
        var low = Int64.max, high = Int64.min
        for accumulator in origins.values {
            if let range = accumulator.timeline.range {
                low = min(low, range.lowerBound)
                high = max(high, range.upperBound)
            }
        }
        guard low <= high else { return (0, 1, 0) }
        let bins = Int64(options.limits.timelineBins)
        var width: Int64 = 1
        while (high - low) / width + 1 > bins { width *= 2 }
        let start = low - low % width
        let count = Int((high - start) / width + 1)
        return (start, width, count)
    }

    private func blockedGroup(origin: String, key: GroupKey, group: GroupAccumulator, redactor: Redactor) -> BlockedGroup {
        let judged = group.example
        let failure = group.failure
        // The example is redacted first: the secrets it hides are then scrubbed from the texts.
        let example = Self.example(of: judged.exchange, preflight: judged.preflight ?? judged.cachedPreflight?.exchange,
                                   redactor: redactor)
        var shownFailure = failure
        shownFailure.details.url = redactor.url(failure.details.url)
        shownFailure.details.initialURL = redactor.url(failure.details.initialURL)
        shownFailure.details.redirectLocation = failure.details.redirectLocation.map(redactor.url)
        var messages: [ConsoleMessage] = []
        var profiles: [BrowserProfile] = [.chromium]
        if options.profile.engine != .chromium { profiles.append(options.profile) }
        for profile in profiles {
            if let text = shownFailure.message(for: profile) {
                messages.append(ConsoleMessage(browser: profile.engine.rawValue, text: redactor.text(text)))
            }
        }
        let failingResponse: HTTPResponse?
        if failure.stage == .preflight && judged.role == .request {
            failingResponse = (judged.preflight ?? judged.cachedPreflight?.exchange)?.response
        } else {
            failingResponse = judged.exchange.response
        }
        let facts = failingResponse.map(ResponseFacts.init)
        let evidence = hosts[key.host]
        let layer = LayerInference.infer(.init(
            failure: failure, response: facts, body: failingResponse?.body.kept ?? [],
            hostSentACAOOn2xxFromNginx: evidence?.nginxACAOPath != nil,
            hostACAOExamplePath: evidence?.nginxACAOPath,
            hostServers: evidence?.servers.map { (ByteText.string($0.value[...]), $0.path) } ?? [],
            hostACAOPath: evidence?.acaoPath, redactor: redactor))
        let requestHeaders = judged.exchange.requestHead?.headers ?? HTTPHeaderFields()
        let askedHeaders = (judged.role == .preflight ? requestHeaders : judged.preflight?.requestHead?.headers)?
            .first(named: "Access-Control-Request-Headers")
        let context = Fixes.Context(
            origin: failure.details.initiatorOrigin.isEmpty ? origin : failure.details.initiatorOrigin,
            credentialed: requestHeaders.contains(named: "Cookie") || requestHeaders.contains(named: "Authorization")
                || facts?.allowCredentialsIndex != nil,
            method: key.method,
            requestHeaders: askedHeaders.map { $0.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty } } ?? [],
            pathTemplate: key.template)
        let fix = Fixes.advice(for: failure, verdictFix: judged.verdict.fix.map(redactor.text), layer: layer, context: context)
        return BlockedGroup(
            id: StableID.make("B", origin, failure.error.cdpName, key.method, key.host, key.template),
            reason: failure.error.cdpName, stage: failure.stage.rawValue,
            failedParameter: failure.failedParameter.isEmpty ? nil : redactor.text(failure.failedParameter),
            method: key.method, host: key.host, pathTemplate: key.template, count: group.count,
            firstSeen: group.firstSeen, lastSeen: group.lastSeen, exchangeIDs: group.exchangeIDs, example: example,
            messages: messages, explanation: redactor.text(judged.verdict.explanation),
            assumption: Self.assumption(of: judged.verdict), layer: layer, fix: fix)
    }

    static func assumption(of verdict: CORSVerdict) -> GroupAssumption? {
        guard let assumed = verdict.assumption else { return nil }
        let alternative = verdict.alternative.map { outcome -> String in
            let mode = outcome.assumption == .included ? "if credentials were included" : "if credentials were not included"
            let result = outcome.kind == .blocked ? "blocked (\(outcome.failure?.error.cdpName ?? "?"))" : outcome.kind.jsonName
            return "\(mode): \(result)"
        }
        return GroupAssumption(credentials: assumed.credentials == .included ? "include" : "omit",
                               because: assumed.because, alternative: alternative)
    }

    static func example(of exchange: HTTPExchange, preflight: HTTPExchange?, redactor: Redactor) -> ExampleExchange {
        func lines(_ fields: HTTPHeaderFields?) -> [HeaderLine] {
            guard let fields else { return [] }
            return (0..<fields.count).map { index in
                let name = fields.name(at: index)
                return HeaderLine(name: name, value: redactor.header(name: name, value: fields.value(at: index)))
            }
        }
        let request = exchange.request
        var requestLines = lines(request?.head.headers)
        // Restored headers were appended after the input's own: mark the last line of each name.
        for inferred in exchange.har?.inferredRequestHeaders ?? [] {
            if let index = requestLines.lastIndex(where: { $0.name.lowercased() == inferred.name.lowercased() }) {
                requestLines[index].inferred = inferred.because
            }
        }
        return ExampleExchange(
            id: exchange.id, time: request?.firstByte, method: request?.head.method ?? "",
            url: redactor.url(url(of: exchange)), status: exchange.responseHead?.status,
            transport: transportText(of: exchange),
            requestHeaders: requestLines, responseHeaders: lines(exchange.responseHead?.headers),
            preflight: preflight.map { [example(of: $0, preflight: nil, redactor: redactor)] } ?? [])
    }

    /// "HTTP/2 stream 3, TLS 1.3 TLS_AES_128_GCM_SHA256, ALPN h2, SNI api.test"; nil for plain
    /// HTTP/1.x over TCP and for HAR entries (their URL says the scheme).
    static func transportText(of exchange: HTTPExchange) -> String? {
        let transport = exchange.transport
        var parts: [String] = []
        if let stream = exchange.streamID { parts.append("HTTP/2 stream \(stream)") } else if transport.isHTTP2 { parts.append("HTTP/2") }
        if let tls = transport.tls {
            var text = "\(tls.version) \(tls.cipherSuite)"
            if let alpn = tls.alpn { text += ", ALPN \(alpn)" }
            if let name = tls.serverName { text += ", SNI \(name)" }
            parts.append(text)
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    // MARK: Small helpers

    /// Where origins beyond `Limits.maxOrigins` are counted.
    public static let otherOrigins = "(other origins)"

    static func host(of exchange: HTTPExchange) -> String {
        exchange.requestAuthority ?? exchange.connection.server.description
    }

    static func url(of exchange: HTTPExchange) -> String { exchange.requestURL ?? "" }

    /// `http` or `https` (`ws`/`wss` URLs of a HAR as `http`/`https`).
    static func scheme(of exchange: HTTPExchange) -> String {
        switch exchange.requestScheme {
        case "https", "wss": return "https"
        default: return "http"
        }
    }

    /// `https://app.example:8443/page?x` → `https://app.example:8443`.
    static func origin(ofURL url: String) -> String? { HTTPURL.origin(of: url) }
}

/// What one host's answers showed across the capture, for the layer inference of its failures.
private struct HostEvidence {
    /// A 2xx path template that carried ACAO from nginx (nginx `add_header` without `always`).
    var nginxACAOPath: String?
    /// A path template whose answer carried ACAO, from any server.
    var acaoPath: String?
    /// Distinct Server values (at most `maxServers`), each with the path template of its first answer.
    var servers: [(value: [UInt8], path: String)] = []
    static let maxServers = 4

    mutating func observe(_ facts: ResponseFacts, target: String) {
        if facts.hasAllowOrigin {
            if acaoPath == nil { acaoPath = EndpointTemplate.template(of: target) }
            if nginxACAOPath == nil, (200..<300).contains(facts.status), facts.serverContains("nginx") {
                nginxACAOPath = EndpointTemplate.template(of: target)
            }
        }
        guard servers.count < Self.maxServers else { return }
        if let first = facts.firstServerIndex { keepServer(facts.headers.valueBytes(at: first), target: target) }
        if let last = facts.serverIndex, last != facts.firstServerIndex { keepServer(facts.headers.valueBytes(at: last), target: target) }
    }

    private mutating func keepServer(_ value: ArraySlice<UInt8>, target: String) {
        guard servers.count < Self.maxServers, !servers.contains(where: { $0.value.elementsEqual(value) }) else { return }
        servers.append((Array(value), EndpointTemplate.template(of: target)))
    }
}

private struct GroupKey: Hashable {
    var error: CorsError
    var method: String
    var host: String
    var template: String
}

/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
private final class GroupAccumulator {
    @exclusivity(unchecked) var count = 1
    @exclusivity(unchecked) var firstSeen: Timestamp
    @exclusivity(unchecked) var lastSeen: Timestamp
    @exclusivity(unchecked) var exchangeIDs: [String]
    let example: JudgedExchange
    let failure: CORSFailure

    init(example: JudgedExchange, failure: CORSFailure, time: Timestamp) {
        self.example = example
        self.failure = failure
        firstSeen = time
        lastSeen = time
        exchangeIDs = [example.exchange.id]
    }
}

/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
private final class OriginAccumulator {
    @exclusivity(unchecked) var passed = 0
    @exclusivity(unchecked) var blocked = 0
    @exclusivity(unchecked) var undecidable = 0
    @exclusivity(unchecked) var warnings = 0
    @exclusivity(unchecked) var warningCounts: [String: (summary: String, count: Int)] = [:]
    @exclusivity(unchecked) var groups: [GroupKey: GroupAccumulator] = [:]
    @exclusivity(unchecked) var timeline = TimeHistogram()

    func countWarning(_ warning: CORSWarning) {
        warningCounts[warning.code, default: (warning.summary, 0)].count += 1
    }
}

/// Blocked requests per second of capture time, coarsened (bins merged in pairs) whenever it
/// holds too many bins, so a week-long capture costs the same memory as a minute.
struct TimeHistogram {
    private(set) var width: Int64 = 1
    private var counts: [Int64: Int] = [:]
    private static let maxBins = 4096

    var range: ClosedRange<Int64>? {
        guard let low = counts.keys.min(), let high = counts.keys.max() else { return nil }
        return (low * width)...(high * width + width - 1)
    }

    mutating func add(seconds: Int64) {
        counts[Self.floorDiv(seconds, width), default: 0] += 1
        if counts.count > Self.maxBins {
            width *= 2
            var merged: [Int64: Int] = [:]
            for (bin, count) in counts { merged[Self.floorDiv(bin, 2), default: 0] += count }
            counts = merged
        }
    }

    /// Counts re-binned onto a common axis; `width` there is a multiple of this one's.
    func bins(start: Int64, width outer: Int64, count: Int) -> [Int] {
        var result = [Int](repeating: 0, count: count)
        for (bin, value) in counts {
            let index = Int(Self.floorDiv(bin * width - start, outer))
            if index >= 0 && index < count { result[index] += value }
        }
        return result
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

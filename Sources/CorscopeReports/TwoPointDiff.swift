import BrowserRules
import CorscopeCapture
import CorscopeHTTP
import CorscopeRedaction
import CorscopeVerdicts

/// `corscope diff NEAR FAR`: the same exchanges captured at two points of the serving path — the
/// near one closer to the browser (the client side of a load balancer, a CDN edge), the far one
/// closer to the application (its host, the upstream side of nginx) — matched one to one, with
/// every CORS-relevant header the layer between them added, removed, duplicated or changed, and
/// how the verdict differs; plus the requests only one point saw (answered by the layer itself, or
/// made by it). Direct evidence of which layer did it, where `analyze` can only infer it.
public struct TwoPointDiff: Sendable {
    public static let schema = "corscope.diff/1"

    public var nearLabel: String
    public var farLabel: String
    public var nearInputs: [String]
    public var farInputs: [String]
    public var redacted: Bool
    public var totals: Totals
    /// Far-side capture time minus near-side capture time, estimated from the exchanges matched
    /// unambiguously (their median); applied before matching the rest by time.
    public var clockOffsetSeconds: Double
    /// Differences, the requests one point alone saw, most frequent first.
    public var groups: [DiffGroup]

    public struct Totals: Sendable, Equatable {
        public var nearExchanges = 0
        public var farExchanges = 0
        public var matched = 0
        /// Matched exchanges whose CORS-relevant headers or status differ.
        public var changed = 0
        /// Matched exchanges whose verdict differs between the points.
        public var verdictChanged = 0
        public var onlyNear = 0
        public var onlyFar = 0
        /// Exchanges left out because a side held more than `TwoPointDiffBuilder.maxExchangesPerSide`.
        public var skipped = 0
    }
}

/// Matched exchanges that changed the same way on the same endpoint, or requests one point alone saw.
public struct DiffGroup: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Seen at both points, CORS-relevant headers or status differ.
        case changed
        /// Seen only at the near point: the layer between answered it itself (or the far capture missed it).
        case onlyNear = "only-near"
        /// Seen only at the far point: made by the layer (a health check, a retry) or missed by the near capture.
        case onlyFar = "only-far"
    }

    public var id: String
    public var kind: Kind
    public var method: String
    public var host: String
    public var pathTemplate: String
    public var count: Int
    public var changes: [HeaderChange]
    /// The verdict at each point ("passed", "blocked (MultipleAllowOriginValues)", "not CORS"); nil
    /// where the point did not see the exchange.
    public var nearVerdict: String?
    public var farVerdict: String?
    /// What happened, in one or two sentences.
    public var summary: String
    /// The products seen at the near point and not at the far one: the layer between.
    public var layerBetween: [SeenLayer]
    /// Pairs of exchange ids (near, far), at most `evidencePerGroup`.
    public var examples: [ExamplePair]
    public var fix: FixAdvice?

    public struct ExamplePair: Sendable, Equatable {
        public var near: String?
        public var far: String?
        public var nearStatus: Int?
        public var farStatus: Int?
        public var time: Timestamp?
    }
}

/// One CORS-relevant field that differs between the points.
public struct HeaderChange: Sendable, Equatable {
    public enum Kind: String, Sendable { case added, removed, duplicated, changed }
    /// `request` or `response`.
    public var message: String
    public var name: String
    public var kind: Kind
    /// The values at each point, redacted.
    public var near: [String]
    public var far: [String]

    /// "Access-Control-Allow-Origin duplicated (far: 'a'; near: 'a', '*')".
    public var text: String {
        func list(_ values: [String]) -> String { values.isEmpty ? "none" : values.map { "'\($0)'" }.joined(separator: ", ") }
        return "\(message == "request" ? "request " : "")\(name) \(kind.rawValue) (far: \(list(far)); near: \(list(near)))"
    }
}

/// Collects the judged exchanges of both points, then matches and compares them in `finish()`.
///
/// Each exchange is reduced to a small record as it arrives (its CORS fields, redacted, and its
/// verdict); memory grows with the exchanges of both captures, bounded by `maxExchangesPerSide`.
public final class TwoPointDiffBuilder {
    public enum Side: Sendable { case near, far }

    public struct Options: Sendable {
        public var nearLabel = "near"
        public var farLabel = "far"
        public var nearInputs: [String] = []
        public var farInputs: [String] = []
        public var redact = true
        /// Largest gap, in seconds after the clock offset, between the two sightings of one exchange.
        public var window: Double = 5
        public var evidencePerGroup = 10
        public var maxExchangesPerSide = 2_000_000
        public init() {}
    }

    public let options: Options
    private let redactor: Redactor
    private var near: [PointExchange] = []
    private var far: [PointExchange] = []
    private var skipped = 0

    public init(options: Options = Options()) {
        self.options = options
        redactor = Redactor(enabled: options.redact)
    }

    public func add(_ judged: JudgedExchange, side: Side) {
        guard let record = PointExchange(judged, redactor: redactor) else { return }
        switch side {
        case .near:
            guard near.count < options.maxExchangesPerSide else { skipped += 1; return }
            near.append(record)
        case .far:
            guard far.count < options.maxExchangesPerSide else { skipped += 1; return }
            far.append(record)
        }
    }

    public func finish() -> TwoPointDiff {
        var totals = TwoPointDiff.Totals()
        totals.nearExchanges = near.count
        totals.farExchanges = far.count
        totals.skipped = skipped
        let (pairs, offset) = Self.match(near: near, far: far, window: options.window)
        var accumulators: [String: GroupAccumulator] = [:]
        var order: [String] = []
        func accumulate(key: String, make: () -> GroupAccumulator, pair: DiffGroup.ExamplePair) {
            if accumulators[key] == nil {
                accumulators[key] = make()
                order.append(key)
            }
            let group = accumulators[key]!
            group.count += 1
            if group.examples.count < options.evidencePerGroup { group.examples.append(pair) }
        }
        var matchedFar = Set<Int>()
        var matchedNear = Set<Int>()
        for (n, f) in pairs {
            matchedNear.insert(n)
            matchedFar.insert(f)
            totals.matched += 1
            let a = near[n], b = far[f]
            let changes = Self.changes(near: a, far: b)
            if a.verdict != b.verdict { totals.verdictChanged += 1 }
            guard !changes.isEmpty || a.verdict != b.verdict else { continue }
            totals.changed += 1
            let signature = changes.map { "\($0.message):\($0.name):\($0.kind.rawValue)" }.joined(separator: ",")
            let key = ["changed", a.method, a.host, a.template, signature, a.verdict, b.verdict].joined(separator: "\u{1F}")
            accumulate(key: key, make: {
                GroupAccumulator(kind: .changed, near: a, far: b, changes: changes)
            }, pair: .init(near: a.id, far: b.id, nearStatus: a.status, farStatus: b.status, time: a.time))
        }
        for (index, a) in near.enumerated() where !matchedNear.contains(index) {
            totals.onlyNear += 1
            let key = ["near", a.method, a.host, a.template, String(a.status ?? 0), a.verdict].joined(separator: "\u{1F}")
            accumulate(key: key, make: { GroupAccumulator(kind: .onlyNear, near: a, far: nil, changes: []) },
                       pair: .init(near: a.id, far: nil, nearStatus: a.status, farStatus: nil, time: a.time))
        }
        for (index, b) in far.enumerated() where !matchedFar.contains(index) {
            totals.onlyFar += 1
            let key = ["far", b.method, b.host, b.template, String(b.status ?? 0), b.verdict].joined(separator: "\u{1F}")
            accumulate(key: key, make: { GroupAccumulator(kind: .onlyFar, near: nil, far: b, changes: []) },
                       pair: .init(near: nil, far: b.id, nearStatus: nil, farStatus: b.status, time: b.time))
        }
        // A layer that leaves no trace on answers it passes on (HAProxy) is still named by its own
        // answers to other requests of the same host.
        var hostLayers: [String: String] = [:]
        for key in order {
            let accumulator = accumulators[key]!
            guard let near = accumulator.near else { continue }
            let farIDs = Set((accumulator.far?.seen ?? []).map(\.id))
            if hostLayers[near.host] == nil,
               let product = near.seen.first(where: { !farIDs.contains($0.id) }) {
                hostLayers[near.host] = product.name
            }
        }
        var groups = order.map { accumulators[$0]!.group(labels: (options.nearLabel, options.farLabel), hostLayers: hostLayers) }
        groups.sort { ($0.count, $1.id) > ($1.count, $0.id) }
        return TwoPointDiff(nearLabel: options.nearLabel, farLabel: options.farLabel, nearInputs: options.nearInputs,
                            farInputs: options.farInputs, redacted: options.redact, totals: totals,
                            clockOffsetSeconds: offset, groups: groups)
    }

    // MARK: Matching

    /// Pairs (near index, far index). First by a request id both points carry; then per request
    /// fingerprint (method, path and query, Origin, Access-Control-Request-Method, body size) in
    /// time order, after estimating the clock offset between the captures from the fingerprints
    /// seen exactly once at each point.
    static func match(near: [PointExchange], far: [PointExchange], window: Double) -> (pairs: [(Int, Int)], offset: Double) {
        var pairs: [(Int, Int)] = []
        var usedNear = Set<Int>(), usedFar = Set<Int>()
        var farByID: [String: [Int]] = [:]
        for (index, b) in far.enumerated() { for id in b.requestIDs { farByID[id, default: []].append(index) } }
        for (index, a) in near.enumerated() {
            for id in a.requestIDs {
                if let candidates = farByID[id], let f = candidates.first(where: { !usedFar.contains($0) }),
                   near[index].fingerprint == far[f].fingerprint {
                    pairs.append((index, f)); usedNear.insert(index); usedFar.insert(f)
                    break
                }
            }
        }
        var nearByKey: [String: [Int]] = [:], farByKey: [String: [Int]] = [:]
        for (index, a) in near.enumerated() where !usedNear.contains(index) { nearByKey[a.fingerprint, default: []].append(index) }
        for (index, b) in far.enumerated() where !usedFar.contains(index) { farByKey[b.fingerprint, default: []].append(index) }
        var deltas: [Double] = []
        for (key, ns) in nearByKey where ns.count == 1 {
            if let fs = farByKey[key], fs.count == 1, let tn = near[ns[0]].seconds, let tf = far[fs[0]].seconds { deltas.append(tf - tn) }
        }
        for (n, f) in pairs { if let tn = near[n].seconds, let tf = far[f].seconds { deltas.append(tf - tn) } }
        deltas.sort()
        let offset = deltas.isEmpty ? 0 : deltas[deltas.count / 2]
        for key in nearByKey.keys.sorted() {
            guard let fs = farByKey[key] else { continue }
            let ns = nearByKey[key]!
            // Both lists are in capture order; walk them together, pairing within the window.
            var j = 0
            for n in ns {
                guard let tn = near[n].seconds else { continue }
                while j < fs.count, let tf = far[fs[j]].seconds, tf - offset < tn - window { j += 1 }
                guard j < fs.count else { break }
                if let tf = far[fs[j]].seconds, abs(tf - offset - tn) <= window {
                    pairs.append((n, fs[j]))
                    j += 1
                }
            }
        }
        // A proxy that rewrites the path (`proxy_pass http://app/upstream/;`): the far request of the
        // same method and Origin that began while the near exchange was open, when it is the only one.
        let matchedNear = Set(pairs.map(\.0)), matchedFar = Set(pairs.map(\.1))
        var openFar = far.indices.filter { !matchedFar.contains($0) && far[$0].seconds != nil }
        for n in near.indices where !matchedNear.contains(n) {
            guard let start = near[n].seconds else { continue }
            let end = near[n].responseSeconds ?? start
            let slack = 0.001
            let candidates = openFar.filter { f in
                let t = far[f].seconds! - offset
                return t >= start - slack && t <= end + slack && far[f].looseFingerprint == near[n].looseFingerprint
            }
            guard candidates.count == 1 else { continue }
            pairs.append((n, candidates[0]))
            openFar.removeAll { $0 == candidates[0] }
        }
        pairs.sort { $0.0 < $1.0 }
        return (pairs, offset)
    }

    // MARK: Comparing

    static func changes(near a: PointExchange, far b: PointExchange) -> [HeaderChange] {
        var changes: [HeaderChange] = []
        if a.status != b.status {
            changes.append(HeaderChange(message: "response", name: "status", kind: .changed,
                                        near: a.status.map { [String($0)] } ?? [], far: b.status.map { [String($0)] } ?? []))
        }
        for (message, names) in [("request", PointExchange.requestFields), ("response", PointExchange.responseFields)] {
            for name in names {
                let x = (message == "request" ? a.requestFields : a.responseFields)[name] ?? []
                let y = (message == "request" ? b.requestFields : b.responseFields)[name] ?? []
                guard x != y else { continue }
                let kind: HeaderChange.Kind
                if y.isEmpty { kind = .added }
                else if x.isEmpty { kind = .removed }
                else if x.count > y.count { kind = .duplicated }
                else { kind = .changed }
                changes.append(HeaderChange(message: message, name: name, kind: kind, near: x, far: y))
            }
        }
        return changes
    }
}

/// One exchange at one point, reduced to what the diff compares (values redacted).
struct PointExchange {
    static let requestFields = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
    static let responseFields = ["Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                                 "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                                 "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Vary", "Location", "Cache-Control"]
    /// Request ids a proxy forwards unchanged: they pair the two sightings directly.
    static let idFields = ["x-request-id", "x-correlation-id", "traceparent", "x-amzn-trace-id", "x-cloud-trace-context"]

    var id: String
    var time: Timestamp?
    var seconds: Double?
    /// When the answer's first byte was seen.
    var responseSeconds: Double?
    var method: String
    var host: String
    var template: String
    /// method, path and query, Origin, Access-Control-Request-Method and request body size:
    /// what a proxy leaves alone (the Host it may rewrite).
    var fingerprint: String
    /// The fingerprint without the path: for proxies that rewrite it.
    var looseFingerprint: String
    var requestIDs: [String]
    var status: Int?
    var requestFields: [String: [String]]
    var responseFields: [String: [String]]
    /// "passed", "blocked (Reason)", "undecidable", "not CORS".
    var verdict: String
    var verdictKind: CORSVerdict.Kind
    var role: JudgedExchange.Role
    var seen: [SeenLayer]
    /// The header that says a cache answered ("Age: 1", "X-Cache-Status: HIT"), and which cache.
    var cacheHit: String?
    var cacheName: String?

    init?(_ judged: JudgedExchange, redactor: Redactor) {
        let exchange = judged.exchange
        guard let head = exchange.requestHead else { return nil }
        id = exchange.id
        time = exchange.requestFirstByte
        seconds = time.map { Double($0.seconds) + Double($0.nanoseconds) / 1e9 }
        method = head.method
        host = exchange.requestAuthority ?? exchange.connection.server.description
        template = EndpointTemplate.template(of: head.target)
        let headers = head.headers
        func values(_ fields: HTTPHeaderFields, _ name: String) -> [String] {
            (0..<fields.count).filter { fields.name(at: $0).lowercased() == name.lowercased() }
                .map { redactor.header(name: name, value: fields.value(at: $0)) }
        }
        var requestFields: [String: [String]] = [:]
        for name in Self.requestFields { let v = values(headers, name); if !v.isEmpty { requestFields[name] = v } }
        self.requestFields = requestFields
        var ids: [String] = []
        for name in Self.idFields { for value in values(headers, name) { ids.append(name + "=" + value) } }
        requestIDs = ids
        let bodyBytes = exchange.request?.body.wireLength ?? 0
        looseFingerprint = [method, requestFields["Origin"]?.joined() ?? "",
                            requestFields["Access-Control-Request-Method"]?.joined() ?? "", String(bodyBytes)].joined(separator: "\u{1F}")
        fingerprint = head.target + "\u{1F}" + looseFingerprint
        responseSeconds = exchange.response.map { Double($0.firstByte.seconds) + Double($0.firstByte.nanoseconds) / 1e9 }
        status = exchange.responseHead?.status
        var responseFields: [String: [String]] = [:]
        if let response = exchange.responseHead {
            for name in Self.responseFields { let v = values(response.headers, name); if !v.isEmpty { responseFields[name] = v } }
            seen = LayerCatalogue.identify(response.headers, body: exchange.response?.body.kept ?? [])
            let facts = ResponseFacts(response)
            cacheHit = facts.cacheHitSignal.map { redactor.text($0) }
            cacheName = facts.cdnHint
        } else {
            seen = []
        }
        self.responseFields = responseFields
        verdictKind = judged.verdict.kind
        role = judged.role
        switch judged.verdict.kind {
        case .passed: verdict = "passed"
        case .blocked: verdict = "blocked (\(judged.verdict.failure?.error.cdpName ?? "?"))"
        case .undecidable: verdict = "undecidable"
        case .notCORS: verdict = "not CORS"
        }
    }
}

private final class GroupAccumulator {
    let kind: DiffGroup.Kind
    let near: PointExchange?
    let far: PointExchange?
    let changes: [HeaderChange]
    var count = 0
    var examples: [DiffGroup.ExamplePair] = []

    init(kind: DiffGroup.Kind, near: PointExchange?, far: PointExchange?, changes: [HeaderChange]) {
        self.kind = kind
        self.near = near
        self.far = far
        self.changes = changes
    }

    func group(labels: (near: String, far: String), hostLayers: [String: String]) -> DiffGroup {
        let some = (near ?? far)!
        let farIDs = Set((far?.seen ?? []).map(\.id))
        let between = (near?.seen ?? []).filter { !farIDs.contains($0.id) }
        let named = between.first { LayerCatalogue.layer(id: $0.id)?.layer != .server }?.name ?? between.first?.name
        let byHost = named == nil ? hostLayers[some.host] : nil
        let layerName = named ?? byHost
        let what = some.role == .preflight ? "the preflight (OPTIONS)" : "the request"
        let place = "between \(labels.far) and \(labels.near)"
            + (named.map { " (\($0))" } ?? byHost.map { " (\($0), named by its own answers to other requests of this host)" } ?? "")
        var summary: String
        switch kind {
        case .changed:
            let far = self.far!, near = self.near!
            let farPart = "\(labels.far) answered \(what) \(far.status.map(String.init) ?? "(no answer)") (\(far.verdict) there)"
            let list = changes.map(\.text).joined(separator: "; ")
            summary = "\(farPart); \(place): \(list.isEmpty ? "no CORS header changed" : list): \(near.verdict) at \(labels.near)."
        case .onlyNear:
            let near = self.near!
            let how = near.cacheHit.map { "served it from its cache (\($0))" }
                ?? "answered it itself\(near.seen.contains { $0.answered } ? "" : ", or served it from a cache")"
            summary = "\(labels.near) got \(near.status.map(String.init) ?? "no answer") to \(what) (\(near.verdict)) and no matching request reached \(labels.far): the layer \(place) \(how), unless the \(labels.far) capture missed it."
        case .onlyFar:
            let far = self.far!
            summary = "\(labels.far) saw \(what) (\(far.status.map(String.init) ?? "no answer"), \(far.verdict)) and \(labels.near) did not: the layer \(place) made it itself (a health check, a retry), or the \(labels.near) capture missed it."
        }
        let key = [kind.rawValue, some.method, some.host, some.template, changes.map { "\($0.name):\($0.kind.rawValue)" }.joined(separator: ","),
                   near?.verdict ?? "", far?.verdict ?? ""]
        return DiffGroup(
            id: StableID.make("D", key.joined(separator: "\u{1F}")), kind: kind, method: some.method, host: some.host,
            pathTemplate: some.template, count: count, changes: changes, nearVerdict: near?.verdict, farVerdict: far?.verdict,
            summary: summary, layerBetween: between, examples: examples, fix: fix(layerName: layerName))
    }

    /// What to change in the layer between, in its own terms when the evidence names it.
    private func fix(layerName: String?) -> FixAdvice? {
        let product = layerName.flatMap(LayerCatalogue.layer(named:))
        var summary: String
        let names = Set(changes.map(\.name))
        if kind == .onlyFar { return nil }
        if kind == .onlyNear {
            guard let near, near.verdictKind == .blocked else { return nil }
            if near.cacheHit != nil {
                // A stored answer for another origin: the cache key is the fix, in the cache's terms.
                summary = "The cache in front served an answer stored for another request: put Origin in its cache key, or make the application send Vary: Origin."
                if let product, product.layer == .cdn, let sample = product.snippet {
                    return FixAdvice(summary: summary + " " + product.configure,
                                     snippets: [ConfigSnippet(target: product.name, language: sample.language, code: sample.code)])
                }
                return FixAdvice(summary: summary, snippets: [Fixes.cdnCacheKey(cdn: near.cacheName)])
            }
            if near.role == .preflight, near.status == 401 || near.status == 403 {
                summary = "The layer in front refused the preflight (\(near.status!)): preflights never carry credentials, so answer OPTIONS (204 with the CORS headers) before its authentication or access rules."
            } else {
                summary = "The layer in front answered without the application: make its own answers carry the CORS headers (or let it pass the request, OPTIONS included, to the application)."
            }
        } else if changes.contains(where: { $0.kind == .duplicated && $0.name.hasPrefix("Access-Control-") }) {
            summary = "The layer in front adds its own copy of a CORS header the application already sends: keep the header in one place (replace instead of add, or hide the application's copy)."
        } else if changes.contains(where: { $0.kind == .removed && $0.name.hasPrefix("Access-Control-") }) {
            summary = "The layer in front removes CORS headers the application sends: drop the rule that deletes or hides them."
        } else if names.contains("status") || names.contains("Location") {
            summary = "The layer in front changes the answer's status: let it pass the application's answer (and preflights) through unchanged."
        } else if changes.contains(where: { $0.name.hasPrefix("Access-Control-") || $0.name == "Vary" }) {
            summary = "The layer in front rewrites CORS headers: make it pass the application's values, or set them in one place only."
        } else {
            return nil
        }
        if let product { summary += " " + product.configure }
        let snippets = product?.snippet.map { [ConfigSnippet(target: product!.name, language: $0.language, code: $0.code)] } ?? []
        return FixAdvice(summary: summary, snippets: snippets)
    }
}

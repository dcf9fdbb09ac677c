import CorscopeRedaction
import CorscopeCapture
import CorscopeHTTP

/// A place where a shared cache can serve one origin's CORS answer to another, per URL template.
public struct CacheFinding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Observed: a cache hit whose ACAO names another origin than the request's.
        case cachedAllowOriginForOtherOrigin = "cached-acao-for-other-origin"
        /// Observed: a cache hit without ACAO for a URL that carried ACAO before.
        case cachedAnswerWithoutAllowOrigin = "cached-answer-without-acao"
        /// Observed: a cache stored the answer to a request without Origin (so without ACAO)
        /// and served it to a CORS request: the cache was primed by a no-cors load.
        case cachedAnswerToRequestWithoutOrigin = "cached-answer-to-request-without-origin"
        /// Static: ACAO names one origin on a cacheable answer without `Vary: Origin`.
        case cacheableAllowOriginWithoutVary = "cacheable-acao-without-vary"
        /// Static: ACAO names one origin, without `Vary: Origin`, on an answer not marked cacheable.
        case allowOriginWithoutVary = "acao-without-vary"
        /// Static: the URL answers with ACAO only when Origin is sent, without `Vary: Origin`.
        case allowOriginOnlyWithOrigin = "acao-only-with-origin"
        /// Static: the URL answered different ACAO values to different origins without `Vary: Origin`.
        case allowOriginDiffersAcrossOrigins = "acao-differs-across-origins"

        public var severity: Severity {
            switch self {
            case .cachedAllowOriginForOtherOrigin, .cachedAnswerWithoutAllowOrigin, .cachedAnswerToRequestWithoutOrigin: return .high
            case .cacheableAllowOriginWithoutVary, .allowOriginOnlyWithOrigin, .allowOriginDiffersAcrossOrigins: return .medium
            case .allowOriginWithoutVary: return .low
            }
        }

        public var title: String {
            switch self {
            case .cachedAllowOriginForOtherOrigin: return "A cache served another origin's CORS answer"
            case .cachedAnswerWithoutAllowOrigin: return "A cache served an answer without CORS headers for a CORS URL"
            case .cachedAnswerToRequestWithoutOrigin: return "A cache served the answer to a request without Origin to a CORS request"
            case .cacheableAllowOriginWithoutVary: return "Origin-specific ACAO on a cacheable response without Vary: Origin"
            case .allowOriginWithoutVary: return "Origin-specific ACAO without Vary: Origin"
            case .allowOriginOnlyWithOrigin: return "CORS headers only when Origin is sent, without Vary: Origin"
            case .allowOriginDiffersAcrossOrigins: return "Different ACAO per origin without Vary: Origin"
            }
        }
    }

    public enum Severity: String, Sendable, Comparable {
        case high, medium, low
        var rank: Int { self == .high ? 0 : self == .medium ? 1 : 2 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    /// Stable across runs: derived from kind, host and URL template.
    public var id: String
    public var kind: Kind
    public var severity: Severity { kind.severity }
    /// `http`, or `https` for exchanges decrypted from TLS (or a HAR's https URLs).
    public var scheme: String = "http"
    public var host: String
    public var urlTemplate: String
    public var count: Int
    /// The exchanges that show it (at most `ReportBuilder.Limits.evidencePerGroup`).
    public var exchangeIDs: [String]
    /// The CDN or cache the headers point at, if any.
    public var cdn: String?
    /// What was seen, quoting the headers.
    public var evidence: String
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var fix: FixAdvice
}

/// Watches GET/HEAD answers per URL for the cache-poisoning patterns, keeping a small summary
/// per URL (bounded in number) and one accumulator per finding.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class CachePoisoningAnalyzer {
    private struct URLState {
        var firstAllowOrigin: String?
        var firstAllowOriginRequestOrigin: String?
        var allowOriginWithOrigin = false
        var noAllowOriginWithoutOrigin = false
        var variedOnOrigin = false
        var reportedOnlyWithOrigin = false
        var reportedDiffers = false
        var withOriginExchange: String?
        var withoutOriginExchange: String?
    }

    private struct FindingKey: Hashable {
        var kind: CacheFinding.Kind
        var scheme: String
        var host: String
        var template: String
    }

    private struct Accumulator {
        var tally: FindingTally
        var cdn: String?
        var evidence: String
    }

    private let maxTrackedURLs: Int
    private let evidencePerFinding: Int
    @exclusivity(unchecked) private var urls: [String: URLState] = [:]
    /// The last answer without ACAO to a request without Origin, per host and path (query
    /// dropped: caches are often told to ignore it), for a later cache hit to point back at.
    private struct UnoriginedAnswer {
        var exchangeID: String
        var date: String?
    }
    @exclusivity(unchecked) private var answersWithoutOrigin: [String: UnoriginedAnswer] = [:]
    @exclusivity(unchecked) private var findings: [FindingKey: Accumulator] = [:]
    /// URLs not tracked once the table was full (their static single-response checks still run).
    @exclusivity(unchecked) private(set) var untrackedURLs = 0

    /// The scheme of the exchange being observed (set for the length of `observe`).
    @exclusivity(unchecked) private var scheme = "http"
    private let maxFindings: Int
    /// Occurrences not recorded because `maxFindings` distinct findings were already kept.
    @exclusivity(unchecked) private(set) var droppedFindings = 0

    init(maxTrackedURLs: Int, evidencePerFinding: Int, maxFindings: Int) {
        self.maxTrackedURLs = maxTrackedURLs
        self.evidencePerFinding = evidencePerFinding
        self.maxFindings = maxFindings
    }

    /// `scheme`: a cache keys `http` and `https` answers apart, even for one host name.
    func observe(exchangeID: () -> String, scheme: String, host: String, target: String, requestOrigin: String?,
                 response facts: ResponseFacts, time: Timestamp) {
        self.scheme = scheme
        defer { self.scheme = "http" }
        let varies = facts.variesOnOrigin
        let hitSignal = facts.cacheHitSignal
        // An answer that varies on Origin, not from a cache, can only mark a URL already
        // tracked; with none tracked (a well-configured API) there is nothing to do.
        if varies && hitSignal == nil && urls.isEmpty { return }
        let allowOrigin = facts.hasAllowOrigin ? facts.allowOrigin.map { $0.trimmingSpaces } : nil
        let urlKey = (scheme == "http" ? "" : scheme + "://") + host + target
        var state = urls[urlKey]
        // A URL first seen varying on Origin is keyed correctly by every cache: nothing to
        // remember about it (this keeps the table small on well-configured APIs).
        if state == nil && !varies {
            if urls.count < maxTrackedURLs { state = URLState() } else { untrackedURLs += 1 }
        }
        var template: String?
        func urlTemplate() -> String {
            if let template { return template }
            let made = EndpointTemplate.template(of: target)
            template = made
            return made
        }

        // Priming: an answer to a request without Origin (a no-cors load: no ACAO) is stored
        // and later replayed to a CORS request — by a hit signal, or its very Date.
        let pathKey = (scheme == "http" ? "" : scheme + "://") + host + Self.path(of: target)
        if requestOrigin == nil, allowOrigin == nil, !varies {
            if answersWithoutOrigin.count >= maxTrackedURLs { answersWithoutOrigin.removeAll(keepingCapacity: true) }
            answersWithoutOrigin[pathKey] = UnoriginedAnswer(exchangeID: exchangeID(), date: facts.date)
        } else if let requestOrigin, allowOrigin == nil, !varies, let primed = answersWithoutOrigin[pathKey],
                  let signal = hitSignal ?? (facts.date != nil && facts.date == primed.date ? "the same Date as that answer (\(facts.date!))" : nil) {
            record(.cachedAnswerToRequestWithoutOrigin, host: host, template: urlTemplate(), id: primed.exchangeID, facts: facts, time: time,
                   evidence: "The answer to a request without Origin (\(primed.exchangeID)) had no Access-Control-Allow-Origin and no Vary: Origin; a cache stored it and served it (\(signal)) to a CORS request from \(requestOrigin) (\(exchangeID())), which the browser then blocked.",
                   extraIDs: [exchangeID()])
        }

        // Observed poisoning: a cache answered, and the answer belongs to somebody else.
        if let requestOrigin, let hit = hitSignal {
            if let allowOrigin, allowOrigin != "*", allowOrigin != requestOrigin {
                record(.cachedAllowOriginForOtherOrigin, host: host, template: urlTemplate(), id: exchangeID(), facts: facts, time: time,
                       evidence: "\(hit); the request came from \(requestOrigin) but Access-Control-Allow-Origin is '\(allowOrigin)'\(varies ? "" : " and Vary does not list Origin").")
            } else if allowOrigin == nil, let earlier = state?.firstAllowOrigin {
                record(.cachedAnswerWithoutAllowOrigin, host: host, template: urlTemplate(), id: exchangeID(), facts: facts, time: time,
                       evidence: "\(hit); the request came from \(requestOrigin) and the cached answer has no Access-Control-Allow-Origin, although this URL answered '\(earlier)' before.")
            }
        }

        if let requestOrigin, let allowOrigin, facts.allowsSpecificOrigin, !varies {
            if facts.isCacheable {
                record(.cacheableAllowOriginWithoutVary, host: host, template: urlTemplate(), id: exchangeID(), facts: facts, time: time,
                       evidence: "Access-Control-Allow-Origin: \(allowOrigin) on a \(facts.status) answer a shared cache may store (\(cacheabilityText(facts))), and Vary does not list Origin.")
            } else {
                record(.allowOriginWithoutVary, host: host, template: urlTemplate(), id: exchangeID(), facts: facts, time: time,
                       evidence: "Access-Control-Allow-Origin: \(allowOrigin) without Vary: Origin on a \(facts.status) answer; not marked cacheable, but a cache configured to store it would replay it to other origins.")
            }
            if var s = state, let first = s.firstAllowOrigin, first != allowOrigin, !s.reportedDiffers, !s.variedOnOrigin {
                s.reportedDiffers = true
                state = s
                record(.allowOriginDiffersAcrossOrigins, host: host, template: urlTemplate(), id: exchangeID(), facts: facts, time: time,
                       evidence: "This URL answered Access-Control-Allow-Origin '\(first)' to \(s.firstAllowOriginRequestOrigin ?? "one origin") and '\(allowOrigin)' to \(requestOrigin), without Vary: Origin.")
            }
        }

        guard var s = state else { return }
        if varies { s.variedOnOrigin = true }
        if requestOrigin != nil, let allowOrigin {
            if s.firstAllowOrigin == nil {
                s.firstAllowOrigin = allowOrigin
                s.firstAllowOriginRequestOrigin = requestOrigin
            }
            if !varies {
                s.allowOriginWithOrigin = true
                if s.withOriginExchange == nil { s.withOriginExchange = exchangeID() }
            }
        } else if requestOrigin == nil, allowOrigin == nil, !varies {
            s.noAllowOriginWithoutOrigin = true
            if s.withoutOriginExchange == nil { s.withoutOriginExchange = exchangeID() }
        }
        if s.allowOriginWithOrigin, s.noAllowOriginWithoutOrigin, !s.variedOnOrigin, !s.reportedOnlyWithOrigin {
            s.reportedOnlyWithOrigin = true
            let pair = [s.withoutOriginExchange, s.withOriginExchange].compactMap { $0 }
            record(.allowOriginOnlyWithOrigin, host: host, template: urlTemplate(), id: pair.first ?? exchangeID(), facts: facts, time: time,
                   evidence: "The same URL answered without Access-Control-Allow-Origin when no Origin was sent (\(s.withoutOriginExchange ?? "?")) and with it when one was (\(s.withOriginExchange ?? "?")), without Vary: Origin: a cached copy of the first breaks CORS for everybody.",
                   extraIDs: Array(pair.dropFirst()))
        }
        urls[urlKey] = s
    }

    static func path(of target: String) -> Substring {
        target.prefix { $0 != "?" && $0 != "#" }
    }

    private func cacheabilityText(_ facts: ResponseFacts) -> String {
        var parts: [String] = []
        for index in facts.cacheControlIndexes { parts.append("Cache-Control: \(facts.headers.value(at: index))") }
        if facts.hasExpires { parts.append("Expires") }
        if parts.isEmpty && facts.hasLastModified { parts.append("heuristically: status \(facts.status) with Last-Modified") }
        return parts.joined(separator: ", ")
    }

    private func record(_ kind: CacheFinding.Kind, host: String, template: String, id: String, facts: ResponseFacts,
                        time: Timestamp, evidence: @autoclosure () -> String, extraIDs: [String] = []) {
        let key = FindingKey(kind: kind, scheme: scheme, host: host, template: template)
        if var existing = findings[key] {
            existing.tally.add([id] + extraIDs, at: time, keeping: evidencePerFinding)
            if existing.cdn == nil { existing.cdn = facts.cdnHint }
            findings[key] = existing
        } else if findings.count >= maxFindings {
            droppedFindings += 1
        } else {
            var tally = FindingTally(time: time)
            tally.add([id] + extraIDs, at: time, keeping: evidencePerFinding)
            findings[key] = Accumulator(tally: tally, cdn: facts.cdnHint, evidence: evidence())
        }
    }

    func finish(redactor: Redactor) -> [CacheFinding] {
        findings.map { key, value in
            let fix = FixAdvice(
                summary: "Send `Vary: Origin` on every answer of \(key.template) whose CORS headers depend on Origin (also on answers without them), or make the cache key include Origin\(value.cdn.map { " in \($0)" } ?? "").",
                // Low findings (nothing says a cache stores the answer) get the sentence only.
                snippets: key.kind.severity == .low && value.cdn == nil ? [] : [Fixes.cdnCacheKey(cdn: value.cdn)])
            // Plain-HTTP ids stay what they were before HTTPS was read.
            let id = key.scheme == "http" ? StableID.make("C", key.kind.rawValue, key.host, key.template)
                : StableID.make("C", key.kind.rawValue, key.scheme, key.host, key.template)
            return CacheFinding(id: id, kind: key.kind, scheme: key.scheme,
                                host: key.host, urlTemplate: key.template, count: value.tally.count, exchangeIDs: value.tally.exchangeIDs,
                                cdn: value.cdn, evidence: redactor.text(value.evidence), firstSeen: value.tally.firstSeen,
                                lastSeen: value.tally.lastSeen, fix: fix)
        }.sorted {
            ($0.severity.rank, $0.host, $0.urlTemplate, $0.kind.rawValue) < ($1.severity.rank, $1.host, $1.urlTemplate, $1.kind.rawValue)
        }
    }
}

/// How often a finding was seen, first and last, and the first few exchanges that show it.
struct FindingTally {
    private(set) var count = 0
    private(set) var exchangeIDs: [String] = []
    private(set) var firstSeen: Timestamp
    private(set) var lastSeen: Timestamp

    init(time: Timestamp) {
        firstSeen = time
        lastSeen = time
    }

    mutating func add(_ ids: [String], at time: Timestamp, keeping limit: Int) {
        count += 1
        for id in ids where exchangeIDs.count < limit && !exchangeIDs.contains(id) { exchangeIDs.append(id) }
        if time < firstSeen { firstSeen = time }
        if time > lastSeen { lastSeen = time }
    }
}

/// Ids that depend only on what they name, so they stay the same across runs and machines
/// (SARIF fingerprints and links between report versions rely on that).
enum StableID {
    static func make(_ prefix: String, _ parts: String...) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            hash ^= 0x1F
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return prefix + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

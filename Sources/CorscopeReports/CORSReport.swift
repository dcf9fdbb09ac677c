import CorscopeCapture
import CorscopeExchanges

/// The finished analysis of one or more captures: what every writer renders.
///
/// Everything in it is already sorted and redacted (unless `redacted` is false), so writers only
/// format; two runs over the same input give equal reports.
public struct CORSReport: Sendable {
    /// The JSON output contract's version.
    public static let schema = "corscope.report/1"

    /// Whether secrets were replaced by `[redacted]` (off only with `--no-redact`).
    public var redacted: Bool
    /// The browser whose rules judged the exchanges (`chromium`, `firefox`, `safari`).
    public var browser: String
    /// The input files, as given.
    public var inputs: [String]
    public var totals: Totals
    /// Per page origin, sorted by origin.
    public var origins: [OriginReport]
    /// Cache-poisoning findings, sorted by severity then URL.
    public var cacheFindings: [CacheFinding]
    /// WebSocket handshakes refused for the page's origin (not CORS, but reported as such).
    public var websocketFindings: [WebSocketFinding] = []
    /// Inputs that could not be read at all, each with the reason (one line naming the file):
    /// the report covers only the others.
    public var unreadInputs: [String] = []
    /// Inputs read only in part (a truncated capture, HAR entries skipped), each with what was
    /// missed (one line naming the file): the report covers what was read of them.
    public var inputWarnings: [String] = []
    /// Connections seen but not analysed (TLS, HTTP/2, WebSocket frames, other protocols), per
    /// server endpoint, largest first; and packets skipped before TCP (kind → count).
    public var notAnalysed: [NotAnalysedTraffic] = []
    public var skippedPackets: [(kind: String, count: Int)] = []

    /// Exchanges the input's edges cut: requests still unanswered when it ended, answers whose
    /// request came before it began. `corscope merge` compares them across parts (a split of one
    /// capture cuts the exchanges that straddle it into one of each).
    public var edges = Edges()

    public struct Edges: Sendable, Equatable {
        public var requestsWithoutResponse = 0
        public var responsesWithoutRequest = 0
        public init() {}
        public var isEmpty: Bool { requestsWithoutResponse == 0 && responsesWithoutRequest == 0 }
    }

    /// Blocked groups (and the blocked requests in them) left out by `keepingLargestGroups`.
    public var omittedGroups = 0
    public var omittedGroupRequests = 0
    /// Markdown and HTML show each group and finding in one line, without examples, console
    /// text, layer reasoning or configuration (`--summary`).
    public var isSummary = false
    /// Markdown folds configuration and examples in `<details>` (GitHub); off for trackers
    /// that show HTML tags as text (`--no-details`, for Jira).
    public var markdownFolds = true

    /// GitHub refuses an issue body over 65,536 characters.
    public static let githubIssueLimit = 65_536

    /// The report with only the `limit` largest blocked groups (all origins together; the
    /// counts per origin stay whole), the rest counted in `omittedGroups`.
    public func keepingLargestGroups(_ limit: Int) -> CORSReport {
        let all = origins.flatMap { origin in origin.groups.map { (origin: origin.origin, group: $0) } }
        guard all.count > limit else { return self }
        let kept = Set(all.sorted { ($0.group.count, $1.group.id) > ($1.group.count, $0.group.id) }.prefix(max(0, limit)).map(\.group.id))
        var report = self
        for index in report.origins.indices {
            let groups = report.origins[index].groups
            report.origins[index].groups = groups.filter { kept.contains($0.id) }
            for dropped in groups where !kept.contains(dropped.id) {
                report.omittedGroups += 1
                report.omittedGroupRequests += dropped.count
            }
        }
        return report
    }
    /// The common time axis of `OriginReport.blockedOverTime`.
    public var timeline: Timeline

    public struct Totals: Sendable, Equatable {
        public var exchanges = 0
        /// Exchanges CORS did not apply to (same-origin, no Origin header, navigations).
        public var notCORS = 0
        public var passed = 0
        public var blocked = 0
        public var undecidable = 0
        /// Preflights that allowed their request (counted apart: the request is counted itself).
        public var preflightsPassed = 0
        /// Passed or blocked verdicts that rest on an assumed credentials mode (the wire did not
        /// show it and the outcome or its reason depends on it).
        public var assumedCredentials = 0
        /// Verdict warnings (risky but passing answers), summed over exchanges.
        public var warnings = 0
        public init() {}
    }

    public struct Timeline: Sendable, Equatable {
        /// Start of the first bin (capture time), nil when nothing was blocked.
        public var start: Timestamp?
        public var binSeconds: Double
        public var binCount: Int
    }

    /// Whether `--fail-on` `condition` holds for this report.
    public func meets(_ condition: FailCondition) -> Bool {
        switch condition {
        case .never: return false
        case .blocked: return totals.blocked > 0
        case .warning: return totals.blocked > 0 || totals.warnings > 0 || !cacheFindings.isEmpty || !websocketFindings.isEmpty
        }
    }
}

/// When `corscope analyze` exits with status 1.
public enum FailCondition: String, Sendable, CaseIterable {
    /// Any request was blocked (the default: a report is usually asked for to find blocks).
    case blocked
    /// Anything was blocked, or any verdict warning or cache-poisoning finding exists.
    case warning
    /// Never (status 0 unless an input could not be read).
    case never
}

/// One header line of an example exchange, after redaction.
public struct HeaderLine: Sendable, Equatable {
    public var name: String
    public var value: String
    /// Why the line is shown although the input did not hold it (a header the browser certainly
    /// sent, restored from other evidence); nil for a line as captured.
    public var inferred: String? = nil
}

/// One captured exchange shown whole as an example of a group (redacted).
public struct ExampleExchange: Sendable, Equatable {
    public var id: String
    public var time: Timestamp?
    public var method: String
    public var url: String
    public var status: Int?
    /// What carried it below HTTP when more than plain HTTP/1.x over TCP ("HTTP/2 stream 3, TLS 1.3
    /// TLS_AES_128_GCM_SHA256, ALPN h2, SNI api.test"), else nil.
    public var transport: String?
    public var requestHeaders: [HeaderLine]
    public var responseHeaders: [HeaderLine]
    /// The preflight the request was paired with, when there was one (0 or 1 element).
    public var preflight: [ExampleExchange]
}

/// A console line as a browser prints it.
public struct ConsoleMessage: Sendable, Equatable {
    public var browser: String
    public var text: String
}

/// Which part of the serving path most likely caused a failure.
public struct LayerFinding: Sendable, Equatable {
    public enum Layer: String, Sendable {
        /// The application or the web server in front of it (nginx, Apache, Express, Kestrel…).
        case server
        /// A reverse proxy or load balancer between the client and the application.
        case proxy
        /// A CDN or shared cache.
        case cdn
        /// An API gateway (Amazon API Gateway, Kong) routing, authorising or answering before the
        /// application.
        case gateway
        /// An authentication gateway (SSO, login wall) answering before the application.
        case edgeAuth = "edge-auth"
        /// Two layers each adding CORS headers (proxy and application).
        case multipleLayers = "multiple-layers"
        /// The page's request itself (a header or method the server never allowed).
        case client
        case unknown
    }

    public var layer: Layer
    /// The product named by the evidence (`nginx`, `Cloudflare`…), when one is.
    public var component: String?
    public var confidence: String
    /// Each step of the inference, as plain sentences quoting the evidence.
    public var reasoning: [String]
    /// Every product of the serving path the failing answer shows (`LayerCatalogue`), outermost
    /// kinds first.
    public var seen: [SeenLayer] = []
}

/// A product of the serving path recognised in one answer, with the evidence quoted.
public struct SeenLayer: Sendable, Equatable {
    /// The catalogue's identifier (`cloudfront`, `haproxy`…).
    public var id: String
    public var name: String
    /// `X-Amz-Cf-Id`, `Via: 1.1 varnish (Varnish/7.1)`, `its error page ('Guru Meditation')`.
    public var evidence: [String]
    /// A clue shows the product made the answer itself (the application never saw the request).
    public var answered: Bool
}

/// A change that would fix a failure, with configuration for the servers it may concern.
public struct FixAdvice: Sendable, Equatable {
    public var summary: String
    public var snippets: [ConfigSnippet]
}

public struct ConfigSnippet: Sendable, Equatable {
    /// What the snippet configures (`nginx`, `Apache`, `Express`, `Spring`, `ASP.NET Core`, `CDN`).
    public var target: String
    /// Fence language for Markdown (`nginx`, `apache`, `js`, `java`, `csharp`, `text`).
    public var language: String
    public var code: String
}

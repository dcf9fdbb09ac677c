/// Evaluates a capture's exchanges in time order while modelling the browser's preflight cache,
/// because "no OPTIONS on the wire" can mean an earlier preflight still covered the request
/// (Fetch "CORS-preflight cache"; Chromium `preflight_cache.cc`).
public struct CaptureTimeline: Sendable {
    public let context: EvaluationContext
    /// Entries left by successful preflights so far, newest last.
    public private(set) var cache: [PreflightCacheEntry]

    public init(context: EvaluationContext = EvaluationContext()) {
        self.context = context
        self.cache = context.preflightCache
    }

    /// Evaluates one exchange captured at `time` (seconds), then remembers its preflight if it passed.
    public mutating func evaluate(_ exchange: CORSExchange, at time: Double) -> CORSVerdict {
        var context = self.context
        context.preflightCache = cache
        context.requestTime = time
        let verdict = CORSEngine.evaluate(exchange, context: context)
        remember(exchange, verdict: verdict, at: time)
        return verdict
    }

    /// Evaluates exchanges sorted by capture time.
    public static func evaluate(
        _ exchanges: [(exchange: CORSExchange, time: Double)], context: EvaluationContext = EvaluationContext()
    ) -> [CORSVerdict] {
        var timeline = CaptureTimeline(context: context)
        return exchanges.sorted { $0.time < $1.time }.map { timeline.evaluate($0.exchange, at: $0.time) }
    }

    private mutating func remember(_ exchange: CORSExchange, verdict: CORSVerdict, at time: Double) {
        guard case let .exchange(preflightRequest, preflightResponse?) = exchange.preflight,
              verdict.failure?.stage != .preflight,
              let origin = preflightRequest.originHeader ?? exchange.request.originHeader
        else { return }
        // The entry records the actual request's credentials mode; when unknown, store it as
        // uncredentialed, which can only make later credentialed requests look uncovered.
        let credentials = exchange.request.credentials == .include || exchange.request.headers.contains(HeaderName.cookie)
        guard let entry = PreflightCacheEntry.from(
            preflightResponse: preflightResponse, origin: origin, url: preflightRequest.url,
            credentials: credentials, storedAt: time, profile: context.profile)
        else { return }
        // A new preflight for the same origin and URL replaces the old entry.
        cache.removeAll { $0.origin == entry.origin && $0.url == entry.url }
        if case .notCached = entry.lifetime { return }
        cache.append(entry)
    }
}

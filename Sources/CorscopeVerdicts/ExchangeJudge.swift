import BrowserRules
import CorscopeCapture
import CorscopeHTTP
import CorscopePairing

/// One exchange with what the browser did about it.
public struct JudgedExchange: Sendable {
    public enum Role: String, Sendable {
        /// A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method).
        case preflight
        /// Any other request.
        case request
    }

    public var exchange: HTTPExchange
    public var role: Role
    public var verdict: CORSVerdict
    /// The preflight exchange this request was paired with (`role == .request`).
    public var preflight: HTTPExchange?
    /// An earlier preflight whose cached answer may have let this request skip its own.
    public var cachedPreflight: (exchange: HTTPExchange, age: Double)?
    /// For a preflight: the redirects that led to it (the guarded request went through them too).
    var redirectedFrom: [String] = []

    /// For a preflight: the method of the request it asked permission for (its
    /// `Access-Control-Request-Method`), without building that request.
    public var guardedMethod: String? {
        guard role == .preflight else { return nil }
        return exchange.requestHead?.headers.first(named: "Access-Control-Request-Method") ?? "GET"
    }

    /// For a preflight: the request it asked permission for, as the browser would have sent it.
    /// Made on demand: only NDJSON output and failed-preflight groups read it.
    public var guardedRequest: CORSRequest? {
        guard role == .preflight, let url = CORSInput.url(of: exchange) else { return nil }
        return CORSInput.guardedRequest(preflight: exchange, origin: exchange.requestHead?.headers.values(named: "Origin").last,
                                        url: url, mode: CORSInput.mode(of: exchange), redirectedFrom: redirectedFrom)
    }
}

/// Applies the browser-rule engine to the exchanges of a capture, in capture order: pairs
/// preflights with their requests, follows redirects, and judges every exchange as it arrives.
///
/// A preflight whose outcome hinges on what the wire cannot show (the credentials mode) is held
/// until its request shows up — the browser sent it, so the preflight passed — or until the
/// pairing window closes — no request, so the page used the mode that fails it; everything else
/// is handed back at once. At most `maxHeld` are held.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class ExchangeJudge {
    public let profile: BrowserProfile
    private let pairer: PreflightPairer
    @exclusivity(unchecked) private var redirects = RedirectTracker()
    /// Undecided preflights waiting for their request, oldest first (`heldStart` on), and
    /// their ids. A browser sends the request right after the preflight's answer, so the wait is
    /// short and the number held small.
    @exclusivity(unchecked) private var held: [(judged: JudgedExchange, deadline: Timestamp)?] = []
    @exclusivity(unchecked) private var heldStart = 0
    @exclusivity(unchecked) private var heldIndex: [HeldKey: Int] = [:]
    /// An exchange's identity (what `HTTPExchange.id` spells) without building the string.
    private struct HeldKey: Hashable {
        let connection: Int
        let index: Int
        init(_ exchange: HTTPExchange) {
            connection = exchange.connection.id
            index = exchange.index
        }
    }
    /// Preflights held at most; past that the oldest is reported undecided at once.
    public static let maxHeld = 1024

    /// Verdicts of exchanges that differ only in what CORS does not read (see `VerdictMemo`).
    @exclusivity(unchecked) private var memo: VerdictMemo?
    /// Exchanges judged from a remembered verdict (for tests and profiling).
    @exclusivity(unchecked) private(set) var memoHits = 0

    /// - Parameter memoize: reuse verdicts across exchanges that differ only in inputs the
    ///   rules never read (the path, cookie values, other response fields). Output is the same
    ///   either way; off is for checking exactly that.
    public init(profile: BrowserProfile = .chromium, pairing: PreflightPairer.Configuration = .init(), memoize: Bool = true) {
        self.profile = profile
        self.pairer = PreflightPairer(configuration: pairing)
        self.memo = memoize ? VerdictMemo() : nil
    }

    /// Judges one exchange; returns it and any held preflight that is now decided, in order.
    public func judge(_ exchange: HTTPExchange) -> [JudgedExchange] {
        var judged: [JudgedExchange] = []
        judge(exchange) { judged.append($0) }
        return judged
    }

    /// Judges one exchange and hands `deliver` any held preflight that is now decided, then the
    /// exchange itself (unless it is held), in order.
    public func judge(_ exchange: HTTPExchange, deliver: (JudgedExchange) -> Void) {
        let exchange = CORSInput.withBrowserOrigin(exchange)
        let now = exchange.startTime
        releaseExpired(before: now, deliver: deliver)
        let hostKey = cookieHostKey(exchange)
        currentEvidence = credentialsEvidence(exchange, hostKey: hostKey)
        if let hostKey, exchange.requestHead?.headers.contains(named: "Cookie") == true {
            if cookieHosts.count >= Self.maxCookieHosts { cookieHosts.removeAll(keepingCapacity: true) }
            cookieHosts.insert(hostKey)
        }
        var judged = Self.withoutGuessedBlock(judgeNow(exchange))
        let inferredNotes = Self.inferredHeaderNotes(exchange)
        // Only when there is something to add: a change builds a new verdict box, and a shared
        // (memoised) verdict must stay shared for its rendered JSON to be reused.
        if !inferredNotes.isEmpty { judged.verdict.notes += inferredNotes }
        if exchange.isFromHAR {
            rememberHARRequest(judged)
            browserCache.observe(exchange)
        }
        if let key = Self.harFailureAwaitingPreflight(judged) {
            // A HAR request the browser failed unanswered, listed before its preflight: the
            // preflight, when it follows, says why.
            harFailedRequests[key] = HeldKey(exchange)
            hold(judged, until: now.adding(seconds: pairer.configuration.pairingWindow), deliver: deliver)
            return
        }
        if judged.role == .preflight, let key = Self.guardedKey(judged), let heldKey = harFailedRequests.removeValue(forKey: key),
           let index = heldIndex.removeValue(forKey: heldKey), var request = held[index]?.judged {
            held[index] = nil
            var preflight = judged
            if let settled = preflight.verdict.settledOnTheBlockingMode(
                evidence: "the HAR lists the request this preflight guarded (exchange \(request.exchange.id)) as failed without a response") {
                preflight.verdict = settled
            }
            if preflight.verdict.kind == .blocked {
                request.verdict = preflight.verdict
                request.verdict.notes += ["Its preflight (exchange \(exchange.id)) failed, so this request was never sent; the HAR lists it anyway."]
                    + Self.inferredHeaderNotes(request.exchange)
                request.preflight = exchange
            }
            deliver(request)
            deliver(preflight)
            return
        }
        if judged.role == .preflight, judged.verdict.kind == .undecidable || judged.verdict.kindDependsOnCredentials {
            hold(judged, until: (exchange.responseLastByte ?? now).adding(seconds: pairer.configuration.pairingWindow), deliver: deliver)
            return
        }
        if let preflight = judged.preflight, let index = heldIndex.removeValue(forKey: HeldKey(preflight)),
           var released = held[index]?.judged {
            held[index] = nil
            // A HAR lists the request even when its preflight failed: then the preflight
            // carries the request's verdict.
            if judged.verdict.kind == .blocked, judged.verdict.failure?.error.concernsPreflight == true {
                released.verdict = judged.verdict
                deliver(released)
                deliver(judged)
                return
            }
            deliver(Self.passed(released, because: "The browser sent the request this preflight asked for (exchange \(exchange.id)), so the preflight passed."))
        }
        deliver(judged)
    }

    /// What every verdict on an exchange with restored headers says about them.
    private static func inferredHeaderNotes(_ exchange: HTTPExchange) -> [String] {
        guard let inferred = exchange.har?.inferredRequestHeaders, !inferred.isEmpty else { return [] }
        return inferred.map { "\($0.name) header inferred, not in the HAR: \($0.because)." }
    }

    private func hold(_ judged: JudgedExchange, until deadline: Timestamp, deliver: (JudgedExchange) -> Void) {
        heldIndex[HeldKey(judged.exchange)] = held.count
        held.append((judged, deadline))
        if heldIndex.count > Self.maxHeld { releaseOldest(deliver: deliver) }
    }

    /// HAR requests failed without a response and not (yet) paired with a preflight, by what a
    /// preflight for them would ask.
    @exclusivity(unchecked) private var harFailedRequests: [HARRequestKey: HeldKey] = [:]

    /// The key to wait on for `judged`, a HAR request the browser failed with no response and
    /// no reason known yet (see `harFailure`).
    private static func harFailureAwaitingPreflight(_ judged: JudgedExchange) -> HARRequestKey? {
        guard judged.role == .request, judged.preflight == nil, judged.verdict.kind == .blocked, judged.verdict.failure == nil,
              let har = judged.exchange.har, har.error != nil, judged.exchange.response == nil,
              let head = judged.exchange.requestHead, let origin = head.headers.values(named: "Origin").last else { return nil }
        return HARRequestKey(origin: origin, method: MethodRules.normalize(head.method), url: har.url)
    }

    /// What the request a preflight guarded is keyed by.
    private static func guardedKey(_ preflight: JudgedExchange) -> HARRequestKey? {
        guard preflight.exchange.isFromHAR, let guarded = preflight.guardedRequest, let origin = guarded.originHeader else { return nil }
        return HARRequestKey(origin: origin, method: MethodRules.normalize(guarded.method), url: guarded.url)
    }

    /// A held preflight settled by the request it guarded having been sent.
    private static func passed(_ judged: JudgedExchange, because note: String) -> JudgedExchange {
        var released = judged
        released.verdict.kind = .passed
        released.verdict.failure = nil
        released.verdict.missingEvidence = []
        released.verdict.outcomesByCredentials = []
        released.verdict.assumption = nil
        released.verdict.notes.append(note)
        released.verdict.explanation = "The preflight allowed the request."
        released.verdict.fix = nil
        return released
    }

    /// A HAR may list the actual request *before* its preflight (Chrome dates the request from
    /// the moment the page made it, before the preflight went out), so pairing, which looks
    /// back, misses it. HAR requests that got a response are remembered for a while: a held
    /// preflight whose request is among them passed.
    private struct HARRequestKey: Hashable {
        let origin: String
        let method: String
        let url: String
    }
    @exclusivity(unchecked) private var harRequestsSent: [HARRequestKey: (id: String, time: Timestamp)] = [:]
    @exclusivity(unchecked) private var browserCache = BrowserCacheMemory()
    private static let maxHARRequestsRemembered = 4096

    private func rememberHARRequest(_ judged: JudgedExchange) {
        guard let har = judged.exchange.har, judged.role == .request, judged.exchange.response != nil,
              judged.verdict.kind != .notCORS, let head = judged.exchange.requestHead,
              let origin = head.headers.values(named: "Origin").last else { return }
        if harRequestsSent.count >= Self.maxHARRequestsRemembered { harRequestsSent.removeAll(keepingCapacity: true) }
        harRequestsSent[HARRequestKey(origin: origin, method: MethodRules.normalize(head.method), url: har.url)] =
            (judged.exchange.id, judged.exchange.startTime)
    }

    private func harRequestSent(for preflight: JudgedExchange) -> String? {
        guard let key = Self.guardedKey(preflight), let seen = harRequestsSent[key],
              abs(preflight.exchange.startTime.seconds(since: seen.time)) <= pairer.configuration.pairingWindow else { return nil }
        return seen.id
    }

    /// The preflights still held at the end of the capture.
    public func finish() -> [JudgedExchange] {
        defer {
            held.removeAll()
            heldStart = 0
            heldIndex.removeAll()
            harFailedRequests.removeAll()
        }
        return held[heldStart...].compactMap { $0.map { unanswered($0.judged) } }
    }

    private func releaseExpired(before now: Timestamp, deliver: (JudgedExchange) -> Void) {
        while heldStart < held.count {
            guard let entry = held[heldStart] else { heldStart += 1; continue }
            guard entry.deadline < now else { break }
            releaseOldest(deliver: deliver)
        }
        compactHeld()
    }

    private func releaseOldest(deliver: (JudgedExchange) -> Void) {
        while heldStart < held.count {
            defer { heldStart += 1 }
            guard let entry = held[heldStart] else { continue }
            held[heldStart] = nil
            heldIndex[HeldKey(entry.judged.exchange)] = nil
            deliver(unanswered(entry.judged))
            return
        }
    }

    private func compactHeld() {
        guard heldStart > 1024, heldStart * 2 > held.count else { return }
        held.removeFirst(heldStart)
        heldStart = 0
        for (offset, entry) in held.enumerated() {
            if let entry { heldIndex[HeldKey(entry.judged.exchange)] = offset }
        }
    }

    /// After packets were lost, which request a response answered is a guess (a lost request or
    /// response shifts every later pair by one). A block claimed from a guessed pair would
    /// blame the server for another request's answer, so it is reported undecidable instead.
    static func withoutGuessedBlock(_ judged: JudgedExchange) -> JudgedExchange {
        guard judged.verdict.kind == .blocked, judged.exchange.anomalies.contains(.responseFramingUncertain),
              let failure = judged.verdict.failure else { return judged }
        var uncertain = judged
        uncertain.verdict.kind = .undecidable
        uncertain.verdict.failure = nil
        uncertain.verdict.fix = nil
        uncertain.verdict.missingEvidence.append("which response answered this request: packets were lost before it, so the response paired with it may belong to another request")
        uncertain.verdict.notes.append("With this response the browser would have blocked the request (\(failure.error.cdpName)), but the pairing is a guess.")
        uncertain.verdict.explanation = "Packets were lost before this exchange, so its response may answer another request; the verdict is withheld."
        return uncertain
    }

    /// A held preflight that no request followed: when only one credentials mode fails it, the
    /// page used that mode (under the other the browser would have sent the request).
    private func unanswered(_ judged: JudgedExchange) -> JudgedExchange {
        if judged.role == .request {
            // A failed HAR request no preflight came for: its verdict stays as judged.
            if let key = Self.harFailureAwaitingPreflight(judged) { harFailedRequests[key] = nil }
            return judged
        }
        var judged = judged
        if let request = harRequestSent(for: judged) {
            return Self.passed(judged, because: "The HAR lists the request this preflight asked for (exchange \(request)) with a response, so the preflight passed.")
        }
        // Only a browser's preflight says anything by the absence of its request: a script or load
        // tool (curl, wrk) sends OPTIONS alone. Browsers mark theirs with Sec-Fetch-Mode.
        if Self.sentByABrowser(judged.exchange), let settled = settledUnanswered(judged.verdict) {
            judged.verdict = settled
            return judged
        }
        judged.verdict.notes.append("No request followed this preflight: under the credentials mode that fails it, the browser never sent the request; or the request was not captured.")
        return judged
    }

    /// The last verdict settled for an unanswered preflight, by the (shared, memoised) verdict it
    /// came from: a stream of identical lone preflights settles once.
    @exclusivity(unchecked) private var lastSettled: (from: CORSVerdict, to: CORSVerdict?)?

    private func settledUnanswered(_ verdict: CORSVerdict) -> CORSVerdict? {
        if let last = lastSettled, last.from.isSameInstance(as: verdict) { return last.to }
        let settled = verdict.settledOnTheBlockingMode(
            evidence: "no request followed this preflight (under the other mode the browser would have sent it)")
        lastSettled = (verdict, settled)
        return settled
    }

    /// A HAR is a browser's own record; on the wire, browsers (Chromium 76+, Firefox 90+,
    /// Safari 16.4+) send `Sec-Fetch-Mode` on every request, preflights included.
    static func sentByABrowser(_ exchange: HTTPExchange) -> Bool {
        exchange.isFromHAR || exchange.requestHead?.headers.contains(named: "Sec-Fetch-Mode") == true
    }

    /// Hosts this capture's browsers sent cookies to (client address and `Host`), so a later
    /// request there without a cookie most likely did not ask for credentials. Bounded: cleared
    /// when full, which only weakens the wording of an assumption.
    private struct CookieHost: Hashable {
        let client: IPAddress
        /// A digest of the `Host` value (ASCII case folded), or of the HAR URL's origin: no string.
        let host: UInt64
    }
    @exclusivity(unchecked) private var cookieHosts: Set<CookieHost> = []
    private static let maxCookieHosts = 4096
    /// The credentials evidence of the exchange being judged (computed once per exchange).
    @exclusivity(unchecked) private var currentEvidence = CredentialsEvidence.none

    private func cookieHostKey(_ exchange: HTTPExchange) -> CookieHost? {
        guard let headers = exchange.requestHead?.headers else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        if let index = headers.firstIndex(named: "Host") {
            for byte in headers.valueBytes(at: index) { hash = (hash ^ UInt64(HTTPText.lowercased(byte))) &* 0x0000_0100_0000_01b3 }
        } else if let origin = exchange.har.flatMap({ Origin(url: $0.url)?.serialized }) {
            for byte in origin.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        } else {
            return nil
        }
        return CookieHost(client: exchange.connection.client.address, host: hash)
    }

    private func credentialsEvidence(_ exchange: HTTPExchange, hostKey: CookieHost?) -> CredentialsEvidence {
        if let har = exchange.har {
            if har.isSanitized { return .cookiesRemovedFromInput }
            if har.dialect.mayShowProvisionalHeaders, let headers = exchange.requestHead?.headers,
               CORSInput.hasOnlyProvisionalHeaders(headers),
               har.requestCookieNames.isEmpty { return .cookiesNotShownInInput }
        }
        guard !cookieHosts.isEmpty, let hostKey, cookieHosts.contains(hostKey) else { return .none }
        return .cookiesSentToHostElsewhere
    }

    func judgeNow(_ exchange: HTTPExchange) -> JudgedExchange {
        let link = pairer.link(exchange)
        let chain = redirects.chain(leadingTo: exchange)
        // The common case, an exchange like many before it: no rules to run.
        var memoKey: VerdictMemo.Key?
        if memo != nil, chain.isEmpty {
            // The credentials evidence shapes the wording of an assumption: part of the key.
            let evidence: UInt8 = currentEvidence == .none ? 0 : 2
            switch link {
            case .none: memoKey = memo!.key(for: exchange, role: 0 | evidence)
            case .isPreflight: memoKey = memo!.key(for: exchange, role: 1 | evidence)
            default: break
            }
            if let key = memoKey, let verdict = memo!.verdict(for: key, url: { CORSInput.url(of: exchange) }) {
                memoHits += 1
                // No redirect to observe: answers with a Location are never memoised.
                if case .isPreflight = link { return JudgedExchange(exchange: exchange, role: .preflight, verdict: verdict) }
                return JudgedExchange(exchange: exchange, role: .request, verdict: verdict)
            }
        }
        guard let request = CORSInput.request(from: exchange, redirectedFrom: chain) else {
            return JudgedExchange(exchange: exchange, role: .request,
                                  verdict: CORSVerdict(kind: .undecidable, missingEvidence: ["the request was not captured"],
                                                       explanation: "Only the response was captured, so the request's origin is unknown."))
        }
        redirects.observe(exchange, url: request.url)
        let response = exchange.response.map(CORSInput.response(from:))

        switch link {
        case .isPreflight:
            let guarded = CORSInput.guardedRequest(preflight: exchange, preflightRequest: request)
            let verdict = CORSEngine.evaluatePreflight(
                CORSExchange(request: guarded, response: nil, preflight: .exchange(request: request, response: response)),
                context: context(for: exchange))
            if let key = memoKey {
                memo!.remember(verdict, for: key, url: request.url, target: exchange.request!.head.target)
            }
            return JudgedExchange(exchange: exchange, role: .preflight, verdict: verdict, redirectedFrom: chain)
        case .paired(let preflight):
            let preflightRequest = CORSInput.request(from: preflight, redirectedFrom: [])!
            let evidence = PreflightEvidence.exchange(request: preflightRequest,
                                                      response: preflight.response.map(CORSInput.response(from:)))
            let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: response, preflight: evidence),
                                              context: context(for: exchange))
            return JudgedExchange(exchange: exchange, role: .request, verdict: verdict, preflight: preflight)
        case .cachedCandidate(let preflight, let age):
            var context = context(for: exchange)
            if let preflightResponse = preflight.response.map(CORSInput.response(from:)),
               let preflightRequest = CORSInput.request(from: preflight, redirectedFrom: []),
               let entry = PreflightCacheEntry.from(
                   preflightResponse: preflightResponse, origin: preflightRequest.originHeader ?? "",
                   url: preflightRequest.url, credentials: request.credentials == .include,
                   storedAt: Self.seconds(preflight.responseLastByte ?? preflight.connection.firstSeen), profile: profile) {
                context.preflightCache = [entry]
            }
            let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: response, preflight: .none),
                                              context: context)
            return JudgedExchange(exchange: exchange, role: .request, verdict: verdict, cachedPreflight: (preflight, age))
        case .none:
            if let stored = browserCache.answer(for: exchange), let storedResponse = stored.exchange.response {
                let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: CORSInput.response(from: storedResponse),
                                                               preflight: .none), context: context(for: exchange))
                return JudgedExchange(exchange: exchange, role: .request,
                                      verdict: Self.servedFromBrowserCache(verdict, stored: stored.exchange, fromCache: exchange.har?.fromCache))
            }
            let verdict = harFailure(exchange, request: request, verdict: CORSEngine.evaluate(
                CORSExchange(request: request, response: response, preflight: .none), context: context(for: exchange)))
            if let key = memoKey {
                memo!.remember(verdict, for: key, url: request.url, target: exchange.request!.head.target)
            }
            return JudgedExchange(exchange: exchange, role: .request, verdict: verdict)
        }
    }

    private func context(for exchange: HTTPExchange) -> EvaluationContext {
        let time = exchange.requestFirstByte ?? exchange.connection.firstSeen
        return EvaluationContext(profile: profile, initiator: CORSInput.initiator(of: exchange), requestTime: Self.seconds(time),
                                 credentialsEvidence: currentEvidence,
                                 browserReportedFailure: exchange.response == nil ? exchange.har?.error : nil)
    }

    /// A request the browser answered from its HTTP cache, judged against the stored response.
    private static func servedFromBrowserCache(_ verdict: CORSVerdict, stored: HTTPExchange, fromCache: String?) -> CORSVerdict {
        var verdict = verdict
        let storedRequest = stored.requestHead?.headers
        let how = storedRequest?.contains(named: "Origin") == true
            ? "a CORS load" : "a load without Origin (\(stored.har?.resourceType.map { "a no-cors \($0) load" } ?? "a no-cors load"))"
        let source = fromCache.map { "the HAR marks it `_fromCache: \($0)`" } ?? "a fresh copy was stored and the HAR shows no response of its own"
        verdict.notes.append("Answered from the browser's HTTP cache (\(source)) with the response stored for exchange \(stored.id), \(how): nothing went on the wire for this request.")
        if verdict.kind == .blocked {
            verdict.explanation = "The browser answered this request from its HTTP cache with the response it stored for an earlier load of the same URL (exchange \(stored.id), \(how)); the cache is keyed by URL, not by request mode, and that stored response fails the CORS check. " + verdict.explanation
            verdict.fix = "Send the CORS headers on every response for this URL, also to requests without Origin, with `Vary: Origin` so caches keep the variants apart; or load the earlier resource with `crossorigin` (so both loads are CORS); or mark it `Cache-Control: no-cache`."
        }
        return verdict
    }

    /// A HAR entry the browser failed (`_error`, status 0) with no response recorded: the HAR is
    /// the browser's own account, so it was blocked, though the response that would say why
    /// is not there.
    private func harFailure(_ exchange: HTTPExchange, request: CORSRequest, verdict: CORSVerdict) -> CORSVerdict {
        guard let har = exchange.har, let error = har.error, exchange.response == nil,
              verdict.kind == .undecidable, verdict.failure == nil else { return verdict }
        var blocked = verdict
        blocked.kind = .blocked
        blocked.missingEvidence = ["the response headers (the HAR recorded none)"]
        blocked.outcomesByCredentials = []
        blocked.explanation = "The browser failed this request (\(error)) and the HAR holds no response. For a cross-origin request with an Origin header that is almost always a CORS failure; a capture of the same traffic, or a HAR export that keeps the failed response's headers, names the reason."
        blocked.notes.append("Verdict taken from the HAR's own evidence (\(error)), not from response headers.")
        return blocked
    }

    static func seconds(_ time: Timestamp) -> Double {
        Double(time.seconds) + Double(time.nanoseconds) / 1e9
    }
}

/// Remembers recent redirects per client so a followed redirect is judged as one (Fetch
/// "tainted origin", the redirect credential rules).
struct RedirectTracker {
    private struct Hop {
        var from: String
        var chain: [String]
        var time: Timestamp
    }

    /// Location URL → the hop that pointed there, per client address.
    private var pending: [IPAddress: [String: Hop]] = [:]
    private static let window = 10.0

    func chain(leadingTo exchange: HTTPExchange) -> [String] {
        guard !pending.isEmpty, let hops = pending[exchange.connection.client.address],
              let firstByte = exchange.requestFirstByte, let url = CORSInput.url(of: exchange), let hop = hops[url],
              firstByte.seconds(since: hop.time) <= Self.window else { return [] }
        return hop.chain + [hop.from]
    }

    mutating func observe(_ exchange: HTTPExchange, url: @autoclosure () -> String) {
        guard let head = exchange.responseHead, [301, 302, 303, 307, 308].contains(head.status),
              let location = head.headers.first(named: "Location"), let lastByte = exchange.responseLastByte else { return }
        let url = url()
        let target = RedirectRules.resolve(location: location, against: url)
        let client = exchange.connection.client.address
        let earlier = chain(leadingTo: exchange)
        var hops = pending[client, default: [:]]
        hops = hops.filter { lastByte.seconds(since: $0.value.time) <= Self.window }
        hops[target] = Hop(from: url, chain: earlier, time: lastByte)
        pending[client] = hops
    }
}

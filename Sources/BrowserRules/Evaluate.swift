/// The top-level rule engine: given one captured exchange, what did the browser do?
public enum CORSEngine {
    /// Evaluates `exchange` under `context.profile`'s rules.
    ///
    /// Order (Fetch main fetch / Chromium `CorsURLLoader`): decide whether CORS applies at all →
    /// mode and scheme checks → Local Network Access (if facts given) → preflight (captured,
    /// cached, or inferred) → CORS check on the response (a redirect hop is checked too, then its
    /// Location) → warnings. A failed preflight yields the verdict of the request it guarded.
    /// When the credentials mode is unknown and matters, the verdict is the one under the mode
    /// the browser most likely used (its default, unless the context says otherwise), with the
    /// assumption stated and the other mode's outcome listed.
    public static func evaluate(_ exchange: CORSExchange, context: EvaluationContext = EvaluationContext()) -> CORSVerdict {
        evaluate(exchange, context: context, asPreflight: false)
    }

    static func evaluate(_ exchange: CORSExchange, context: EvaluationContext, asPreflight: Bool) -> CORSVerdict {
        let request = exchange.request
        // Only the target's scheme and origin matter here; plain http(s) URLs skip the full parser.
        let targetOrigin: Origin
        let targetIsData: Bool
        let targetIsHTTPFamily: Bool
        if let origin = Origin.plainHTTPOrigin(request.url, onlyOrigin: false) {
            targetOrigin = origin
            targetIsData = false
            targetIsHTTPFamily = true
        } else {
            guard let target = ParsedURL(request.url) else {
                return CORSVerdict(kind: .undecidable, missingEvidence: ["a parsable absolute request URL (got '\(request.url)')"],
                                   explanation: "The request URL could not be parsed, so its origin is unknown.")
            }
            targetOrigin = target.origin
            targetIsData = target.scheme == "data"
            targetIsHTTPFamily = target.isHTTPFamily
        }
        let mode = resolveMode(request)
        switch mode {
        case .navigate?:
            return notCORS(.navigation, "Navigations are not subject to CORS.")
        case .websocket?:
            return notCORS(.websocket, "WebSocket handshakes are not subject to CORS (servers must check Origin themselves).")
        case .noCors?:
            return notCORS(.noCorsMode, "A no-cors request gets an opaque response; no CORS check runs, so CORS cannot block it (CORP/ORB may).")
        default:
            break
        }
        if targetIsData {
            return notCORS(.dataURL, "data: URLs are fetched without CORS.")
        }

        let originHeader = request.originHeader
        guard let initiator = request.initiatorOrigin ?? originHeader.flatMap({ Origin(serialized: $0) }) else {
            return notCORS(.noOriginHeader, "No Origin header and no known initiator: browsers always send Origin on cross-origin CORS requests, so this was same-origin or a no-cors load.")
        }
        if originHeader == nil && (mode == nil || !initiator.isSameOrigin(as: targetOrigin)) {
            // The headers are the ones sent (see `CORSRequest.headers`): a browser never makes a
            // cross-origin CORS request without Origin. A same-origin one in cors mode goes on,
            // for the redirect rules.
            return notCORS(.noOriginHeader, "No Origin header: a cross-origin CORS request always carries one, so this was a no-cors (e.g. <img>, <script>) or same-origin load.")
        }
        // Chromium `SetCorsFlagIfNeeded`: once any URL in the chain is cross-origin the flag stays set.
        // The chain is `redirectedFrom + [url]`; the current URL is already parsed (`target`).
        var corsFlag = !initiator.isSameOrigin(as: targetOrigin)
        if !corsFlag {
            corsFlag = request.redirectedFrom.contains { url in !initiator.isSameOrigin(as: Origin(url: url) ?? .opaque) }
        }
        let initialURL = request.redirectedFrom.first ?? request.url
        guard corsFlag else {
            // A same-origin cors-mode request redirected to another origin is still bound by the
            // Location credential rule (Chromium `CheckRedirectLocation`: initiator not same-origin
            // with the Location); the next hop then becomes a CORS request.
            if mode == .cors, let location = exchange.response?.redirectLocation,
               let failure = RedirectRules.checkLocation(location, requestURL: request.url, initiator: initiator,
                                                         tainted: false, corsFlag: false) {
                var details = FailureDetails(url: request.url, initialURL: initialURL,
                                             initiatorOrigin: initiator.serialized, initiator: context.initiator)
                details.status = exchange.response?.status
                details.redirectLocation = RedirectRules.resolve(location: location, against: request.url)
                return blocked(CORSFailure(error: failure.error, failedParameter: failure.failedParameter,
                                           stage: .redirect, details: details))
            }
            return notCORS(.sameOrigin, "Same-origin request: CORS does not apply.")
        }

        // Tainting needs at least one hop (`isTainted` is false for a single URL).
        let tainted = request.redirectedFrom.isEmpty
            ? false : RedirectRules.isTainted(initiator: initiator, urls: request.redirectedFrom + [request.url])
        let requestOrigin = originHeader ?? (tainted ? "null" : initiator.serialized)
        var baseNotes: [String] = []
        if mode == nil {
            baseNotes.append("Request mode not recorded (no Sec-Fetch-Mode); assumed 'cors' because a cross-origin Origin header was sent.")
        }
        if let originHeader, tainted, originHeader != "null" {
            baseNotes.append("The redirect chain taints this request, yet the captured Origin is '\(originHeader)'; the captured value is used.")
        }
        // The page origin as the browser prints it; usually the Origin header's own text.
        let initiatorSerialized: String
        if request.initiatorOrigin == nil, let originHeader, initiator.serializationEquals(originHeader) {
            initiatorSerialized = originHeader
        } else {
            initiatorSerialized = (request.initiatorOrigin ?? initiator).serialized
        }
        let base = FailureDetails(
            url: request.url, initialURL: initialURL, initiatorOrigin: initiatorSerialized,
            initiator: context.initiator)

        if mode == .sameOrigin {
            return blocked(CORSFailure(error: .disallowedByMode, stage: .beforeNetwork, details: base), notes: baseNotes)
        }
        if !targetIsHTTPFamily {
            return blocked(CORSFailure(error: .corsDisabledScheme, stage: .beforeNetwork, details: base), notes: baseNotes)
        }
        if let facts = context.localNetwork, context.profile.enforcesLocalNetworkAccess {
            switch LocalNetworkAccess.check(facts) {
            case .allowed:
                break
            case let .blocked(error):
                var details = base
                details.localNetwork = facts
                return blocked(CORSFailure(error: error, stage: .localNetwork, details: details), notes: baseNotes)
            case .needsPermissionDecision:
                return CORSVerdict(
                    kind: .undecidable, notes: baseNotes,
                    missingEvidence: ["whether the user granted the Local Network Access permission"],
                    explanation: "The request goes from a public page to a \(facts.resourceSpace.rawValue) address; Chromium asks the user first. A capture cannot show the answer.",
                    fix: "If it was denied, grant the local-network permission or move the service to a public address.")
            }
        }

        // Whether a preflight was needed depends only on the request: computed once, shared by
        // both credentials modes.
        let requirement = PreflightRules.needsPreflight(request, profile: context.profile)
        // What the preflight asks is the same under both credentials modes; `decide` sets the mode.
        var question: PreflightQuestion?
        if case let .exchange(preflightRequest, _) = exchange.preflight {
            question = preflightQuestion(request: request, preflightRequest: preflightRequest, requirement: requirement,
                                         includeCredentials: false,
                                         requestOrigin: preflightRequest.originHeader ?? requestOrigin)
        }
        let inputs = Inputs(exchange: exchange, context: context, requestOrigin: requestOrigin,
                            initiator: initiator, tainted: tainted, corsFlag: corsFlag, base: base,
                            requirement: requirement, question: question, asPreflight: asPreflight)
        let (credentials, credentialNote) = resolveCredentials(exchange)
        if let credentials {
            var verdict = outcome(inputs, includeCredentials: credentials)
            verdict.notes = baseNotes + (credentialNote.map { [$0] } ?? []) + verdict.notes
            return verdict
        }
        let withCredentials = outcome(inputs, includeCredentials: true)
        let without = outcome(inputs, includeCredentials: false)
        // A captured actual request proves its preflight passed, which rules out any credentials
        // mode under which the preflight would have failed.
        if !inputs.asPreflight, exchange.response != nil, case .exchange = exchange.preflight {
            let failsPreflightWith = withCredentials.failure?.stage == .preflight
            let failsPreflightWithout = without.failure?.stage == .preflight
            if failsPreflightWith != failsPreflightWithout {
                var survivor = failsPreflightWith ? without : withCredentials
                let excluded = failsPreflightWith ? "'include'" : "'omit'/'same-origin'"
                survivor.notes = baseNotes + survivor.notes
                    + ["The actual request was sent, so its preflight passed; that rules out credentials mode \(excluded)."]
                return survivor
            }
        }
        // The browser's own report that the request failed unanswered (a HAR entry's error)
        // is what a failed preflight leaves: the mode that fails the preflight is the likely one.
        if !inputs.asPreflight, exchange.response == nil, let failure = context.browserReportedFailure,
           case .exchange = exchange.preflight {
            let failsPreflightWith = withCredentials.failure?.stage == .preflight
            let failsPreflightWithout = without.failure?.stage == .preflight
            if failsPreflightWith != failsPreflightWithout {
                let mode: CredentialsAssumption = failsPreflightWith ? .included : .notIncluded
                return assuming(mode, because: "the browser reported the request failed (\(failure)) without a response, and only with credentials \(mode == .included ? "included" : "not included") does its preflight fail",
                                included: withCredentials, notIncluded: without, notes: baseNotes, initiator: context.initiator)
            }
        }
        return settleCredentials(included: withCredentials, notIncluded: without, notes: baseNotes, context: context)
    }

    /// The verdict on a preflight (OPTIONS) exchange itself: `exchange` is the request it asked
    /// about (without a response of its own) with the preflight as evidence. The preflight
    /// passed when the browser would go on to send the request; it fails with the request's
    /// verdict when the request was never sent.
    public static func evaluatePreflight(_ exchange: CORSExchange, context: EvaluationContext = EvaluationContext()) -> CORSVerdict {
        evaluate(exchange, context: context, asPreflight: true)
    }

    /// `decide`, or for a preflight what `decide` says about the preflight stage alone.
    static func outcome(_ inputs: Inputs, includeCredentials: Bool) -> CORSVerdict {
        let verdict = decide(inputs, includeCredentials: includeCredentials)
        guard inputs.asPreflight else { return verdict }
        switch verdict.kind {
        case .undecidable where verdict.failure == nil && verdict.missingEvidence == [noResponseEvidence]:
            // Only the guarded request's own response is missing: the preflight let it through.
            var passed = verdict
            passed.kind = .passed
            passed.missingEvidence = []
            passed.explanation = "The preflight allowed the request."
            return passed
        case .blocked where !(verdict.failure?.error.concernsPreflight ?? true):
            // A failure after the preflight belongs to the request's own exchange.
            var passed = verdict
            passed.kind = .passed
            passed.failure = nil
            passed.explanation = "The preflight allowed the request."
            passed.fix = nil
            return passed
        default:
            return verdict
        }
    }

    // MARK: Pieces

    struct Inputs {
        var exchange: CORSExchange
        var context: EvaluationContext
        var requestOrigin: String
        var initiator: Origin
        var tainted: Bool
        var corsFlag: Bool
        var base: FailureDetails
        /// `PreflightRules.needsPreflight(exchange.request, profile: context.profile)`.
        var requirement: PreflightRequirement
        /// `preflightQuestion(…)` for a captured preflight, credentials mode not yet set.
        var question: PreflightQuestion?
        /// Judging the preflight exchange itself (see `evaluatePreflight`).
        var asPreflight = false
    }

    static func resolveMode(_ request: CORSRequest) -> RequestMode? {
        if let mode = request.mode { return mode }
        if let value = request.headers.lastValue(named: HeaderName.secFetchMode), let mode = RequestMode(secFetchMode: value) {
            return mode
        }
        if request.headers.values(named: HeaderName.upgrade).contains(where: { $0.asciiLowercased == "websocket" }) {
            return .websocket
        }
        return nil
    }

    // MARK: Verdict builders

    static func notCORS(_ reason: NotCORSReason, _ explanation: String) -> CORSVerdict {
        CORSVerdict(kind: .notCORS, notCORSReason: reason, explanation: explanation)
    }

    static func blocked(_ failure: CORSFailure, warnings: [CORSWarning] = [], notes: [String] = []) -> CORSVerdict {
        let (explanation, fix) = Explanations.explain(failure)
        var notes = notes
        if failure.stage == .preflight {
            notes.append("The preflight failed, so the actual \(failure.details.url) request was never sent.")
        }
        return CORSVerdict(kind: .blocked, failure: failure, warnings: warnings, notes: notes,
                           explanation: explanation, fix: fix)
    }
}

/// Free-function spelling of `CORSEngine.evaluate`.
public func evaluate(_ exchange: CORSExchange, _ context: EvaluationContext = EvaluationContext()) -> CORSVerdict {
    CORSEngine.evaluate(exchange, context: context)
}

/// The top-level rule engine: given one captured exchange, what did the browser do?
public enum CORSEngine {
    /// Evaluates `exchange` under `context.profile`'s rules.
    ///
    /// Order (Fetch main fetch / Chromium `CorsURLLoader`): decide whether CORS applies at all →
    /// mode and scheme checks → Local Network Access (if facts given) → preflight (captured,
    /// cached, or inferred) → CORS check on the response (a redirect hop is checked too, then its
    /// Location) → warnings. A failed preflight yields the verdict of the request it guarded.
    /// When the credentials mode is unknown and matters, the verdict is `undecidable` and lists
    /// the outcome under each mode.
    public static func evaluate(_ exchange: CORSExchange, context: EvaluationContext = EvaluationContext()) -> CORSVerdict {
        let request = exchange.request
        guard let target = ParsedURL(request.url) else {
            return CORSVerdict(kind: .undecidable, missingEvidence: ["a parsable absolute request URL (got '\(request.url)')"],
                               explanation: "The request URL could not be parsed, so its origin is unknown.")
        }
        let urls = request.redirectedFrom + [request.url]
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
        if target.scheme == "data" {
            return notCORS(.dataURL, "data: URLs are fetched without CORS.")
        }

        let originHeader = request.originHeader
        guard let initiator = request.initiatorOrigin ?? originHeader.flatMap({ Origin(serialized: $0) }) else {
            return notCORS(.noOriginHeader, "No Origin header and no known initiator: browsers always send Origin on cross-origin CORS requests, so this was same-origin or a no-cors load.")
        }
        if mode == nil && originHeader == nil {
            return notCORS(.noOriginHeader, "No Origin header: a cross-origin CORS request always carries one, so this was a no-cors (e.g. <img>, <script>) or same-origin load.")
        }
        // Chromium `SetCorsFlagIfNeeded`: once any URL in the chain is cross-origin the flag stays set.
        let corsFlag = urls.contains { url in !initiator.isSameOrigin(as: Origin(url: url) ?? .opaque) }
        guard corsFlag else {
            // A same-origin cors-mode request redirected to another origin is still bound by the
            // Location credential rule (Chromium `CheckRedirectLocation`: initiator not same-origin
            // with the Location); the next hop then becomes a CORS request.
            if mode == .cors, let location = exchange.response?.redirectLocation,
               let failure = RedirectRules.checkLocation(location, requestURL: request.url, initiator: initiator,
                                                         tainted: false, corsFlag: false) {
                var details = FailureDetails(url: request.url, initialURL: urls.first,
                                             initiatorOrigin: initiator.serialized, initiator: context.initiator)
                details.status = exchange.response?.status
                details.redirectLocation = RedirectRules.resolve(location: location, against: request.url)
                return blocked(CORSFailure(error: failure.error, failedParameter: failure.failedParameter,
                                           stage: .redirect, details: details))
            }
            return notCORS(.sameOrigin, "Same-origin request: CORS does not apply.")
        }

        let tainted = RedirectRules.isTainted(initiator: initiator, urls: urls)
        let requestOrigin = originHeader ?? (tainted ? "null" : initiator.serialized)
        var baseNotes: [String] = []
        if mode == nil {
            baseNotes.append("Request mode not recorded (no Sec-Fetch-Mode); assumed 'cors' because a cross-origin Origin header was sent.")
        }
        if let originHeader, tainted, originHeader != "null" {
            baseNotes.append("The redirect chain taints this request, yet the captured Origin is '\(originHeader)'; the captured value is used.")
        }
        let base = FailureDetails(
            url: request.url, initialURL: urls.first, initiatorOrigin: (request.initiatorOrigin ?? initiator).serialized,
            initiator: context.initiator)

        if mode == .sameOrigin {
            return blocked(CORSFailure(error: .disallowedByMode, stage: .beforeNetwork, details: base), notes: baseNotes)
        }
        if !target.isHTTPFamily {
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

        let inputs = Inputs(exchange: exchange, context: context, requestOrigin: requestOrigin,
                            initiator: initiator, tainted: tainted, corsFlag: corsFlag, base: base)
        let (credentials, credentialNote) = resolveCredentials(exchange)
        if let credentialNote { baseNotes.append(credentialNote) }

        if let credentials {
            var verdict = decide(inputs, includeCredentials: credentials)
            verdict.notes = baseNotes + verdict.notes
            return verdict
        }
        let withCredentials = decide(inputs, includeCredentials: true)
        var without = decide(inputs, includeCredentials: false)
        // A captured actual request proves its preflight passed, which rules out any credentials
        // mode under which the preflight would have failed.
        if exchange.response != nil, case .exchange = exchange.preflight {
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
        if withCredentials.kind == without.kind && withCredentials.failure == without.failure {
            without.notes = baseNotes + without.notes
                + ["Credentials mode unknown, but the outcome is the same with or without credentials."]
            return without
        }
        return undecidableOnCredentials(withCredentials: withCredentials, without: without, notes: baseNotes)
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
    }

    static func resolveMode(_ request: CORSRequest) -> RequestMode? {
        if let mode = request.mode { return mode }
        if let value = request.headers.values(named: HeaderName.secFetchMode).last, let mode = RequestMode(secFetchMode: value) {
            return mode
        }
        if request.headers.values(named: HeaderName.upgrade).contains(where: { $0.asciiLowercased == "websocket" }) {
            return .websocket
        }
        return nil
    }

    /// Credentials actually included (Fetch "includeCredentials"). A `Cookie` header on a
    /// cross-origin request proves mode `include`; so does an `Authorization` the page did not
    /// declare in the preflight's ACRH (the browser's HTTP-auth cache added it). Absence proves nothing.
    static func resolveCredentials(_ exchange: CORSExchange) -> (Bool?, String?) {
        let request = exchange.request
        switch request.credentials {
        case .include: return (true, nil)
        case .omit, .sameOrigin: return (false, nil)
        case .unknown: break
        }
        if request.headers.contains(HeaderName.cookie) {
            return (true, "Credentials mode inferred as 'include': the request carried a Cookie header.")
        }
        if request.headers.contains(HeaderName.authorization),
           case let .exchange(preflightRequest, _) = exchange.preflight,
           !declaredHeaderNames(preflightRequest).contains("authorization") {
            return (true, "Credentials mode inferred as 'include': Authorization was sent but not declared in the preflight, so the browser's HTTP-auth cache added it.")
        }
        return (nil, nil)
    }

    static func declaredHeaderNames(_ preflightRequest: CORSRequest) -> [String] {
        guard let value = preflightRequest.headers.combinedValue(named: HeaderName.requestHeaders) else { return [] }
        return value.split(separator: ",").map { $0.trimmingHTTPWhitespace.asciiLowercased }.filter { !$0.isEmpty }
    }

    /// The verdict when the credentials mode is known (or assumed).
    static func decide(_ inputs: Inputs, includeCredentials: Bool) -> CORSVerdict {
        let exchange = inputs.exchange
        let request = exchange.request
        let profile = inputs.context.profile
        var notes: [String] = []
        var warnings: [CORSWarning] = []

        // Preflight.
        let requirement = PreflightRules.needsPreflight(request, profile: profile)
        switch exchange.preflight {
        case let .exchange(preflightRequest, preflightResponse):
            let question = preflightQuestion(request: request, preflightRequest: preflightRequest,
                                             includeCredentials: includeCredentials,
                                             requestOrigin: preflightRequest.originHeader ?? inputs.requestOrigin)
            let validation = PreflightValidator.validate(response: preflightResponse, question: question, profile: profile)
            if let failure = validation.failure {
                var details = inputs.base
                details.status = preflightResponse?.status
                details.allowOriginValue = preflightResponse?.headers.combinedValue(named: HeaderName.allowOrigin)
                details.allowOriginLineCount = preflightResponse?.headers.lineCount(named: HeaderName.allowOrigin) ?? 0
                details.invalidToken = validation.invalidToken
                details.invalidHeaderValue = validation.invalidHeaderValue
                details.offendingHeaderAsWritten = validation.offendingHeaderAsWritten
                let corsFailure = CORSFailure(error: failure.error, failedParameter: failure.failedParameter,
                                              stage: .preflight, details: details)
                if exchange.response != nil {
                    notes.append("A response to the actual request is in the capture although its preflight failed; it probably belongs to another attempt.")
                }
                return blocked(corsFailure, notes: notes)
            }
            if !requirement.isRequired && !requirement.isUncertain {
                notes.append("Method and headers needed no preflight, so the browser forced one (XHR upload listeners or a streaming request body).")
            }
            if validation.authorizationCoveredOnlyByWildcard { warnings.append(.authorizationCoveredOnlyByWildcard) }
            if let preflightResponse { warnings += maxAgeWarnings(preflightResponse, profile: profile) }
        case .knownCached:
            notes.append("A cached preflight served this request.")
        case .none:
            if requirement.isRequired {
                let reason = requirement.unsafeMethod.map { "method \($0)" }
                    ?? "header(s) \(requirement.unsafeHeaderNames.joined(separator: ", "))"
                if let entry = matchingCacheEntry(inputs, requirement: requirement, includeCredentials: includeCredentials) {
                    notes.append("A preflight was required (\(reason)); an earlier preflight at \(entry.storedAt) still covered it.")
                } else if exchange.response != nil {
                    notes.append("A preflight was required (\(reason)) but none was captured; since the request reached the server, the browser had a valid cached preflight or the OPTIONS exchange was not captured.")
                } else {
                    return CORSVerdict(
                        kind: .undecidable, notes: notes,
                        missingEvidence: ["the preflight (OPTIONS) exchange for this request", "the response"],
                        explanation: "This request needed a preflight (\(reason)), but neither the OPTIONS exchange nor a response was captured.")
                }
            } else if requirement.isUncertain {
                notes.append("Header(s) \(requirement.possiblyBrowserAddedHeaderNames.joined(separator: ", ")) would need a preflight if the page set them; the browser may have added them itself.")
            }
        }

        // Actual response.
        guard let response = exchange.response else {
            return CORSVerdict(kind: .undecidable, warnings: warnings, notes: notes,
                               missingEvidence: ["the response to the actual request"],
                               explanation: "The request was sent but no response was captured, so the CORS check cannot be evaluated.")
        }
        var details = inputs.base
        details.status = response.status
        details.allowOriginValue = response.headers.combinedValue(named: HeaderName.allowOrigin)
        details.allowOriginLineCount = response.headers.lineCount(named: HeaderName.allowOrigin)
        let redirectLocation = response.redirectLocation
        let check = CORSCheck.check(responseHeaders: response.headers, requestOrigin: inputs.requestOrigin,
                                    includeCredentials: includeCredentials)
        if let failure = check.failure {
            if response.status == 304 {
                return CORSVerdict(
                    kind: .undecidable, warnings: warnings, notes: notes,
                    missingEvidence: ["the cached response this 304 revalidated (its CORS headers)"],
                    explanation: "A 304 is merged with the browser's cached copy, whose headers are not in the capture; on revalidation Chromium skips the CORS check on the 304 itself.")
            }
            let stage: FailureStage = redirectLocation == nil ? .response : .redirect
            if let redirectLocation {
                details.redirectLocation = RedirectRules.resolve(location: redirectLocation, against: request.url)
            }
            return blocked(CORSFailure(error: failure.error, failedParameter: failure.failedParameter, stage: stage, details: details),
                           warnings: warnings, notes: notes)
        }
        if let redirectLocation {
            let resolved = RedirectRules.resolve(location: redirectLocation, against: request.url)
            if let failure = RedirectRules.checkLocation(redirectLocation, requestURL: request.url, initiator: inputs.initiator,
                                                         tainted: inputs.tainted, corsFlag: inputs.corsFlag) {
                details.redirectLocation = resolved
                return blocked(CORSFailure(error: failure.error, failedParameter: failure.failedParameter, stage: .redirect, details: details),
                               warnings: warnings, notes: notes)
            }
            if RedirectRules.isUnsafeRedirectTarget(redirectLocation, requestURL: request.url) {
                notes.append("The redirect target \(resolved) is not http(s): the browser fails the fetch with a network error (Chromium net::ERR_UNSAFE_REDIRECT), which is not a CORS error.")
            } else {
                notes.append("Redirect to \(resolved) allowed; the browser follows it (the next hop is a separate exchange, with Origin: null if the hop taints it).")
            }
        }
        warnings += responseWarnings(response, requestOrigin: inputs.requestOrigin, includeCredentials: includeCredentials)
        let allowOrigin = details.allowOriginValue ?? ""
        return CORSVerdict(
            kind: .passed, warnings: warnings, notes: notes,
            explanation: "The response allows the page's origin (Access-Control-Allow-Origin: \(allowOrigin))"
                + (includeCredentials ? " with credentials" : "") + ", so the browser hands it to the page."
                + (response.isOkStatus || redirectLocation != nil ? "" : " The HTTP status \(response.status) is exposed to the page as is; CORS does not look at it."))
    }

    static func preflightQuestion(request: CORSRequest, preflightRequest: CORSRequest,
                                  includeCredentials: Bool, requestOrigin: String) -> PreflightQuestion {
        // ACRM/ACRH are exactly what the browser computed; fall back to the actual request.
        let method = preflightRequest.headers.values(named: HeaderName.requestMethod).last
            ?? MethodRules.normalize(request.method)
        let names = preflightRequest.headers.contains(HeaderName.requestHeaders)
            ? declaredHeaderNames(preflightRequest)
            : (PreflightRules.needsPreflight(request).unsafeHeaderNames)
        var asWritten: [String: String] = [:]
        for field in request.headers where asWritten[field.name.asciiLowercased] == nil {
            asWritten[field.name.asciiLowercased] = field.name
        }
        return PreflightQuestion(method: method, headerNames: names, headerNamesAsWritten: asWritten,
                                 includeCredentials: includeCredentials, requestOrigin: requestOrigin)
    }

    static func matchingCacheEntry(_ inputs: Inputs, requirement: PreflightRequirement, includeCredentials: Bool) -> PreflightCacheEntry? {
        let request = inputs.exchange.request
        let time = inputs.context.requestTime ?? Double.infinity
        return inputs.context.preflightCache.first { entry in
            entry.canServe(origin: inputs.requestOrigin, url: request.url, method: MethodRules.normalize(request.method),
                           headerNames: requirement.unsafeHeaderNames, includeCredentials: includeCredentials,
                           at: time == .infinity ? entry.storedAt : time)
        }
    }

    static func maxAgeWarnings(_ response: CORSResponse, profile: BrowserProfile) -> [CORSWarning] {
        guard let raw = response.headers.combinedValue(named: HeaderName.maxAge) else { return [] }
        if profile.engine == .firefox, case .notCached = PreflightCachePolicy.lifetime(maxAgeHeader: raw, profile: profile) {
            return [.maxAgeNotCached(value: raw)]
        }
        if let value = PreflightCachePolicy.parseSignedInteger(raw), value > profile.preflightCacheCapSeconds {
            return [.maxAgeAboveCap(requested: value, cap: profile.preflightCacheCapSeconds)]
        }
        return []
    }

    static func responseWarnings(_ response: CORSResponse, requestOrigin: String, includeCredentials: Bool) -> [CORSWarning] {
        var warnings: [CORSWarning] = []
        guard let allowOrigin = response.headers.combinedValue(named: HeaderName.allowOrigin) else { return [] }
        let allowCredentials = response.headers.combinedValue(named: HeaderName.allowCredentials)
        if allowOrigin == "null" { warnings.append(.nullOriginAllowed) }
        if allowOrigin != "*" {
            let vary = response.headers.values(named: HeaderName.vary)
                .flatMap { $0.split(separator: ",").map { $0.trimmingHTTPWhitespace.asciiLowercased } }
            if !vary.contains("origin") && !vary.contains("*") {
                warnings.append(.missingVaryOrigin(allowOrigin: allowOrigin))
            }
            if allowCredentials == "true", requestOrigin != "null",
               CORSCheck.reflectsOrigin(requestOrigin: requestOrigin, allowOrigin: allowOrigin) {
                warnings.append(.credentialedOriginReflection(origin: requestOrigin))
            }
        } else if allowCredentials == "true" {
            warnings.append(.wildcardWithCredentialsHeader)
        }
        return warnings
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

    static func undecidableOnCredentials(withCredentials: CORSVerdict, without: CORSVerdict, notes: [String]) -> CORSVerdict {
        func describe(_ verdict: CORSVerdict) -> String {
            switch verdict.kind {
            case .blocked: return "blocked (\(verdict.corsError?.cdpName ?? "?"))"
            default: return verdict.kind.rawValue
            }
        }
        let outcomes = [
            CredentialsOutcome(assumption: .included, kind: withCredentials.kind, failure: withCredentials.failure),
            CredentialsOutcome(assumption: .notIncluded, kind: without.kind, failure: without.failure),
        ]
        var warnings = without.warnings
        for warning in withCredentials.warnings where !warnings.contains(warning) { warnings.append(warning) }
        return CORSVerdict(
            kind: .undecidable, warnings: warnings, notes: notes,
            missingEvidence: ["the request's credentials mode (fetch `credentials: 'include'` / XHR `withCredentials`): no Cookie was sent, which does not rule out 'include' (there may simply be no cookies)"],
            outcomesByCredentials: outcomes,
            explanation: "If the request included credentials: \(describe(withCredentials)) — \(withCredentials.explanation) Without credentials: \(describe(without)) — \(without.explanation)",
            fix: withCredentials.fix ?? without.fix)
    }
}

/// Free-function spelling of `CORSEngine.evaluate`.
public func evaluate(_ exchange: CORSExchange, _ context: EvaluationContext = EvaluationContext()) -> CORSVerdict {
    CORSEngine.evaluate(exchange, context: context)
}

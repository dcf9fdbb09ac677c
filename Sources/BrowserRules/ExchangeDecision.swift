/// The core decision for one exchange once CORS is known to apply and the credentials mode is fixed:
/// preflight (captured, cached or inferred) → CORS check on the response → redirect Location.
extension CORSEngine {
    static let noResponseEvidence = "the response to the actual request"

    /// The verdict when the credentials mode is known (or assumed).
    static func decide(_ inputs: Inputs, includeCredentials: Bool) -> CORSVerdict {
        let exchange = inputs.exchange
        let request = exchange.request
        let profile = inputs.context.profile
        var notes: [String] = []
        var warnings: [CORSWarning] = []

        // Preflight.
        let requirement = inputs.requirement
        switch exchange.preflight {
        case let .exchange(preflightRequest, preflightResponse):
            var question = inputs.question
                ?? preflightQuestion(request: request, preflightRequest: preflightRequest, requirement: requirement,
                                     includeCredentials: includeCredentials,
                                     requestOrigin: preflightRequest.originHeader ?? inputs.requestOrigin)
            question.includeCredentials = includeCredentials
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
            // The browser's own ACRM/ACRH say whether anything needed approval.
            if MethodRules.isSafelisted(question.method) && question.headerNames.isEmpty {
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
                               missingEvidence: [noResponseEvidence],
                               explanation: "The request was sent but no response was captured, so the CORS check cannot be evaluated.")
        }
        var details = inputs.base
        details.status = response.status
        details.allowOriginValue = response.headers.combinedValue(named: HeaderName.allowOrigin)
        details.allowOriginLineCount = details.allowOriginValue == nil ? 0 : response.headers.lineCount(named: HeaderName.allowOrigin)
        let redirectLocation = response.redirectLocation
        let check = CORSCheck.check(allowOrigin: details.allowOriginValue, responseHeaders: response.headers,
                                    requestOrigin: inputs.requestOrigin, includeCredentials: includeCredentials)
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
        warnings += responseWarnings(response, allowOrigin: details.allowOriginValue, requestOrigin: inputs.requestOrigin,
                                     includeCredentials: includeCredentials)
        let allowOrigin = details.allowOriginValue ?? ""
        // One interpolation (one buffer) rather than a chain of concatenations.
        let credentialsText = includeCredentials ? " with credentials" : ""
        let outcomeText = redirectLocation == nil ? ", so the browser hands it to the page." : ", so the browser follows the redirect."
        let explanation: String
        if response.isOkStatus || redirectLocation != nil {
            explanation = "The response allows the page's origin (Access-Control-Allow-Origin: \(allowOrigin))\(credentialsText)\(outcomeText)"
        } else {
            explanation = "The response allows the page's origin (Access-Control-Allow-Origin: \(allowOrigin))\(credentialsText)\(outcomeText) The HTTP status \(response.status) is exposed to the page as is; CORS does not look at it."
        }
        return CORSVerdict(kind: .passed, warnings: warnings, notes: notes, explanation: explanation)
    }

    static func preflightQuestion(request: CORSRequest, preflightRequest: CORSRequest, requirement: PreflightRequirement,
                                  includeCredentials: Bool, requestOrigin: String) -> PreflightQuestion {
        // ACRM/ACRH are exactly what the browser computed; fall back to the actual request.
        let method = preflightRequest.headers.lastValue(named: HeaderName.requestMethod)
            ?? MethodRules.normalize(request.method)
        // A captured OPTIONS without ACRH means the browser found no unsafe headers; only when the
        // OPTIONS headers were not captured at all do we recompute them from the actual request.
        let names = preflightRequest.headers.fields.isEmpty
            ? requirement.unsafeHeaderNames
            : declaredHeaderNames(preflightRequest)
        // Only the spelling of names the preflight is asked about is ever looked up.
        var asWritten: [String: String] = [:]
        if !names.isEmpty {
            for field in request.headers {
                let lower = HeaderRules.lowercasedName(field.name)
                if names.contains(lower) && asWritten[lower] == nil { asWritten[lower] = field.name }
            }
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
}

/// What the capture says about the request's credentials mode, and how a mode the wire does not
/// show is settled: like the browser most likely did, with the assumption stated.
extension CORSEngine {
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
        if let pieces = ASCIIText.commaSeparatedItems(value) {
            return pieces.map { HeaderRules.lowercasedName(String($0)) }
        }
        return value.split(separator: ",").map { $0.trimmingHTTPWhitespace.asciiLowercased }.filter { !$0.isEmpty }
    }

    /// The verdict when the wire did not show the credentials mode. The same outcome under both
    /// modes is simply the verdict. Otherwise the browser's default decides — a cross-origin
    /// `fetch()` defaults to `same-origin` and XHR to `withCredentials = false`, both of which
    /// send nothing cross-origin — and the verdict says so and names the other mode's outcome.
    static func settleCredentials(included: CORSVerdict, notIncluded: CORSVerdict, notes: [String],
                                  context: EvaluationContext) -> CORSVerdict {
        if included.kind == notIncluded.kind && included.failure == notIncluded.failure {
            var verdict = notIncluded
            verdict.notes = notes + verdict.notes
                + ["Credentials mode unknown, but the outcome is the same with or without credentials."]
            return verdict
        }
        return assuming(.notIncluded, because: defaultModeReason(context),
                        included: included, notIncluded: notIncluded, notes: notes, initiator: context.initiator)
    }

    /// Why the default mode is the likely one, from what the rest of the input shows.
    static func defaultModeReason(_ context: EvaluationContext) -> String {
        switch context.credentialsEvidence {
        case .cookiesSentToHostElsewhere:
            return "no Cookie was sent, although this browser sent cookies to this host on other requests: with credentials included it would have attached them"
        case .cookiesRemovedFromInput:
            return "the input had its cookies removed (a sanitized export), so the default mode is assumed: " + defaultModeText(context.initiator)
        case .cookiesNotShownInInput:
            return "the HAR shows the request's provisional headers, which never include Cookie, so the default mode is assumed: " + defaultModeText(context.initiator)
        case .none:
            return "no Cookie was sent, and " + defaultModeText(context.initiator)
        }
    }

    static func defaultModeText(_ initiator: ResourceInitiator) -> String {
        initiator == .xmlHttpRequest
            ? "XMLHttpRequest sends none cross-origin unless withCredentials is true"
            : "a cross-origin fetch() sends none unless credentials is 'include'"
    }

    /// `included` or `notIncluded` as the verdict, with the assumption, both outcomes and a note
    /// naming the alternative.
    static func assuming(_ mode: CredentialsAssumption, because: String, included: CORSVerdict, notIncluded: CORSVerdict,
                         notes: [String], initiator: ResourceInitiator) -> CORSVerdict {
        var chosen = mode == .included ? included : notIncluded
        let other = mode == .included ? notIncluded : included
        let assumption = VerdictAssumption(credentials: mode, because: because)
        chosen.outcomesByCredentials = [
            CredentialsOutcome(assumption: .included, kind: included.kind, failure: included.failure),
            CredentialsOutcome(assumption: .notIncluded, kind: notIncluded.kind, failure: notIncluded.failure),
        ]
        chosen.assumption = assumption
        chosen.notes = notes + chosen.notes
            + ["Assumed: \(assumption.summary) — \(because). \(alternativeText(other, mode: mode == .included ? .notIncluded : .included, initiator: initiator))"]
        return chosen
    }

    /// "With `credentials: 'include'` it would be blocked: PreflightInvalidAllowCredentials."
    static func alternativeText(_ verdict: CORSVerdict, mode: CredentialsAssumption, initiator: ResourceInitiator) -> String {
        let modeText: String
        switch (mode, initiator == .xmlHttpRequest) {
        case (.included, true): modeText = "withCredentials = true"
        case (.included, false): modeText = "credentials: 'include'"
        case (.notIncluded, true): modeText = "withCredentials = false"
        case (.notIncluded, false): modeText = "credentials not included"
        }
        return "With \(modeText) it would be \(describe(verdict))."
    }

    static func describe(_ verdict: CORSVerdict) -> String {
        switch verdict.kind {
        case .blocked: return "blocked: \(verdict.corsError?.cdpName ?? "?")"
        case .passed: return "passed"
        case .notCORS: return "not a CORS request"
        case .undecidable: return "undecided (\(verdict.missingEvidence.first ?? "evidence missing"))"
        }
    }
}

extension CORSVerdict {
    /// For a verdict whose outcome turns on the credentials mode: the same judgement settled on
    /// the mode that blocks, when `evidence` says the request was never sent or never answered
    /// ("no request followed this preflight"). Nil when no single mode blocks.
    public func settledOnTheBlockingMode(evidence: String) -> CORSVerdict? {
        guard kindDependsOnCredentials,
              let failing = outcomesByCredentials.first(where: { $0.kind == .blocked }) else { return nil }
        let mode = failing.assumption == .included ? "included" : "not included"
        return settled(on: failing.assumption, because: "\(evidence), and only with credentials \(mode) does it fail")
    }

    /// The same judgement settled on the other credentials mode, when new evidence says which:
    /// e.g. no request followed a preflight that only `include` fails, so the page used
    /// `include`. Nil unless that mode's outcome was recorded and blocked.
    public func settled(on mode: CredentialsAssumption, because: String) -> CORSVerdict? {
        guard let outcome = outcomesByCredentials.first(where: { $0.assumption == mode }), outcome.kind == .blocked,
              let failure = outcome.failure else { return nil }
        var verdict = CORSEngine.blocked(failure, warnings: warnings)
        verdict.outcomesByCredentials = outcomesByCredentials
        verdict.assumption = VerdictAssumption(credentials: mode, because: because)
        let previous = assumption?.credentials ?? (mode == .included ? .notIncluded : .included)
        let other = outcomesByCredentials.first { $0.assumption == previous }
        let otherText = other.map { $0.kind == .blocked ? "blocked: \($0.failure?.error.cdpName ?? "?")" : $0.kind.rawValue } ?? "undecided"
        verdict.notes = verdict.notes + ["Assumed: \(verdict.assumption!.summary) — \(because). With credentials \(previous == .included ? "included" : "not included") it would be \(otherText)."]
        return verdict
    }
}

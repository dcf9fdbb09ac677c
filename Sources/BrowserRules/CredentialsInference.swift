/// What the capture says about the request's credentials mode, and how an unknown mode is reported.
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

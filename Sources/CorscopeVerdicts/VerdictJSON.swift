import BrowserRules
import CorscopeExchanges

/// The `"cors"` object of an exchange in NDJSON (see docs/exchange-json.md).
public enum VerdictJSON {
    public static func write(_ judged: JudgedExchange, profile: BrowserProfile, to json: inout JSONWriter) {
        let verdict = judged.verdict
        json.key("cors")
        json.beginObject()
        json.key("verdict"); json.string(verdict.kind.jsonName)
        json.key("role"); json.string(judged.role.rawValue)
        json.key("corsError")
        if let error = verdict.corsError { json.string(error.cdpName) } else { json.null() }
        json.key("failedParameter")
        if let parameter = verdict.failedParameter, verdict.failure != nil { json.string(parameter) } else { json.null() }
        json.key("message")
        if let message = verdict.message(for: profile) { json.string(message) } else { json.null() }
        json.key("preflight")
        if let preflight = judged.preflight { json.string(preflight.id) } else { json.null() }
        json.key("cachedPreflight")
        if let cached = judged.cachedPreflight {
            json.beginObject()
            json.key("id"); json.string(cached.exchange.id)
            json.key("age"); json.double((cached.age * 1000).rounded() / 1000)
            json.endObject()
        } else {
            json.null()
        }
        if let guarded = judged.guardedRequest {
            json.key("guards")
            json.beginObject()
            json.key("method"); json.string(guarded.method)
            json.key("headers")
            json.beginArray()
            for field in guarded.headers where field.value.isEmpty { json.string(field.name.lowercased()) }
            json.endArray()
            json.endObject()
        }
        json.key("notCorsReason")
        if let reason = verdict.notCORSReason { json.string(reason.rawValue) } else { json.null() }
        json.key("explanation"); json.string(verdict.explanation)
        json.key("fix")
        if let fix = verdict.fix { json.string(fix) } else { json.null() }
        json.key("warnings")
        json.beginArray()
        for warning in verdict.warnings {
            json.beginObject()
            json.key("code"); json.string(warning.code)
            json.key("summary"); json.string(warning.summary)
            json.endObject()
        }
        json.endArray()
        json.key("notes")
        json.beginArray()
        for note in verdict.notes { json.string(note) }
        json.endArray()
        json.key("missingEvidence")
        json.beginArray()
        for missing in verdict.missingEvidence { json.string(missing) }
        json.endArray()
        json.key("outcomesByCredentials")
        json.beginArray()
        for outcome in verdict.outcomesByCredentials {
            json.beginObject()
            json.key("credentials"); json.string(outcome.assumption == .included ? "include" : "omit")
            json.key("verdict"); json.string(outcome.kind.jsonName)
            json.key("corsError")
            if let error = outcome.failure?.error { json.string(error.cdpName) } else { json.null() }
            json.key("message")
            if let message = outcome.failure?.message(for: profile) { json.string(message) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }
}

extension CORSVerdict.Kind {
    /// The output contract's spelling.
    public var jsonName: String {
        switch self {
        case .notCORS: return "not-cors"
        case .passed: return "passed"
        case .blocked: return "blocked"
        case .undecidable: return "undecidable"
        }
    }
}

extension CORSWarning {
    /// A stable machine name for each warning.
    public var code: String {
        switch self {
        case .credentialedOriginReflection: return "credentialed-origin-reflection"
        case .nullOriginAllowed: return "null-origin-allowed"
        case .missingVaryOrigin: return "missing-vary-origin"
        case .maxAgeAboveCap: return "max-age-above-cap"
        case .maxAgeNotCached: return "max-age-not-cached"
        case .authorizationCoveredOnlyByWildcard: return "authorization-covered-only-by-wildcard"
        case .wildcardWithCredentialsHeader: return "wildcard-with-credentials"
        }
    }
}

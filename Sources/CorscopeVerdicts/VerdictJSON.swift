import BrowserRules
import CorscopeExchanges
import CorscopeRedaction

/// The `"cors"` object of an exchange in NDJSON (see docs/exchange-json.md).
public enum VerdictJSON {
    /// - Parameter cache: remembers the rendered text of recent verdicts; memoised verdicts are
    ///   shared instances, so most exchanges reuse it instead of rendering some twenty strings.
    /// - Parameter redactor: scrubs URLs and secrets from the texts (when there is no cache;
    ///   a cache has its own).
    public static func write(_ judged: JudgedExchange, profile: BrowserProfile, to json: inout JSONWriter,
                             cache: VerdictJSONCache? = nil, redactor: Redactor? = nil) {
        let verdict = judged.verdict
        let rendered = cache?.rendered(verdict) ?? Rendered(verdict, profile: profile, redactor: redactor)
        json.key("cors")
        json.beginObject()
        json.key("verdict"); json.string(verdict.kind.jsonName)
        json.key("role"); json.string(judged.role.rawValue)
        json.appendMembers(rendered.failure)
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
        json.appendMembers(rendered.account)
        json.endObject()
    }

    /// The members that depend on the verdict alone, rendered once.
    struct Rendered {
        /// `corsError`, `failedParameter`, `message`, `firefoxReason`.
        var failure: [UInt8]
        /// `notCorsReason` through `assumed`.
        var account: [UInt8]

        init(_ verdict: CORSVerdict, profile: BrowserProfile, redactor: Redactor? = nil) {
            let redactor = redactor?.isEnabled == true ? redactor : nil
            func text(_ value: String) -> String { redactor?.text(value) ?? value }
            func shown(_ failure: CORSFailure?) -> CORSFailure? {
                guard var failure, let redactor else { return failure }
                failure.details.url = redactor.url(failure.details.url)
                failure.details.initialURL = redactor.url(failure.details.initialURL)
                failure.details.redirectLocation = failure.details.redirectLocation.map(redactor.url)
                return failure
            }
            let failure = shown(verdict.failure)
            var json = JSONWriter(capacity: 256)
            json.key("corsError")
            if let error = verdict.corsError { json.string(error.cdpName) } else { json.null() }
            json.key("failedParameter")
            if let parameter = failure?.failedParameter { json.string(text(parameter)) } else { json.null() }
            json.key("message")
            let message = failure?.message(for: profile).map(text)
            if let message { json.string(message) } else { json.null() }
            json.key("firefoxReason")
            if let reason = failure?.firefoxReason { json.string(reason) } else { json.null() }
            self.failure = json.bytes

            json = JSONWriter(capacity: 1024)
            json.key("notCorsReason")
            if let reason = verdict.notCORSReason { json.string(reason.rawValue) } else { json.null() }
            json.key("explanation"); json.string(text(verdict.explanation))
            json.key("fix")
            if let fix = verdict.fix { json.string(text(fix)) } else { json.null() }
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
            for note in verdict.notes { json.string(text(note)) }
            json.endArray()
            json.key("missingEvidence")
            json.beginArray()
            for missing in verdict.missingEvidence { json.string(text(missing)) }
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
                // The assumed mode's outcome is the verdict's own failure: its message is made.
                let outcomeMessage = outcome.failure == verdict.failure ? message : shown(outcome.failure)?.message(for: profile).map(text)
                if let outcomeMessage { json.string(outcomeMessage) } else { json.null() }
                json.endObject()
            }
            json.endArray()
            json.key("assumed")
            if let assumption = verdict.assumption {
                json.beginObject()
                json.key("credentials"); json.string(assumption.credentials == .included ? "include" : "omit")
                json.key("because"); json.string(assumption.because)
                json.endObject()
            } else {
                json.null()
            }
            account = json.bytes
        }
    }
}

/// The rendered JSON of the last few distinct verdicts, for one profile. Entries keep their
/// verdict alive, so a shared instance can never be confused with a later one.
public final class VerdictJSONCache {
    public let profile: BrowserProfile
    /// Scrubs the rendered texts; nil or disabled: as judged.
    public let redactor: Redactor?
    private var entries: [(verdict: CORSVerdict, rendered: VerdictJSON.Rendered)] = []
    private var next = 0
    private static let capacity = 32

    public init(profile: BrowserProfile, redactor: Redactor? = nil) {
        self.profile = profile
        self.redactor = redactor
    }

    func rendered(_ verdict: CORSVerdict) -> VerdictJSON.Rendered {
        for entry in entries where entry.verdict.isSameInstance(as: verdict) { return entry.rendered }
        let rendered = VerdictJSON.Rendered(verdict, profile: profile, redactor: redactor)
        if entries.count < Self.capacity {
            entries.append((verdict, rendered))
        } else {
            entries[next] = (verdict, rendered)
            next = (next + 1) % Self.capacity
        }
        return rendered
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

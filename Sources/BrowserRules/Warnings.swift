/// Passing-but-risky (or wasteful) observations.
public enum CORSWarning: Sendable, Hashable {
    /// ACAO echoed the request's `Origin` and ACAC is `true`. Harmless for an allow-listed origin;
    /// a vulnerability if the server does it for any origin (confirm with `ReflectionAnalysis`).
    case credentialedOriginReflection(origin: String)
    /// `Access-Control-Allow-Origin: null` was accepted: sandboxed iframes, `data:` documents and
    /// redirect-tainted requests from any site send `Origin: null`.
    case nullOriginAllowed
    /// ACAO names a specific origin but `Vary` does not list `Origin`: a shared cache can replay
    /// one origin's answer to another (the cache-poisoning input).
    case missingVaryOrigin(allowOrigin: String)
    /// `Access-Control-Max-Age` above what this browser honours; the cap applies silently.
    case maxAgeAboveCap(requested: Int, cap: Int)
    /// Firefox refuses to cache a malformed or zero `Access-Control-Max-Age`.
    case maxAgeNotCached(value: String)
    /// `Authorization` was allowed only via `Access-Control-Allow-Headers: *`. Fetch says `*`
    /// never covers it; Chromium prints a deprecation issue, Firefox a warning. It also never
    /// hits Chromium's preflight cache, so every request re-preflights.
    case authorizationCoveredOnlyByWildcard
    /// `Access-Control-Allow-Origin: *` together with `Access-Control-Allow-Credentials: true`:
    /// fails for every credentialed request.
    case wildcardWithCredentialsHeader
    /// The browser's reason text for the warning, when it prints one.
    public func consoleText(url: String, profile: BrowserProfile) -> String? {
        switch self {
        case .authorizationCoveredOnlyByWildcard where profile.warnsAboutAuthorizationWildcard:
            switch profile.engine {
            case .chromium:
                return "Authorization will not be covered by the wildcard symbol (*) in CORS `Access-Control-Allow-Headers` handling."
            case .firefox:
                return "Cross-Origin Request Warning: The Same Origin Policy will disallow reading the remote resource at \(ConsoleMessages.displayURL(url)) soon. (Reason: When the `Access-Control-Allow-Headers` is `*`, the `Authorization` header is not covered. To include the `Authorization` header, it must be explicitly listed in CORS header `Access-Control-Allow-Headers`)."
            case .safari:
                return nil
            }
        default:
            return nil
        }
    }

    public var summary: String {
        switch self {
        case let .credentialedOriginReflection(origin):
            return "The response allows origin \(origin) with credentials by echoing the request's Origin header; if the server echoes any origin, any website can read this user's data."
        case .nullOriginAllowed:
            return "Access-Control-Allow-Origin: null lets sandboxed iframes and data: documents from any site read the response."
        case let .missingVaryOrigin(allowOrigin):
            return "Access-Control-Allow-Origin is '\(allowOrigin)' (origin-specific) but Vary does not include Origin; a shared cache may serve this answer to other origins."
        case let .maxAgeAboveCap(requested, cap):
            return "Access-Control-Max-Age \(requested) exceeds this browser's cap of \(cap) seconds; the preflight is cached for \(cap) seconds at most."
        case let .maxAgeNotCached(value):
            return "Access-Control-Max-Age '\(value)' is not a positive integer; Firefox does not cache this preflight at all."
        case .authorizationCoveredOnlyByWildcard:
            return "Authorization is allowed only through Access-Control-Allow-Headers: *; the standard requires it to be listed explicitly, and browsers plan to enforce that."
        case .wildcardWithCredentialsHeader:
            return "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true never works for credentialed requests."
        }
    }
}

/// Cross-request evidence for arbitrary-origin reflection.
public enum ReflectionAnalysis {
    public struct Observation: Sendable, Hashable {
        public var requestOrigin: String
        public var allowOrigin: String?
        public var allowCredentials: String?

        public init(requestOrigin: String, allowOrigin: String?, allowCredentials: String?) {
            self.requestOrigin = requestOrigin
            self.allowOrigin = allowOrigin
            self.allowCredentials = allowCredentials
        }
    }

    /// The observation one captured exchange contributes (nil without an Origin or a response).
    public static func observation(of exchange: CORSExchange) -> Observation? {
        guard let origin = exchange.request.originHeader, let response = exchange.response else { return nil }
        return Observation(
            requestOrigin: origin,
            allowOrigin: response.headers.combinedValue(named: HeaderName.allowOrigin),
            allowCredentials: response.headers.combinedValue(named: HeaderName.allowCredentials))
    }

    /// Whether this single response copied the request's Origin verbatim into ACAO.
    public static func reflectsVerbatim(requestOrigin: String?, allowOrigin: String?) -> Bool {
        CORSCheck.reflectsOrigin(requestOrigin: requestOrigin, allowOrigin: allowOrigin)
    }

    /// The distinct origins one endpoint reflected with `Access-Control-Allow-Credentials: true`.
    /// Two or more unrelated origins (or `null`) is strong evidence of "reflect anything".
    public static func reflectedCredentialedOrigins(_ observations: [Observation]) -> [String] {
        var seen: [String] = []
        for observation in observations
        where reflectsVerbatim(requestOrigin: observation.requestOrigin, allowOrigin: observation.allowOrigin)
            && observation.allowCredentials?.trimmingHTTPWhitespace == "true"
            && !seen.contains(observation.requestOrigin) {
            seen.append(observation.requestOrigin)
        }
        return seen
    }

    public static func looksLikeArbitraryReflection(_ observations: [Observation]) -> Bool {
        let origins = reflectedCredentialedOrigins(observations)
        return origins.count >= 2 || origins.contains("null")
    }
}

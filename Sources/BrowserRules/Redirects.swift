/// Redirect rules for CORS requests (Fetch "HTTP-redirect fetch", Chromium `CorsURLLoader`).
public enum RedirectRules {
    /// Fetch redirect-taint (Chromium `CorsURLLoader::CheckTainted`): walking the URL list, a hop
    /// from `last` to `next` taints the request when `next` is cross-origin to `last` **and** the
    /// request's origin is cross-origin to `last`. A tainted request sends `Origin: null`, so ACAO
    /// must then be `*` (without credentials) or `null`.
    ///
    /// `urls` is the full list, initial URL first and the current URL last.
    public static func isTainted(initiator: Origin, urls: [String]) -> Bool {
        guard urls.count >= 2 else { return false }
        let origins = urls.map { Origin(url: $0) ?? .opaque }
        for index in 1..<origins.count {
            let last = origins[index - 1]
            let next = origins[index]
            if !next.isSameOrigin(as: last) && !initiator.isSameOrigin(as: last) {
                return true
            }
        }
        return false
    }

    /// Resolves a `Location` value against the URL that answered with it. Only absolute,
    /// scheme-relative and path-absolute forms matter for origin and credential checks.
    public static func resolve(location: String, against base: String) -> String {
        let trimmed = location.trimmingHTTPWhitespace
        if ParsedURL(trimmed) != nil { return trimmed }
        guard let baseURL = ParsedURL(base) else { return trimmed }
        if trimmed.hasPrefix("//") { return baseURL.scheme + ":" + trimmed }
        let authority = baseURL.origin == .opaque ? "" : baseURL.origin.serialized
        if trimmed.hasPrefix("/") { return authority + trimmed }
        // Relative path: replace the last path segment.
        let path = baseURL.pathQueryFragment.prefix { $0 != "?" && $0 != "#" }
        let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "/"
        return authority + directory + trimmed
    }

    /// Fetch HTTP-redirect fetch: a Location whose scheme is not HTTP(S) is a network error.
    /// Browsers report it as a network failure, not a CORS error, so no `CorsError` is produced.
    public static func isUnsafeRedirectTarget(_ location: String, requestURL: String) -> Bool {
        guard let target = ParsedURL(resolve(location: location, against: requestURL)) else { return false }
        return !target.isHTTPFamily
    }

    /// Chromium `CorsURLLoader::CheckRedirectLocation` / Fetch HTTP-redirect fetch step:
    /// a Location with a username or password fails a cross-origin CORS request
    /// (RedirectContainsCredentials). Empty userinfo (`http://@host/`) is allowed.
    /// Chromium builds this status without a failed_parameter, so the hint is empty.
    public static func checkLocation(
        _ location: String, requestURL: String, initiator: Origin, tainted: Bool, corsFlag: Bool
    ) -> CheckFailure? {
        let resolved = resolve(location: location, against: requestURL)
        guard let target = ParsedURL(resolved) else { return nil }
        if target.includesCredentials
            && (tainted || corsFlag || !initiator.isSameOrigin(as: target.origin)) {
            return CheckFailure(.redirectContainsCredentials)
        }
        // A Location with a non-HTTP(S) scheme is refused by the network stack
        // (net::ERR_UNSAFE_REDIRECT in Chromium), not by a CORS check: see `isUnsafeRedirectTarget`.
        return nil
    }
}

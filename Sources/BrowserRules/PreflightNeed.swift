/// Why (or whether) a cross-origin CORS request needs a preflight.
public struct PreflightRequirement: Sendable, Hashable {
    /// The method, when it is not CORS-safelisted.
    public var unsafeMethod: String?
    /// CORS-unsafe, non-forbidden header names (lower-case, request order) that a script set.
    public var unsafeHeaderNames: [String]
    /// Unsafe names that the browser itself may have added (HTTP-auth `Authorization`, DevTools
    /// "Disable cache" `Cache-Control`/`Pragma`, revalidation `If-*`): a capture cannot tell.
    public var possiblyBrowserAddedHeaderNames: [String]

    public var isRequired: Bool { unsafeMethod != nil || !unsafeHeaderNames.isEmpty }

    /// True when the answer flips depending on who added the ambiguous headers.
    public var isUncertain: Bool { !isRequired && !possiblyBrowserAddedHeaderNames.isEmpty }

    /// `Access-Control-Request-Headers` the browser would send for the certain part.
    public var requestHeadersValue: String? { HeaderRules.accessControlRequestHeadersValue(for: unsafeHeaderNames) }
}

public enum PreflightRules {
    /// Headers only the network stack adds after the CORS decision (HTTP/2 `Priority`,
    /// Chrome's `X-Client-Data` to Google hosts, Firefox's `Alt-Used`); they never count.
    /// `User-Agent` is forbidden only in Chromium, but every browser adds it itself, so on the
    /// wire it is taken as browser-added (a script-set one in Firefox/Safari would be missed).
    static let networkStackHeaders: Set<String> = ["priority", "x-client-data", "alt-used", "user-agent"]

    static let revalidationHeaders: Set<String> = ["if-modified-since", "if-none-match", "cache-control"]

    /// Headers a browser may add itself but a script may also set.
    static let ambiguousHeaders: Set<String> = [
        "authorization", "cache-control", "pragma", "if-none-match", "if-modified-since", "if-range",
    ]

    /// Fetch main fetch step "CORS-preflight fetch" condition (Chromium `NeedsPreflight`):
    /// method not safelisted, or any CORS-unsafe non-forbidden request header.
    ///
    /// The request's headers are taken as on the wire. Forbidden names (Cookie, Origin, Host,
    /// `Sec-*`, …) and network-stack additions are ignored; possibly browser-added ones are
    /// reported separately instead of deciding. A forced preflight (XHR upload listeners,
    /// streaming body) cannot be seen from the request; an observed OPTIONS is the evidence.
    public static func needsPreflight(_ request: CORSRequest, profile: BrowserProfile = .chromium) -> PreflightRequirement {
        let method = MethodRules.normalize(request.method)
        let unsafeMethod: String? = MethodRules.isSafelisted(method) ? nil : method

        // Only headers the page authored count: HTTP/2 and HTTP/3 pseudo-headers (`:authority` …)
        // come from the framing layer, network-stack additions never count, and Chromium ignores
        // the cache's own validators on a revalidation (cors_util.cc).
        var skipping: HeaderRules.Traits = .networkStack
        if request.isRevalidation { skipping.insert(.revalidation) }
        let names = HeaderRules.corsUnsafeNames(in: request.headers, profile: profile, excludingForbidden: true,
                                                skipping: skipping, skipPseudo: true)
        var certain: [String] = []
        var ambiguous: [String] = []
        for name in names {
            if HeaderRules.traits[name]?.contains(.ambiguous) == true {
                ambiguous.append(name)
            } else {
                certain.append(name)
            }
        }
        return PreflightRequirement(
            unsafeMethod: unsafeMethod,
            unsafeHeaderNames: certain,
            possiblyBrowserAddedHeaderNames: ambiguous
        )
    }

    /// Same question asked of script-level inputs (method + author headers, no wire additions),
    /// as in the Chromium unit tests and WPT. Every unsafe name counts.
    public static func needsPreflight(method: String, authorHeaders: HTTPHeaders, profile: BrowserProfile = .chromium) -> Bool {
        let normalized = MethodRules.normalize(method)
        return !MethodRules.isSafelisted(normalized)
            || !HeaderRules.corsUnsafeNames(in: authorHeaders, profile: profile).isEmpty
    }
}

/// Convenience free function matching the engine's vocabulary.
public func needsPreflight(_ request: CORSRequest, profile: BrowserProfile = .chromium) -> PreflightRequirement {
    PreflightRules.needsPreflight(request, profile: profile)
}

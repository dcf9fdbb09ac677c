/// Plain-language explanation and a concrete fix for each failure.
enum Explanations {
    static func explain(_ failure: CORSFailure) -> (explanation: String, fix: String) {
        let origin = failure.details.initiatorOrigin
        let value = failure.failedParameter
        let onPreflight = failure.error.isPreflightError ? "The preflight (OPTIONS) response" : "The response"
        switch failure.error {
        case .disallowedByMode:
            return ("The page asked for mode 'same-origin' but the URL is on another origin, so the browser refused before sending anything.",
                    "Request a same-origin URL, or use mode 'cors' and have the server allow \(origin).")
        case .invalidResponse:
            return ("The preflight got no usable HTTP response (connection reset or empty reply); the page sees a network error.",
                    "Make the server (or proxy) answer OPTIONS for this URL with a 2xx response and CORS headers.")
        case .wildcardOriginNotAllowed, .preflightWildcardOriginNotAllowed:
            return ("\(onPreflight) allows any origin with '*', but the request carries credentials (cookies or HTTP auth), and '*' never works with credentials.",
                    "Send 'Access-Control-Allow-Origin: \(origin)' (the exact requesting origin), 'Access-Control-Allow-Credentials: true' and 'Vary: Origin'; or make the request without credentials.")
        case .missingAllowOriginHeader, .preflightMissingAllowOriginHeader:
            let consequence = failure.error.isPreflightError
                ? "so the browser never sends the actual request" : "so the browser withholds it from \(origin)"
            return ("\(onPreflight) has no Access-Control-Allow-Origin header, \(consequence).",
                    "Add 'Access-Control-Allow-Origin: \(origin)' (plus 'Vary: Origin') to \(failure.error.isPreflightError ? "the OPTIONS response" : "this response, including error responses"), or '*' if no credentials are involved.")
        case .multipleAllowOriginValues, .preflightMultipleAllowOriginValues:
            return ("\(onPreflight) has Access-Control-Allow-Origin '\(value)': several values (often two layers, e.g. a proxy and the app, both adding the header). Only one origin is allowed.",
                    "Emit the header exactly once, with the single value '\(origin)'; remove it from either the proxy or the application.")
        case .invalidAllowOriginValue, .preflightInvalidAllowOriginValue:
            return ("\(onPreflight) has Access-Control-Allow-Origin '\(value)', which is not an origin (it needs a scheme, like 'https://host').",
                    "Send the full origin, e.g. 'Access-Control-Allow-Origin: \(origin)'.")
        case .allowOriginMismatch, .preflightAllowOriginMismatch:
            return ("\(onPreflight) allows origin '\(value)', but the request came from '\(failure.details.initiatorOrigin)'. The comparison is exact: scheme, host, port, no trailing slash, case-sensitive.",
                    "Return 'Access-Control-Allow-Origin: \(origin)' for this origin (look it up in an allow-list, don't hard-code another one), and add 'Vary: Origin'.")
        case .invalidAllowCredentials, .preflightInvalidAllowCredentials:
            return ("The request carries credentials, so \(onPreflight.lowercased()) must also say 'Access-Control-Allow-Credentials: true' (exactly, lower-case); it says '\(value)'.",
                    "Add 'Access-Control-Allow-Credentials: true', or send the request without credentials.")
        case .corsDisabledScheme:
            return ("Cross-origin requests only work for http(s) URLs; this one (or its redirect target) uses another scheme.",
                    "Serve the resource over https (and don't redirect CORS requests to other schemes).")
        case .preflightInvalidStatus:
            return ("The preflight (OPTIONS) request was answered with status \(failure.details.status.map(String.init) ?? "?"), not 2xx. Often the route or an auth layer rejects OPTIONS.",
                    "Answer OPTIONS for this URL with 204 (or 200) before authentication/routing rejects it, with the CORS headers.")
        case .preflightDisallowedRedirect:
            return ("The preflight (OPTIONS) request was redirected; browsers never follow redirects for preflights (common causes: http→https, a missing trailing slash, a login redirect).",
                    "Call the final URL directly, or make the server answer OPTIONS at this URL without redirecting.")
        case .invalidAllowMethodsPreflightResponse:
            return ("Access-Control-Allow-Methods in the preflight response cannot be parsed: '\(failure.details.invalidToken ?? "")' is not a method token.",
                    "Send a comma-separated list of methods, e.g. 'Access-Control-Allow-Methods: GET, POST, PUT, DELETE'.")
        case .invalidAllowHeadersPreflightResponse:
            return ("Access-Control-Allow-Headers in the preflight response cannot be parsed: '\(failure.details.invalidToken ?? "")' is not a header-name token.",
                    "Send a comma-separated list of header names, e.g. 'Access-Control-Allow-Headers: Content-Type, Authorization'.")
        case .methodDisallowedByPreflightResponse:
            return ("The preflight response does not list method \(value) in Access-Control-Allow-Methods (the comparison is case-sensitive, and '*' does not count when credentials are included).",
                    "Add \(value) to Access-Control-Allow-Methods, spelled exactly as the request sends it.")
        case .headerDisallowedByPreflightResponse:
            return ("The request sets header '\(value)', which the preflight response does not list in Access-Control-Allow-Headers ('*' does not count when credentials are included).",
                    "Add '\(value)' to Access-Control-Allow-Headers, or stop sending that header.")
        case .redirectContainsCredentials:
            return ("A redirect points to a URL with a username/password in it, which cross-origin requests may not follow.",
                    "Redirect to a URL without 'user:password@'; authenticate with headers or cookies instead.")
        case .insecureLocalNetwork:
            return ("A page that is not a secure context tried to reach a more private network (local/loopback); Local Network Access blocks that.",
                    "Serve the page over https so the browser can ask for the Local Network Access permission.")
        case .invalidLocalNetworkAccess:
            return ("The page declared a targetAddressSpace that does not match where the server actually is.",
                    "Set targetAddressSpace to the server's real address space, or drop it.")
        case .localNetworkAccessPermissionDenied:
            return ("The request targets a local/loopback address and the Local Network Access permission was not granted.",
                    "Have the user grant the local-network permission (or use an enterprise policy), or move the service to a public address.")
        }
    }
}

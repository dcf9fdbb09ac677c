import BrowserRules

/// What each SARIF rule means and how to fix it, for `reportingDescriptor.fullDescription`,
/// `help` and `helpUri`: the rule-level (origin-free) form of the texts the reports print per
/// finding — the rule engine's explanation and fix for each CORS error, `CORSWarning.summary`, the
/// cache-poisoning evidence and `Vary: Origin` fix, the WebSocket finding's fix.
///
/// `helpUri` is given only where a page about exactly that failure exists: MDN's CORS error pages
/// (the page Firefox's console links for the failure: `CORSFailure.firefoxReason`), MDN's header
/// and Local Network Access pages, the Fetch standard, RFC 6455, PortSwigger's CORS page.
struct SARIFRuleHelp {
    /// `shortDescription`: one line.
    var title: String
    /// `fullDescription`: what the rule finds.
    var meaning: String
    var fix: String
    var helpURI: String?
    /// `properties.tags`.
    var tags: [String]
    /// `properties."security-severity"`, only with the `security` tag (GitHub reads it only there).
    var securitySeverity: String?
    /// Names the same failure has elsewhere (DevTools, Firefox's console), for the help's first line.
    var aliases: [String] = []
    /// Configuration to paste, shown in the Markdown help.
    var snippet: ConfigSnippet? = nil

    var helpText: String {
        var text = meaning + "\n\nFix: " + fix
        if !aliases.isEmpty { text += "\n\nAlso known as: " + aliases.joined(separator: ", ") + "." }
        if let snippet { text += "\n\n" + snippet.code }
        if let helpURI { text += "\n\nMore: " + helpURI }
        return text
    }

    var helpMarkdown: String {
        var text = "**" + Self.markdown(title) + "**"
        if !aliases.isEmpty { text += " (" + aliases.map { "`" + $0 + "`" }.joined(separator: ", ") + ")" }
        text += "\n\n" + Self.markdown(meaning) + "\n\n**Fix:** " + Self.markdown(fix)
        if let snippet { text += "\n\n```" + snippet.language + "\n" + snippet.code + "\n```" }
        if let helpURI { text += "\n\nMore: <" + helpURI + ">" }
        return text
    }

    /// `<` and `>` outside code spans as entities: renderers would take `<the page's origin>`
    /// for an HTML tag and drop it.
    static func markdown(_ text: String) -> String {
        var out = ""
        var inCode = false
        for character in text {
            switch character {
            case "`": inCode.toggle(); out.append(character)
            case "<" where !inCode: out += "&lt;"
            case ">" where !inCode: out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }

    // MARK: security-severity
    //
    // GitHub code scanning turns `security-severity` (a CVSS-like score, 0.0-10.0, as a string)
    // into its severity bands: critical ≥ 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9. The
    // scores below sit inside the band each finding's severity names, at points the CVSS 3.1
    // calculator also reaches, so dashboards sort them with other scanners' findings:
    // - high, 8.1: observed cache poisoning. A shared cache already served one origin's CORS
    //   answer (or an answer without CORS headers) to another origin: every user behind that
    //   cache is affected until the entry expires, and whoever sends the priming request (any
    //   site, any `<img>`) can keep it that way. Network, no privileges, no user action.
    // - medium, 5.3: a latent cache-poisoning configuration (an origin-specific answer that a
    //   cache may store without `Vary: Origin`), and the two warnings that let other sites read
    //   responses if the server does it for every origin (credentialed Origin reflection, `null`
    //   allowed): one capture shows the pattern, not whether every origin gets it.
    // - low, 3.1: an origin-specific answer without `Vary: Origin` that nothing marks as
    //   cacheable: harmful only behind a cache configured to store it anyway.
    static let highSeverity = "8.1"
    static let mediumSeverity = "5.3"
    static let lowSeverity = "3.1"

    static func securitySeverity(_ severity: CacheFinding.Severity) -> String {
        switch severity {
        case .high: return highSeverity
        case .medium: return mediumSeverity
        case .low: return lowSeverity
        }
    }

    // MARK: CORS errors

    private static let mdnCORSErrors = "https://developer.mozilla.org/docs/Web/HTTP/Guides/CORS/Errors/"

    /// Firefox's reason key for `error` (the name of the MDN page its console links), nil when
    /// Firefox reports no CORS reason for it. Several values in one line and several lines are
    /// different reasons in Firefox; the SARIF rule is about several values, so: several lines.
    static func firefoxReason(for error: CorsError) -> String? {
        let multiple = error == .multipleAllowOriginValues || error == .preflightMultipleAllowOriginValues
        let failure = CORSFailure(error: error, stage: error.concernsPreflight ? .preflight : .response,
                                  details: FailureDetails(url: "https://api.example/", initiatorOrigin: "https://app.example",
                                                          allowOriginLineCount: multiple ? 2 : 1))
        return failure.firefoxReason
    }

    static func cors(_ error: CorsError) -> SARIFRuleHelp {
        let (title, meaning, fix) = corsTexts(error)
        let firefox = firefoxReason(for: error)
        var uri = firefox.map { mdnCORSErrors + $0 }
        switch error {
        case .disallowedByMode:
            uri = "https://developer.mozilla.org/docs/Web/API/Request/mode"
        case .redirectContainsCredentials:
            // Firefox reports only "CORS request did not succeed"; the Fetch standard's redirect
            // steps name the rule itself.
            uri = "https://fetch.spec.whatwg.org/#http-redirect-fetch"
        case .insecureLocalNetwork, .invalidLocalNetworkAccess, .localNetworkAccessPermissionDenied:
            uri = "https://developer.mozilla.org/docs/Web/Security/Defenses/Local_network_access"
        default:
            break
        }
        var aliases = ["DevTools: " + error.cdpName]
        if let firefox { aliases.append("Firefox: " + firefox) }
        var tags = ["cors", "correctness"]
        if error.concernsPreflight { tags.append("preflight") }
        return SARIFRuleHelp(title: title, meaning: meaning, fix: fix, helpURI: uri, tags: tags, securitySeverity: nil,
                             aliases: aliases)
    }

    /// Origin-free versions of the rule engine's explanation and fix for each error (the
    /// per-finding texts, with the origin and values, are in each result's message).
    private static func corsTexts(_ error: CorsError) -> (String, String, String) {
        let response = error.isPreflightError ? "The preflight (OPTIONS) response" : "The response"
        switch error {
        case .disallowedByMode:
            return ("Cross-origin request made with mode 'same-origin'",
                    "The page asked for mode 'same-origin' but the URL is on another origin, so the browser refused before sending anything.",
                    "Request a same-origin URL, or use mode 'cors' and have the server allow the page's origin.")
        case .invalidResponse:
            return ("Preflight got no usable HTTP response",
                    "The preflight got no usable HTTP response (connection reset or empty reply); the page sees a network error.",
                    "Make the server (or proxy) answer OPTIONS for this URL with a 2xx response and CORS headers.")
        case .wildcardOriginNotAllowed, .preflightWildcardOriginNotAllowed:
            return ("\(response) allows '*' for a request with credentials",
                    "\(response) allows any origin with '*', but the request carries credentials (cookies or HTTP auth), and '*' never works with credentials.",
                    "Send 'Access-Control-Allow-Origin: <the page's origin>' (the exact requesting origin), 'Access-Control-Allow-Credentials: true' and 'Vary: Origin'; or make the request without credentials.")
        case .missingAllowOriginHeader:
            return ("Response without Access-Control-Allow-Origin",
                    "The response has no Access-Control-Allow-Origin header, so the browser withholds it from the page.",
                    "Add 'Access-Control-Allow-Origin: <the page's origin>' (plus 'Vary: Origin') to this response, including error responses, or '*' if no credentials are involved.")
        case .preflightMissingAllowOriginHeader:
            return ("Preflight response without Access-Control-Allow-Origin",
                    "The preflight (OPTIONS) response has no Access-Control-Allow-Origin header, so the browser never sends the actual request.",
                    "Add 'Access-Control-Allow-Origin: <the page's origin>' (plus 'Vary: Origin') to the OPTIONS response, or '*' if no credentials are involved.")
        case .multipleAllowOriginValues, .preflightMultipleAllowOriginValues:
            return ("\(response) has several Access-Control-Allow-Origin values",
                    "\(response) has several Access-Control-Allow-Origin values (often two layers, e.g. a proxy and the app, both adding the header). Only one origin is allowed.",
                    "Emit the header exactly once, with the single value of the page's origin; remove it from either the proxy or the application.")
        case .invalidAllowOriginValue, .preflightInvalidAllowOriginValue:
            return ("\(response) has an Access-Control-Allow-Origin value that is not an origin",
                    "\(response) has an Access-Control-Allow-Origin value that is not an origin (it needs a scheme, like 'https://host').",
                    "Send the full origin, e.g. 'Access-Control-Allow-Origin: https://app.example'.")
        case .allowOriginMismatch, .preflightAllowOriginMismatch:
            return ("\(response) allows another origin",
                    "\(response) allows another origin than the one the request came from. The comparison is exact: scheme, host, port, no trailing slash, case-sensitive.",
                    "Return the page's origin in Access-Control-Allow-Origin (look it up in an allow-list, don't hard-code another one), and add 'Vary: Origin'.")
        case .invalidAllowCredentials, .preflightInvalidAllowCredentials:
            let lower = error.isPreflightError ? "the preflight (OPTIONS) response" : "the response"
            return ("Credentialed request without Access-Control-Allow-Credentials: true",
                    "The request carries credentials, so \(lower) must also say 'Access-Control-Allow-Credentials: true' (exactly, lower-case); it says something else or nothing.",
                    "Add 'Access-Control-Allow-Credentials: true', or send the request without credentials.")
        case .corsDisabledScheme:
            return ("Cross-origin request to a scheme other than http(s)",
                    "Cross-origin requests only work for http(s) URLs; this one (or its redirect target) uses another scheme.",
                    "Serve the resource over https (and don't redirect CORS requests to other schemes).")
        case .preflightInvalidStatus:
            return ("Preflight answered with a status outside 2xx",
                    "The preflight (OPTIONS) request was answered with a status outside 2xx. Often the route or an auth layer rejects OPTIONS.",
                    "Answer OPTIONS for this URL with 204 (or 200) before authentication/routing rejects it, with the CORS headers.")
        case .preflightDisallowedRedirect:
            return ("Preflight redirected",
                    "The preflight (OPTIONS) request was redirected; browsers never follow redirects for preflights (common causes: http→https, a missing trailing slash, a login redirect).",
                    "Call the final URL directly, or make the server answer OPTIONS at this URL without redirecting.")
        case .invalidAllowMethodsPreflightResponse:
            return ("Access-Control-Allow-Methods cannot be parsed",
                    "Access-Control-Allow-Methods in the preflight response cannot be parsed: an element is not a method token.",
                    "Send a comma-separated list of methods, e.g. 'Access-Control-Allow-Methods: GET, POST, PUT, DELETE'.")
        case .invalidAllowHeadersPreflightResponse:
            return ("Access-Control-Allow-Headers cannot be parsed",
                    "Access-Control-Allow-Headers in the preflight response cannot be parsed: an element is not a header-name token.",
                    "Send a comma-separated list of header names, e.g. 'Access-Control-Allow-Headers: Content-Type, Authorization'.")
        case .methodDisallowedByPreflightResponse:
            return ("Method not allowed by the preflight response",
                    "The preflight response does not list the request's method in Access-Control-Allow-Methods (the comparison is case-sensitive, and '*' does not count when credentials are included).",
                    "Add the method to Access-Control-Allow-Methods, spelled exactly as the request sends it.")
        case .headerDisallowedByPreflightResponse:
            return ("Request header not allowed by the preflight response",
                    "The request sets a header that the preflight response does not list in Access-Control-Allow-Headers ('*' does not count when credentials are included).",
                    "Add the header to Access-Control-Allow-Headers, or stop sending it.")
        case .redirectContainsCredentials:
            return ("Redirect to a URL with credentials",
                    "A redirect points to a URL with a username/password in it, which cross-origin requests may not follow.",
                    "Redirect to a URL without 'user:password@'; authenticate with headers or cookies instead.")
        case .insecureLocalNetwork:
            return ("Local network request from a page that is not a secure context",
                    "A page that is not a secure context tried to reach a more private network (local/loopback); Local Network Access blocks that.",
                    "Serve the page over https so the browser can ask for the Local Network Access permission.")
        case .invalidLocalNetworkAccess:
            return ("targetAddressSpace does not match the server's address space",
                    "The page declared a targetAddressSpace that does not match where the server actually is.",
                    "Set targetAddressSpace to the server's real address space, or drop it.")
        case .localNetworkAccessPermissionDenied:
            return ("Local Network Access permission not granted",
                    "The request targets a local/loopback address and the Local Network Access permission was not granted.",
                    "Have the user grant the local-network permission (or use an enterprise policy), or move the service to a public address.")
        }
    }

    // MARK: Verdict warnings

    /// The warning codes (`CORSWarning.code`), in the order the rules are listed.
    static let warningCodes = [
        "credentialed-origin-reflection", "null-origin-allowed", "missing-vary-origin", "max-age-above-cap",
        "max-age-not-cached", "authorization-covered-only-by-wildcard", "wildcard-with-credentials",
    ]

    private static let mdnHeaders = "https://developer.mozilla.org/docs/Web/HTTP/Reference/Headers/"
    private static let fetchCaches = "https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches"

    static func warning(_ code: String) -> SARIFRuleHelp {
        switch code {
        case "credentialed-origin-reflection":
            return SARIFRuleHelp(
                title: "Access-Control-Allow-Origin echoes the request's Origin with credentials allowed",
                meaning: "The response allows the request's origin with credentials by echoing its Origin header. Harmless for an origin on an allow-list; if the server echoes any origin, any website can read this user's data.",
                fix: "Echo the Origin only when it is on an explicit allow-list of trusted origins (exact match, no suffix or regex shortcuts), send 'Vary: Origin', and never allow credentials for arbitrary origins.",
                helpURI: "https://portswigger.net/web-security/cors", tags: ["cors", "security"], securitySeverity: mediumSeverity)
        case "null-origin-allowed":
            return SARIFRuleHelp(
                title: "Access-Control-Allow-Origin: null is accepted",
                meaning: "Access-Control-Allow-Origin: null lets sandboxed iframes and data: documents from any site read the response.",
                fix: "Never allow the origin 'null'; list the real origins that may read the response.",
                helpURI: "https://portswigger.net/web-security/cors", tags: ["cors", "security"], securitySeverity: mediumSeverity)
        case "missing-vary-origin":
            return SARIFRuleHelp(
                title: "Origin-specific Access-Control-Allow-Origin without Vary: Origin",
                meaning: "Access-Control-Allow-Origin names one origin but Vary does not include Origin; a shared cache may serve this answer to other origins.",
                fix: "Send 'Vary: Origin' on every answer whose CORS headers depend on Origin (also on answers without them).",
                helpURI: fetchCaches, tags: ["cors", "security", "cache"], securitySeverity: lowSeverity)
        case "max-age-above-cap":
            return SARIFRuleHelp(
                title: "Access-Control-Max-Age above the browser's cap",
                meaning: "Access-Control-Max-Age exceeds what this browser honours (Chromium 7200 seconds, Firefox 86400); the preflight is cached for the cap at most.",
                fix: "Lower Access-Control-Max-Age to the browsers' cap so the configuration says what happens.",
                helpURI: mdnHeaders + "Access-Control-Max-Age", tags: ["cors", "performance"], securitySeverity: nil)
        case "max-age-not-cached":
            return SARIFRuleHelp(
                title: "Access-Control-Max-Age that Firefox does not cache",
                meaning: "Access-Control-Max-Age is not a positive integer; Firefox does not cache this preflight at all.",
                fix: "Send a positive whole number of seconds, e.g. 'Access-Control-Max-Age: 600'.",
                helpURI: mdnHeaders + "Access-Control-Max-Age", tags: ["cors", "performance"], securitySeverity: nil)
        case "authorization-covered-only-by-wildcard":
            return SARIFRuleHelp(
                title: "Authorization allowed only through Access-Control-Allow-Headers: *",
                meaning: "Authorization is allowed only through Access-Control-Allow-Headers: *; the standard requires it to be listed explicitly, browsers plan to enforce that, and Chromium re-sends the preflight every time.",
                fix: "List Authorization explicitly: 'Access-Control-Allow-Headers: Authorization, …'.",
                helpURI: mdnHeaders + "Access-Control-Allow-Headers", tags: ["cors", "correctness"], securitySeverity: nil)
        case "wildcard-with-credentials":
            return SARIFRuleHelp(
                title: "Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true",
                meaning: "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true never works for credentialed requests.",
                fix: "For credentialed requests send the exact origin (from an allow-list) with 'Vary: Origin'; otherwise drop Access-Control-Allow-Credentials.",
                helpURI: mdnCORSErrors + "CORSNotSupportingCredentials", tags: ["cors", "correctness"], securitySeverity: nil)
        default:
            return SARIFRuleHelp(title: code, meaning: code, fix: "See the result's message.", helpURI: nil,
                                 tags: ["cors"], securitySeverity: nil)
        }
    }

    // MARK: Cache poisoning

    static func cache(_ kind: CacheFinding.Kind) -> SARIFRuleHelp {
        let meaning: String
        switch kind {
        case .cachedAllowOriginForOtherOrigin:
            meaning = "Observed: a cache answered a CORS request with an Access-Control-Allow-Origin that names another origin. The browser blocks the answer for this origin, and every user behind the cache gets it until the entry expires."
        case .cachedAnswerWithoutAllowOrigin:
            meaning = "Observed: a cache answered a CORS request without Access-Control-Allow-Origin for a URL that carried it before: the stored answer was made for a request without (or with another) Origin."
        case .cachedAnswerToRequestWithoutOrigin:
            meaning = "Observed: a shared cache stored the answer to a request without Origin (a no-cors load such as an image or a navigation, so without CORS headers) and served it to a CORS request, which the browser then blocked. Any page can prime the cache this way."
        case .cacheableAllowOriginWithoutVary:
            meaning = "An answer a shared cache may store carries an origin-specific Access-Control-Allow-Origin, and Vary does not list Origin: the cache can replay one origin's answer to another."
        case .allowOriginWithoutVary:
            meaning = "An answer carries an origin-specific Access-Control-Allow-Origin without Vary: Origin. It is not marked cacheable, but a cache configured to store it would replay it to other origins."
        case .allowOriginOnlyWithOrigin:
            meaning = "The same URL answers without Access-Control-Allow-Origin when no Origin is sent and with it when one is, without Vary: Origin: a cached copy of the first breaks CORS for everybody."
        case .allowOriginDiffersAcrossOrigins:
            meaning = "The URL answered different Access-Control-Allow-Origin values to different origins without Vary: Origin: a cache keeps one of them for all."
        }
        return SARIFRuleHelp(
            title: kind.title, meaning: meaning,
            fix: "Send `Vary: Origin` on every answer whose CORS headers depend on Origin (also on answers without them), or make the cache key include Origin.",
            helpURI: fetchCaches, tags: ["cors", "security", "cache"], securitySeverity: securitySeverity(kind.severity),
            snippet: Fixes.cdnCacheKey(cdn: nil))
    }

    // MARK: WebSocket

    static let websocket = SARIFRuleHelp(
        title: "The server refused a WebSocket handshake for the page's origin",
        meaning: "The browser asked to open a WebSocket with the page's Origin and the server answered with an error status instead of 101 Switching Protocols, so the page saw only an error and a close (1006). CORS headers play no part in WebSocket handshakes: the server's own origin check refused it.",
        fix: "Add the origin to the WebSocket server's allowed origins (Socket.IO `cors.origin`, SignalR's CORS policy `WithOrigins`, `ws` `verifyClient`, Spring `setAllowedOrigins`); Access-Control-* headers cannot fix a refused handshake. If a proxy answered, check it forwards `Upgrade`/`Connection` and does not filter on Origin.",
        helpURI: "https://www.rfc-editor.org/rfc/rfc6455#section-10.2", tags: ["websocket", "correctness"], securitySeverity: nil)
}

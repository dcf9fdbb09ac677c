/// Firefox's own name for a CORS failure.
///
/// Sources (mozilla/gecko-dev):
/// - FF: `netwerk/protocol/http/nsCORSListenerProxy.cpp` @ 258754e5 — `LogBlockedRequest(…, "<key>", …)`
///   formats the console text from `dom/locales/en-US/chrome/security/security.properties` and
///   passes the same key as the console message's category ("we are passing aProperty as the
///   category so we can link to the appropriate MDN docs").
/// - FF-DOCS: `devtools/server/actors/errordocs.js` @ 5a64bd7d — `CorsErrorDocs` maps that category
///   to the MDN page the web console links ("Learn more"), under
///   `developer.mozilla.org/docs/Web/HTTP/Guides/CORS/Errors/<name>`. The MDN name drops the
///   version digit the properties key carries (`CORSMissingAllowOrigin2` → `CORSMissingAllowOrigin`).
///
/// `firefoxReason` is the MDN/console-link name; `firefoxConsoleCategory` the properties key as
/// it appears in the console message's `category`.
extension CORSFailure {
    /// Firefox's reason key (the MDN "CORS errors" page the console links), or nil when Firefox
    /// reports no CORS reason for this failure (a plain network error, or no such check).
    ///
    /// Kept consistent with `ConsoleMessages.firefox` (same cases, same line-count rule; a refused
    /// userinfo redirect is "CORSDidNotSucceed2", as recorded Firefox logs it).
    public var firefoxReason: String? {
        firefoxConsoleCategory.map(FirefoxReason.reason(forConsoleCategory:))
    }

    /// The `security.properties` key Firefox logs (and uses as the console message category),
    /// e.g. `CORSMissingAllowOrigin2`; nil when Firefox logs no CORS message.
    public var firefoxConsoleCategory: String? {
        switch error {
        case .missingAllowOriginHeader, .preflightMissingAllowOriginHeader:
            // FF `CheckRequestApproved`: `GetResponseHeader("Access-Control-Allow-Origin")` fails →
            // "CORSMissingAllowOrigin2" (status code as parameter). The preflight channel runs the
            // same listener, so the OPTIONS response gets the same key.
            return "CORSMissingAllowOrigin2"
        case .multipleAllowOriginValues, .preflightMultipleAllowOriginValues,
             .invalidAllowOriginValue, .preflightInvalidAllowOriginValue,
             .allowOriginMismatch, .preflightAllowOriginMismatch:
            // FF `CheckOriginHeader` counts `Access-Control-Allow-Origin` header lines first; more
            // than one → "CORSMultipleAllowOriginNotAllowed". One line whose value differs from the
            // serialized origin (a comma/space list, an invalid value, a wrong origin, `null`) →
            // "CORSAllowOriginNotMatchingOrigin" (value as parameter). Firefox has no separate
            // "invalid value" or "multiple values in one line" reason.
            return details.allowOriginLineCount > 1
                ? "CORSMultipleAllowOriginNotAllowed" : "CORSAllowOriginNotMatchingOrigin"
        case .wildcardOriginNotAllowed, .preflightWildcardOriginNotAllowed:
            // FF: `mWithCredentials && allowedOriginHeader == "*"` → "CORSNotSupportingCredentials".
            return "CORSNotSupportingCredentials"
        case .invalidAllowCredentials, .preflightInvalidAllowCredentials:
            // FF: with credentials, `Access-Control-Allow-Credentials` ≠ "true" → "CORSMissingAllowCredentials".
            return "CORSMissingAllowCredentials"
        case .preflightInvalidStatus:
            // FF `nsCORSPreflightListener::CheckPreflightRequestApproved`: `GetRequestSucceeded`
            // false (status outside 2xx) → "CORSPreflightDidNotSucceed3" (status as parameter).
            return "CORSPreflightDidNotSucceed3"
        case .preflightDisallowedRedirect:
            // FF `nsCORSPreflightListener::AsyncOnChannelRedirect`: any redirect that is neither
            // internal same-URI nor an HSTS upgrade → "CORSExternalRedirectNotAllowed" (recorded:
            // preflight-redirect-login). The preflight channel's own nsCORSListenerProxy sees the
            // redirect first and runs the ACAO/ACAC check on the 3xx: a 3xx without ACAO is
            // reported as "CORSMissingAllowOrigin2" instead (recorded with a probe: OPTIONS → 302
            // without ACAO); that ordering belongs to the rule engine's Firefox profile.
            return "CORSExternalRedirectNotAllowed"
        case .invalidAllowMethodsPreflightResponse:
            // FF: an `Access-Control-Allow-Methods` element failing `NS_IsValidHTTPToken` →
            // "CORSInvalidAllowMethod" (token as parameter).
            return "CORSInvalidAllowMethod"
        case .invalidAllowHeadersPreflightResponse:
            // FF: same for `Access-Control-Allow-Headers` → "CORSInvalidAllowHeader".
            return "CORSInvalidAllowHeader"
        case .methodDisallowedByPreflightResponse:
            // FF: method not GET/HEAD/POST, not listed, and not covered by `*` → "CORSMethodNotFound".
            return "CORSMethodNotFound"
        case .headerDisallowedByPreflightResponse:
            // FF: an unsafe request header missing from ACAH (case-insensitive) →
            // "CORSMissingAllowHeaderFromPreflight2" (lower-cased name as parameter).
            return "CORSMissingAllowHeaderFromPreflight2"
        case .corsDisabledScheme:
            // FF `CheckRequestApproved` / `CheckPreflightNeeded`: the channel is not an HTTP
            // channel → "CORSRequestNotHttp" (probe: fetch("ftp://…") logs it).
            return "CORSRequestNotHttp"
        case .invalidResponse:
            // FF `CheckRequestApproved`: the request's status is a failure (reset, refused, empty
            // reply) → "CORSDidNotSucceed2" (the preflight channel carries the same listener).
            return "CORSDidNotSucceed2"
        case .redirectContainsCredentials:
            // FF `UpdateChannel` refuses a redirect target with user:pass (NS_ENSURE_TRUE, no log
            // of its own); the failed channel then reaches `CheckRequestApproved` with a failure
            // status → "CORSDidNotSucceed2" ("Status code: (null)"). Recorded: Firefox 153 ESR,
            // scenario redirect-userinfo (Captures/firefox/firefox-cors.results.json).
            return "CORSDidNotSucceed2"
        case .disallowedByMode:
            // mode "same-origin" to another origin fails the same-origin security check before
            // nsCORSListenerProxy is involved: no CORS reason.
            return nil
        case .insecureLocalNetwork, .invalidLocalNetworkAccess, .localNetworkAccessPermissionDenied:
            // Chromium's Local Network Access: no counterpart among Firefox's CORS reasons.
            return nil
        }
    }
}

/// Firefox reason keys as they appear in recordings.
public enum FirefoxReason {
    /// FF-DOCS `CorsErrorDocs`: console category (properties key) → MDN page name.
    public static let consoleCategoryToReason: [String: String] = [
        "CORSDisabled": "CORSDisabled",
        "CORSDidNotSucceed2": "CORSDidNotSucceed",
        "CORSOriginHeaderNotAdded": "CORSOriginHeaderNotAdded",
        "CORSExternalRedirectNotAllowed": "CORSExternalRedirectNotAllowed",
        "CORSRequestNotHttp": "CORSRequestNotHttp",
        "CORSMissingAllowOrigin2": "CORSMissingAllowOrigin",
        "CORSMultipleAllowOriginNotAllowed": "CORSMultipleAllowOriginNotAllowed",
        "CORSAllowOriginNotMatchingOrigin": "CORSAllowOriginNotMatchingOrigin",
        "CORSNotSupportingCredentials": "CORSNotSupportingCredentials",
        "CORSMethodNotFound": "CORSMethodNotFound",
        "CORSMissingAllowCredentials": "CORSMissingAllowCredentials",
        "CORSPreflightDidNotSucceed3": "CORSPreflightDidNotSucceed",
        "CORSInvalidAllowMethod": "CORSInvalidAllowMethod",
        "CORSInvalidAllowHeader": "CORSInvalidAllowHeader",
        "CORSMissingAllowHeaderFromPreflight2": "CORSMissingAllowHeaderFromPreflight",
    ]

    /// The reason key for a console category: the table above, otherwise the category without a
    /// trailing version number (Firefox bumps the digit when a message's wording changes, e.g.
    /// `CORSPreflightDidNotSucceed3`; older releases logged `…2` or no digit).
    public static func reason(forConsoleCategory category: String) -> String {
        if let known = consoleCategoryToReason[category] { return known }
        var name = Substring(category)
        while let last = name.last, last.isASCII, last.isNumber { name = name.dropLast() }
        return name.isEmpty ? category : String(name)
    }
}

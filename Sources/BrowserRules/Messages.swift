/// Console texts, reproduced from the sources the notes cite:
/// - Chromium: `third_party/blink/renderer/platform/loader/cors/cors_error_string.cc`
///   (`GetErrorStringForConsoleMessage`), late-2025 main, with the ≤M132 wording as a variant.
/// - Firefox: `dom/locales/en-US/chrome/security/security.properties` CORS keys.
/// - Safari: reason strings from WebKit `CrossOriginAccessControl.cpp` plus the
///   `ThreadableLoader.cpp` wrapper line, printed as two lines.
public enum ConsoleMessages {
    public static func message(for failure: CORSFailure, profile: BrowserProfile) -> String? {
        switch profile.engine {
        case .chromium: return chromium(failure, profile: profile)
        case .firefox: return firefox(failure)
        case .safari: return safari(failure)
        }
    }

    // MARK: Chromium

    /// `EncodeHint`: printable ASCII kept, every other byte of the (UTF-8) parameter as `\uXXXX`.
    static func encodeHint(_ hint: String) -> String {
        var text = ""
        for byte in hint.utf8 {
            if (0x20...0x7E).contains(byte) {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return text
    }

    static func displayURL(_ url: String) -> String {
        ParsedURL(url).map(\.canonicalString) ?? url
    }

    /// Chromium's reason text (what follows "has been blocked by CORS policy: ", including the
    /// preflight prefix). This is also the DevTools Issues text after "Access blocked by CORS policy: ".
    public static func chromiumReason(for failure: CORSFailure, profile: BrowserProfile = .chromium) -> String {
        let hint = encodeHint(failure.failedParameter)
        let initiator = failure.details.initiator
        let legacy = profile.usesLegacyNoCorsAdvice
        let noCorsAdvice = legacy
            ? " Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."
            : " Have the server send the header with a valid value."
        let xhrCredentialsNote = " The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute."
        var text = failure.error.isPreflightError
            ? "Response to preflight request doesn't pass access control check: " : ""

        switch failure.error {
        case .disallowedByMode:
            text += "Cross origin requests are not allowed by request mode."
        case .invalidResponse:
            text += "The response is invalid."
        case .insecureLocalNetwork:
            text += "The request client is not a secure context and the resource is in more-private address space `\(addressSpaceWord(failure.details.localNetwork?.resourceSpace, profile: profile))`."
        case .wildcardOriginNotAllowed, .preflightWildcardOriginNotAllowed:
            text += "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."
            if initiator == .xmlHttpRequest { text += xhrCredentialsNote }
        case .missingAllowOriginHeader, .preflightMissingAllowOriginHeader:
            text += "No 'Access-Control-Allow-Origin' header is present on the requested resource."
            if legacy && initiator == .fetch {
                text += " If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."
            }
        case .multipleAllowOriginValues, .preflightMultipleAllowOriginValues:
            text += "The 'Access-Control-Allow-Origin' header contains multiple values '\(hint)', but only one is allowed."
            if initiator == .fetch { text += noCorsAdvice }
        case .invalidAllowOriginValue, .preflightInvalidAllowOriginValue:
            text += "The 'Access-Control-Allow-Origin' header contains the invalid value '\(hint)'."
            if initiator == .fetch { text += noCorsAdvice }
        case .allowOriginMismatch, .preflightAllowOriginMismatch:
            text += "The 'Access-Control-Allow-Origin' header has a value '\(hint)' that is not equal to the supplied origin."
            if initiator == .fetch { text += noCorsAdvice }
        case .invalidAllowCredentials, .preflightInvalidAllowCredentials:
            text += "The value of the 'Access-Control-Allow-Credentials' header in the response is '\(hint)' which must be 'true' when the request's credentials mode is 'include'."
            if initiator == .xmlHttpRequest { text += xhrCredentialsNote }
        case .corsDisabledScheme:
            text += "Cross origin requests are only supported for protocol schemes: \(profile.chromiumCorsEnabledSchemeList)."
        case .preflightInvalidStatus:
            text += "It does not have HTTP ok status."
        case .preflightDisallowedRedirect:
            text += "Redirect is not allowed for a preflight request."
        case .invalidAllowMethodsPreflightResponse:
            text += "Cannot parse Access-Control-Allow-Methods response header field in preflight response."
        case .invalidAllowHeadersPreflightResponse:
            text += "Cannot parse Access-Control-Allow-Headers response header field in preflight response."
        case .methodDisallowedByPreflightResponse:
            text += "Method \(hint) is not allowed by Access-Control-Allow-Methods in preflight response."
        case .headerDisallowedByPreflightResponse:
            text += "Request header field \(hint) is not allowed by Access-Control-Allow-Headers in preflight response."
        case .redirectContainsCredentials:
            text += "Redirect location '\(hint)' contains a username and password, which is disallowed for cross-origin requests."
        case .invalidLocalNetworkAccess:
            let declared = addressSpaceWord(failure.details.localNetwork?.declaredTargetSpace, profile: profile)
            let actual = addressSpaceWord(failure.details.localNetwork?.resourceSpace, profile: profile)
            text += "Request had a target IP address space of `\(declared)` yet the resource is in address space `\(actual)`."
        case .localNetworkAccessPermissionDenied:
            text += "Permission was denied for this request to access the `\(addressSpaceWord(failure.details.localNetwork?.resourceSpace, profile: profile))` address space."
        }
        return text
    }

    /// `ShortAddressSpace`: the late-2025 words are unknown/public/local/loopback; Chrome ≤132
    /// called today's `local` "private" and `loopback` "local".
    static func addressSpaceWord(_ space: LocalNetworkFacts.AddressSpace?, profile: BrowserProfile) -> String {
        let space = space ?? .unknown
        if profile.usesLegacyNoCorsAdvice {
            switch space {
            case .local: return "private"
            case .loopback: return "local"
            default: break
            }
        }
        return space.rawValue
    }

    static func chromium(_ failure: CORSFailure, profile: BrowserProfile) -> String {
        let details = failure.details
        let url = displayURL(details.url)
        let initial = displayURL(details.initialURL)
        var text = "Access to \(details.initiator.chromiumKind) at '\(url)' "
        if initial != url { text += "(redirected from '\(initial)') " }
        text += "from origin '\(details.initiatorOrigin)' has been blocked by CORS policy: "
        return text + chromiumReason(for: failure, profile: profile)
    }

    // MARK: Firefox

    static func firefox(_ failure: CORSFailure) -> String? {
        let details = failure.details
        let url = displayURL(details.url)
        let blocked = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at \(url). (Reason: "
        let status = details.status.map(String.init) ?? "(null)"
        switch failure.error {
        case .missingAllowOriginHeader, .preflightMissingAllowOriginHeader:
            return blocked + "CORS header ‘Access-Control-Allow-Origin’ missing). Status code: \(status)."
        case .multipleAllowOriginValues, .preflightMultipleAllowOriginValues,
             .invalidAllowOriginValue, .preflightInvalidAllowOriginValue,
             .allowOriginMismatch, .preflightAllowOriginMismatch:
            // Firefox counts header lines; a single comma/space-joined value is just "not matching".
            if details.allowOriginLineCount > 1 {
                return blocked + "Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed)."
            }
            return blocked + "CORS header ‘Access-Control-Allow-Origin’ does not match ‘\(details.allowOriginValue ?? failure.failedParameter)’)."
        case .wildcardOriginNotAllowed, .preflightWildcardOriginNotAllowed:
            return "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ‘\(url)’. (Reason: Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’)."
        case .invalidAllowCredentials, .preflightInvalidAllowCredentials:
            return blocked + "expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’)."
        case .preflightInvalidStatus:
            return blocked + "CORS preflight response did not succeed). Status code: \(status)."
        case .preflightDisallowedRedirect:
            return blocked + "CORS request external redirect not allowed)."
        case .invalidAllowMethodsPreflightResponse:
            return blocked + "invalid token ‘\(details.invalidToken ?? "")’ in CORS header ‘Access-Control-Allow-Methods’)."
        case .invalidAllowHeadersPreflightResponse:
            return blocked + "invalid token ‘\(details.invalidToken ?? "")’ in CORS header ‘Access-Control-Allow-Headers’)."
        case .methodDisallowedByPreflightResponse:
            return blocked + "Did not find method in CORS header ‘Access-Control-Allow-Methods’)."
        case .headerDisallowedByPreflightResponse:
            return blocked + "header ‘\(failure.failedParameter.asciiLowercased)’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response)."
        case .corsDisabledScheme:
            return blocked + "CORS request not http)."
        case .invalidResponse:
            return blocked + "CORS request did not succeed). Status code: \(status)."
        case .redirectContainsCredentials:
            // Firefox refuses the userinfo redirect without a message of its own; the failed
            // request is then logged as CORSDidNotSucceed2 with no status (recorded: Firefox ESR
            // 153, scenario redirect-userinfo).
            return blocked + "CORS request did not succeed). Status code: (null)."
        case .disallowedByMode,
             .insecureLocalNetwork, .invalidLocalNetworkAccess, .localNetworkAccessPermissionDenied:
            // Firefox fails these with a plain network error (NS_ERROR_DOM_BAD_URI) or has no such check.
            return nil
        }
    }

    // MARK: Safari

    static func safariWrapper(_ details: FailureDetails) -> String {
        let url = displayURL(details.url)
        switch details.initiator {
        case .fetch: return "Fetch API cannot load \(url) due to access control checks."
        case .xmlHttpRequest: return "XMLHttpRequest cannot load \(url) due to access control checks."
        case .image: return "Cannot load image \(url) due to access control checks."
        default: return "Cannot load \(url) due to access control checks."
        }
    }

    static func safari(_ failure: CORSFailure) -> String? {
        let details = failure.details
        let status = details.status.map(String.init) ?? "0"
        let notAllowedByOrigin = "Origin \(details.initiatorOrigin) is not allowed by Access-Control-Allow-Origin. Status code: \(status)"
        let reason: String?
        switch failure.error {
        case .wildcardOriginNotAllowed, .preflightWildcardOriginNotAllowed:
            reason = "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true."
        case .multipleAllowOriginValues, .preflightMultipleAllowOriginValues:
            reason = (details.allowOriginValue ?? failure.failedParameter).contains(",")
                ? "Access-Control-Allow-Origin cannot contain more than one origin." : notAllowedByOrigin
        case .missingAllowOriginHeader, .preflightMissingAllowOriginHeader,
             .invalidAllowOriginValue, .preflightInvalidAllowOriginValue,
             .allowOriginMismatch, .preflightAllowOriginMismatch:
            reason = notAllowedByOrigin
        case .invalidAllowCredentials, .preflightInvalidAllowCredentials:
            reason = "Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\"."
        case .preflightInvalidStatus, .preflightDisallowedRedirect:
            // WebKit does not follow a preflight redirect; the 3xx fails its status check (inferred).
            reason = "Preflight response is not successful. Status code: \(status)"
        case .invalidAllowMethodsPreflightResponse:
            reason = "Header Access-Control-Allow-Methods has an invalid value: \(details.invalidHeaderValue ?? "")"
        case .invalidAllowHeadersPreflightResponse:
            reason = "Header Access-Control-Allow-Headers has an invalid value: \(details.invalidHeaderValue ?? "")"
        case .methodDisallowedByPreflightResponse:
            reason = "Method \(failure.failedParameter) is not allowed by Access-Control-Allow-Methods."
        case .headerDisallowedByPreflightResponse:
            reason = "Request header field \(details.offendingHeaderAsWritten ?? failure.failedParameter) is not allowed by Access-Control-Allow-Headers."
        case .redirectContainsCredentials:
            let target = details.redirectLocation ?? ""
            reason = "Cross-origin redirection to \(target) denied by Cross-Origin Resource Sharing policy: redirection URL \(target) has credentials"
        case .corsDisabledScheme where details.redirectLocation != nil:
            let target = details.redirectLocation ?? ""
            reason = "Cross-origin redirection to \(target) denied by Cross-Origin Resource Sharing policy: not allowed to follow a cross-origin CORS redirection with non CORS scheme"
        case .corsDisabledScheme, .disallowedByMode, .invalidResponse:
            reason = nil
        case .insecureLocalNetwork, .invalidLocalNetworkAccess, .localNetworkAccessPermissionDenied:
            // WebKit has no Local Network Access checks.
            return nil
        }
        let wrapper = safariWrapper(details)
        guard var reason else { return wrapper }
        // NetworkLoadChecker reports a failing redirect hop with the target in front of the reason.
        if failure.stage == .redirect, failure.error != .redirectContainsCredentials,
           let target = details.redirectLocation {
            reason = "Cross-origin redirection to \(target) denied by Cross-Origin Resource Sharing policy: " + reason
        }
        return reason + "\n" + wrapper
    }
}

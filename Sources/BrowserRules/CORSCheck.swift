/// A failed check: the Chromium error and the `failed_parameter` Chromium reports with it.
public struct CheckFailure: Sendable, Hashable {
    public var error: CorsError
    public var failedParameter: String

    public init(_ error: CorsError, _ failedParameter: String = "") {
        self.error = error
        self.failedParameter = failedParameter
    }
}

public enum CORSCheckResult: Sendable, Hashable {
    case passed
    case failed(CheckFailure)

    public var failure: CheckFailure? {
        if case let .failed(failure) = self { return failure }
        return nil
    }
}

public enum CORSCheck {
    /// Fetch "CORS check" with Chromium's error classification (`cors.cc CheckAccess`):
    /// 1. no ACAO → MissingAllowOriginHeader;
    /// 2. `*`: passes without credentials, WildcardOriginNotAllowed with them (http(s) responses);
    /// 3. ACAO ≠ the request's serialised origin (byte-exact): a space or comma →
    ///    MultipleAllowOriginValues, `null` or a parsable URL → AllowOriginMismatch, else
    ///    InvalidAllowOriginValue;
    /// 4. with credentials, ACAC must be exactly `true` → else InvalidAllowCredentials.
    ///
    /// `requestOrigin` is what the browser compares against: the `Origin` header it sent
    /// (`null` for opaque or redirect-tainted requests). Several ACAO lines are joined with
    /// `", "` first, exactly as Chromium's `GetNormalizedHeader` does, so two identical lines fail.
    public static func check(
        responseHeaders: HTTPHeaders,
        requestOrigin: String,
        includeCredentials: Bool,
        responseIsHTTPFamily: Bool = true
    ) -> CORSCheckResult {
        check(allowOrigin: responseHeaders.combinedValue(named: HeaderName.allowOrigin), responseHeaders: responseHeaders,
              requestOrigin: requestOrigin, includeCredentials: includeCredentials, responseIsHTTPFamily: responseIsHTTPFamily)
    }

    /// `check` with the combined ACAO value already looked up by the caller.
    static func check(
        allowOrigin: String?,
        responseHeaders: HTTPHeaders,
        requestOrigin: String,
        includeCredentials: Bool,
        responseIsHTTPFamily: Bool = true
    ) -> CORSCheckResult {
        guard let allowOrigin else {
            return .failed(CheckFailure(.missingAllowOriginHeader))
        }
        if allowOrigin == "*" {
            if !includeCredentials { return .passed }
            if responseIsHTTPFamily { return .failed(CheckFailure(.wildcardOriginNotAllowed)) }
        }
        if allowOrigin != requestOrigin {
            if allowOrigin.contains(" ") || allowOrigin.contains(",") {
                return .failed(CheckFailure(.multipleAllowOriginValues, allowOrigin))
            }
            if allowOrigin != "null" && !looksLikeValidGURL(allowOrigin) {
                return .failed(CheckFailure(.invalidAllowOriginValue, allowOrigin))
            }
            return .failed(CheckFailure(.allowOriginMismatch, allowOrigin))
        }
        if includeCredentials {
            let allowCredentials = responseHeaders.combinedValue(named: HeaderName.allowCredentials)
            if allowCredentials != "true" {
                return .failed(CheckFailure(.invalidAllowCredentials, allowCredentials ?? ""))
            }
        }
        return .passed
    }

    /// Approximates `GURL(value).is_valid()` for the values servers put in ACAO: a scheme, a colon,
    /// and for special schemes a non-empty host. `example.com`, `'*'`, `**`, `-` and the empty
    /// string are invalid; `https://a.com/` and `HTTPS://A.COM` are valid.
    static func looksLikeValidGURL(_ value: String) -> Bool {
        guard let parsed = ParsedURL(value) else { return false }
        if parsed.isSpecial && parsed.scheme != "file" { return !parsed.host.isEmpty }
        return true
    }

    /// Whether a response copied the request's `Origin` verbatim into ACAO. One such response is
    /// normal; the same endpoint doing it for unrelated origins with credentials is the
    /// "arbitrary origin reflection" misconfiguration (see `ReflectionAnalysis`).
    public static func reflectsOrigin(requestOrigin: String?, allowOrigin: String?) -> Bool {
        guard let requestOrigin, let allowOrigin else { return false }
        return requestOrigin != "*" && allowOrigin.trimmingHTTPWhitespace == requestOrigin.trimmingHTTPWhitespace
    }
}

/// Free-function spelling of `CORSCheck.check`.
public func corsCheck(
    responseHeaders: HTTPHeaders,
    requestOrigin: String,
    includeCredentials: Bool
) -> CORSCheckResult {
    CORSCheck.check(responseHeaders: responseHeaders, requestOrigin: requestOrigin, includeCredentials: includeCredentials)
}

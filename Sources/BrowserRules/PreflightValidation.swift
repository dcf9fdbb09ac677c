/// What the browser asks the preflight to approve.
public struct PreflightQuestion: Sendable, Hashable {
    /// The actual request's method (already normalised the way `fetch()` does).
    public var method: String
    /// CORS-unsafe, non-forbidden request header names, lower-case, in request order.
    public var headerNames: [String]
    /// Same names in the case the page wrote them (WebKit prints that); falls back to lower-case.
    public var headerNamesAsWritten: [String: String]
    /// The actual request's credentials mode: the preflight itself never carries credentials,
    /// but its CORS check and the `*` rules use the actual request's mode.
    public var includeCredentials: Bool
    /// What ACAO is compared with (the `Origin` header the browser sent).
    public var requestOrigin: String

    public init(
        method: String, headerNames: [String], headerNamesAsWritten: [String: String] = [:],
        includeCredentials: Bool, requestOrigin: String
    ) {
        self.method = method
        self.headerNames = headerNames.map(\.asciiLowercased)
        self.headerNamesAsWritten = headerNamesAsWritten
        self.includeCredentials = includeCredentials
        self.requestOrigin = requestOrigin
    }
}

/// Result of validating one OPTIONS response.
public struct PreflightValidation: Sendable, Hashable {
    public var failure: CheckFailure?
    /// For parse failures: the offending token (Firefox prints it) and the whole value (WebKit).
    public var invalidToken: String?
    public var invalidHeaderValue: String?
    /// For a disallowed header: the name as the page wrote it (WebKit prints that case).
    public var offendingHeaderAsWritten: String?
    /// `Authorization` got through only because of `Access-Control-Allow-Headers: *`.
    public var authorizationCoveredOnlyByWildcard: Bool
    /// How long the browser caches the result (only meaningful when it passed).
    public var lifetime: PreflightLifetime
    public var methods: AllowList?
    public var headerNames: AllowList?

    public var passed: Bool { failure == nil }
}

public enum PreflightValidator {
    enum Step {
        case redirect, cors, status, methodsParse, headersParse, method, headers

        static let chromiumOrder: [Step] = [.redirect, .cors, .status, .methodsParse, .headersParse, .method, .headers]
        static let firefoxOrder: [Step] = [.cors, .redirect, .status, .methodsParse, .method, .headersParse, .headers]
        static let safariOrder: [Step] = [.redirect, .status, .cors, .methodsParse, .headersParse, .method, .headers]
    }

    /// Validates a preflight response in `profile`'s check order:
    /// - Chromium (`preflight_controller.cc`, `preflight_result.cc`): redirect → CORS check →
    ///   ok status → parse ACAM → parse ACAH → method → headers.
    /// - Firefox (`nsCORSListenerProxy.cpp`): CORS check → redirect → status → ACAM parse + method →
    ///   ACAH parse + headers. The listener checks the allow-origin header on a 3xx before the
    ///   redirect is refused (recorded, Firefox ESR 153: a preflight answered 302 without ACAO is
    ///   CORSMissingAllowOrigin, one with a matching ACAO CORSExternalRedirectNotAllowed).
    /// - WebKit (`CrossOriginAccessControl.cpp`): status first, then CORS check, parse, method, headers.
    ///
    /// `response == nil` means no HTTP response at all (Chromium reports that as a network error;
    /// DevTools shows `InvalidResponse`). `authorizationNonWildcardRule` forces the Fetch rule that
    /// `*` never covers `Authorization` (nil = the profile's shipping behaviour, which lets it through).
    public static func validate(
        response: CORSResponse?,
        question: PreflightQuestion,
        profile: BrowserProfile = .chromium,
        authorizationNonWildcardRule: Bool? = nil
    ) -> PreflightValidation {
        var result = PreflightValidation(
            failure: nil, invalidToken: nil, invalidHeaderValue: nil, offendingHeaderAsWritten: nil,
            authorizationCoveredOnlyByWildcard: false, lifetime: .notCached, methods: nil, headerNames: nil)
        guard let response else {
            result.failure = CheckFailure(.invalidResponse)
            return result
        }
        let enforceAuthorization = authorizationNonWildcardRule ?? !profile.authorizationCoveredByWildcard

        var methods = AllowList(items: [])
        var headerNames = AllowList(items: [])
        // The steps are a switch in a local function (not an array of closures, which cost
        // several heap boxes per preflight).
        func run(_ step: Step) -> CheckFailure? {
            switch step {
            case .redirect:
                return response.redirectLocation == nil ? nil : CheckFailure(.preflightDisallowedRedirect)
            case .cors:
                return CORSCheck.check(
                    responseHeaders: response.headers, requestOrigin: question.requestOrigin,
                    includeCredentials: question.includeCredentials
                ).failure.map { CheckFailure($0.error.asPreflightVariant, $0.failedParameter) }
            case .status:
                // Chromium constructs this status without a failed_parameter.
                return response.isOkStatus ? nil : CheckFailure(.preflightInvalidStatus)
            case .methodsParse:
                switch AllowListParser.parseMethods(response.headers) {
                case let .success(list):
                    methods = list
                    return nil
                case let .failure(error):
                    result.invalidToken = error.invalidToken
                    result.invalidHeaderValue = error.headerValue
                    return CheckFailure(.invalidAllowMethodsPreflightResponse)
                }
            case .headersParse:
                switch AllowListParser.parseHeaderNames(response.headers) {
                case let .success(list):
                    headerNames = list
                    return nil
                case let .failure(error):
                    result.invalidToken = error.invalidToken
                    result.invalidHeaderValue = error.headerValue
                    return CheckFailure(.invalidAllowHeadersPreflightResponse)
                }
            case .method:
                // Byte-exact membership (Chromium's spec-conformant ACAM mode, on by default),
                // or a safelisted method, or `*` for uncredentialed requests.
                let method = question.method
                if methods.contains(method) || MethodRules.isSafelisted(method)
                    || (methods.containsWildcard && !question.includeCredentials) {
                    return nil
                }
                return CheckFailure(.methodDisallowedByPreflightResponse, method)
            case .headers:
                if enforceAuthorization, question.headerNames.contains("authorization"),
                   !headerNames.contains("authorization") {
                    result.offendingHeaderAsWritten = question.headerNamesAsWritten["authorization"] ?? "authorization"
                    return CheckFailure(.headerDisallowedByPreflightResponse, "authorization")
                }
                for name in question.headerNames {
                    if headerNames.contains(name) { continue }
                    if headerNames.containsWildcard && !question.includeCredentials {
                        if name == "authorization" { result.authorizationCoveredOnlyByWildcard = true }
                        continue
                    }
                    result.offendingHeaderAsWritten = question.headerNamesAsWritten[name] ?? name
                    return CheckFailure(.headerDisallowedByPreflightResponse, name)
                }
                return nil
            }
        }

        let order: [Step]
        switch profile.engine {
        case .chromium: order = Step.chromiumOrder
        case .firefox: order = Step.firefoxOrder
        case .safari: order = Step.safariOrder
        }
        for step in order {
            if let failure = run(step) {
                result.failure = failure
                return result
            }
        }
        result.methods = methods
        result.headerNames = headerNames
        result.lifetime = PreflightCachePolicy.lifetime(
            maxAgeHeader: response.headers.combinedValue(named: HeaderName.maxAge), profile: profile)
        return result
    }
}

/// Free-function spelling of `PreflightValidator.validate`.
public func validatePreflight(
    response: CORSResponse?, question: PreflightQuestion, profile: BrowserProfile = .chromium
) -> PreflightValidation {
    PreflightValidator.validate(response: response, question: question, profile: profile)
}

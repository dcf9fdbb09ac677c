import BrowserRules
import XCTest

/// One scenario per Chromium CorsError, run through the top-level `evaluate`.
final class CorsErrorTests: XCTestCase {
    func testEnumMatchesChromiumMojomOrderAndSpelling() {
        XCTAssertEqual(CorsError.allCases.count, 25)
        XCTAssertEqual(CorsError.allCases.first?.cdpName, "DisallowedByMode")
        XCTAssertEqual(CorsError.allCases.last?.cdpName, "LocalNetworkAccessPermissionDenied")
        XCTAssertEqual(CorsError.missingAllowOriginHeader.cdpName, "MissingAllowOriginHeader")
        XCTAssertEqual(CorsError.preflightInvalidAllowCredentials.mojomName, "kPreflightInvalidAllowCredentials")
        XCTAssertEqual(CorsError(cdpName: "InvalidAllowHeadersPreflightResponse"), .invalidAllowHeadersPreflightResponse)
        XCTAssertNil(CorsError(cdpName: "PreflightMissingAllowPrivateNetwork"), "removed in 2025")
        XCTAssertEqual(CorsError.allCases.filter(\.isPreflightError).count, 8)
        XCTAssertFalse(CorsError.methodDisallowedByPreflightResponse.isPreflightError, "its text already says preflight")
        XCTAssertEqual(CorsError.allCases.filter { $0.observability == .fromCapture }.count, 15)
        XCTAssertEqual(CorsError.disallowedByMode.observability, .notOnTheWire)
        XCTAssertEqual(CorsError.wildcardOriginNotAllowed.observability, .needsCredentialsMode)
    }

    /// A scenario producing each error, with the failed parameter Chromium reports.
    static let scenarios: [(CorsError, String, @Sendable () -> CORSVerdict)] = [
        (.disallowedByMode, "", {
            simpleFetch(response: CORSResponse(status: 200, headers: acao("*")), mode: .sameOrigin)
        }),
        (.invalidResponse, "", {
            preflighted(preflightResponse: nil)
        }),
        (.wildcardOriginNotAllowed, "", {
            simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao("*", acac: "true")))
        }),
        (.missingAllowOriginHeader, "", {
            simpleFetch(response: CORSResponse(status: 200))
        }),
        (.multipleAllowOriginValues, "\(pageOrigin), \(pageOrigin)", {
            simpleFetch(response: CORSResponse(status: 200, headers: [("Access-Control-Allow-Origin", pageOrigin), ("Access-Control-Allow-Origin", pageOrigin)]))
        }),
        (.invalidAllowOriginValue, "a.test", {
            simpleFetch(response: CORSResponse(status: 200, headers: acao("a.test")))
        }),
        (.allowOriginMismatch, "http://a.test/", {
            simpleFetch(response: CORSResponse(status: 200, headers: acao("http://a.test/")))
        }),
        (.invalidAllowCredentials, "", {
            simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao(pageOrigin)))
        }),
        (.corsDisabledScheme, "", {
            let request = CORSRequest(method: "GET", url: "ftp://b.test/file", headers: [("Origin", pageOrigin)], mode: .cors)
            return CORSEngine.evaluate(CORSExchange(request: request, response: nil))
        }),
        (.preflightInvalidStatus, "", {
            preflighted(preflightResponse: preflightResponse(status: 404, methods: "PUT"))
        }),
        (.preflightDisallowedRedirect, "", {
            preflighted(preflightResponse: preflightResponse(status: 301, methods: "PUT", extra: [("Location", "https://b.test/resource")]))
        }),
        (.preflightWildcardOriginNotAllowed, "", {
            preflighted(preflightResponse: preflightResponse(allowOrigin: "*", methods: "PUT"), credentials: .include)
        }),
        (.preflightMissingAllowOriginHeader, "", {
            preflighted(preflightResponse: preflightResponse(allowOrigin: nil, methods: "PUT"))
        }),
        (.preflightMultipleAllowOriginValues, "*, *", {
            preflighted(preflightResponse: preflightResponse(allowOrigin: "*, *", methods: "PUT"))
        }),
        (.preflightInvalidAllowOriginValue, "'*'", {
            preflighted(preflightResponse: preflightResponse(allowOrigin: "'*'", methods: "PUT"))
        }),
        (.preflightAllowOriginMismatch, "https://a.test", {
            preflighted(preflightResponse: preflightResponse(allowOrigin: "https://a.test", methods: "PUT"))
        }),
        (.preflightInvalidAllowCredentials, "", {
            preflighted(preflightResponse: preflightResponse(methods: "PUT"), credentials: .include)
        }),
        (.invalidAllowMethodsPreflightResponse, "", {
            preflighted(preflightResponse: preflightResponse(methods: "PUT;"))
        }),
        (.invalidAllowHeadersPreflightResponse, "", {
            preflighted(preflightResponse: preflightResponse(methods: "PUT", headers: "x-a x-b"))
        }),
        (.methodDisallowedByPreflightResponse, "PUT", {
            preflighted(preflightResponse: preflightResponse(methods: "GET, POST"))
        }),
        (.headerDisallowedByPreflightResponse, "x-api-key", {
            preflighted(preflightResponse: preflightResponse(methods: "PUT", headers: "content-type"), extraHeaders: [("X-Api-Key", "k")])
        }),
        (.redirectContainsCredentials, "", {
            simpleFetch(response: CORSResponse(status: 302, headers: [("Location", "http://u:p@c.test/"), ("Access-Control-Allow-Origin", "*")]))
        }),
        (.insecureLocalNetwork, "", {
            localNetwork(LocalNetworkFacts(initiatorSpace: .publicSpace, resourceSpace: .local, initiatorIsSecureContext: false))
        }),
        (.invalidLocalNetworkAccess, "", {
            localNetwork(LocalNetworkFacts(initiatorSpace: .publicSpace, resourceSpace: .loopback, initiatorIsSecureContext: true,
                                           permission: .granted, declaredTargetSpace: .local))
        }),
        (.localNetworkAccessPermissionDenied, "", {
            localNetwork(LocalNetworkFacts(initiatorSpace: .publicSpace, resourceSpace: .loopback, initiatorIsSecureContext: true, permission: .denied))
        }),
    ]

    func testEveryCorsErrorCanBeProducedByEvaluate() {
        XCTAssertEqual(Set(Self.scenarios.map(\.0)), Set(CorsError.allCases))
        for (error, parameter, run) in Self.scenarios {
            let verdict = run()
            XCTAssertEqual(verdict.kind, .blocked, "\(error.cdpName): \(verdict.explanation)")
            XCTAssertEqual(verdict.corsError, error, "\(error.cdpName): got \(kindAndError(verdict))")
            XCTAssertEqual(verdict.failedParameter, parameter, error.cdpName)
            XCTAssertFalse(verdict.explanation.isEmpty, error.cdpName)
            XCTAssertNotNil(verdict.fix, error.cdpName)
            XCTAssertNotNil(verdict.message(for: .chromium), error.cdpName)
            XCTAssertEqual(verdict.failure?.stage == .preflight, error.concernsPreflight || error == .invalidResponse, error.cdpName)
        }
    }

    func testFailedPreflightIsTheVerdictOfTheGuardedRequest() {
        let verdict = preflighted(preflightResponse: preflightResponse(methods: "GET"))
        XCTAssertEqual(verdict.kind, .blocked)
        XCTAssertEqual(verdict.failure?.stage, .preflight)
        XCTAssertEqual(verdict.failure?.details.url, remoteURL)
        XCTAssertTrue(verdict.notes.contains { $0.contains("never sent") })
    }

    func testLocalNetworkAccessNeedsPermissionIsUndecidable() {
        let verdict = localNetwork(LocalNetworkFacts(initiatorSpace: .publicSpace, resourceSpace: .local, initiatorIsSecureContext: true))
        XCTAssertEqual(verdict.kind, .undecidable)
        XCTAssertFalse(verdict.missingEvidence.isEmpty)
        // Local → loopback is not gated in current Chromium; older profiles have no LNA at all.
        XCTAssertEqual(localNetwork(LocalNetworkFacts(initiatorSpace: .local, resourceSpace: .loopback, initiatorIsSecureContext: false)).kind, .passed)
        XCTAssertEqual(localNetwork(LocalNetworkFacts(initiatorSpace: .publicSpace, resourceSpace: .local, initiatorIsSecureContext: false),
                                    profile: .chromium(141)).kind, .passed)
    }
}

/// A PUT from `pageOrigin` to `remoteURL` guarded by the given preflight response.
func preflighted(
    preflightResponse: CORSResponse?, credentials: CredentialsMode = .omit,
    extraHeaders: [(String, String)] = [], profile: BrowserProfile = .chromium
) -> CORSVerdict {
    let author = HTTPHeaders(extraHeaders.map { HTTPHeaderField(name: $0.0, value: $0.1) })
    var preflightFields: [HTTPHeaderField] = [.init(name: "Origin", value: pageOrigin), .init(name: "Access-Control-Request-Method", value: "PUT")]
    if let acrh = HeaderRules.accessControlRequestHeadersValue(for: HeaderRules.corsUnsafeNames(in: author)) {
        preflightFields.append(.init(name: "Access-Control-Request-Headers", value: acrh))
    }
    let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL, headers: HTTPHeaders(preflightFields), mode: .cors)
    let request = CORSRequest(method: "PUT", url: remoteURL, headers: HTTPHeaders([.init(name: "Origin", value: pageOrigin)] + author.fields),
                              mode: .cors, credentials: credentials, initiatorOrigin: Origin(serialized: pageOrigin))
    return CORSEngine.evaluate(CORSExchange(request: request, response: nil, preflight: .exchange(request: preflightRequest, response: preflightResponse)),
                               context: EvaluationContext(profile: profile))
}

func localNetwork(_ facts: LocalNetworkFacts, profile: BrowserProfile = .chromium) -> CORSVerdict {
    let request = CORSRequest(method: "GET", url: "http://192.168.1.10/api", headers: [("Origin", "https://public.example")],
                              mode: .cors, credentials: .omit)
    return CORSEngine.evaluate(CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao("*"))),
                               context: EvaluationContext(profile: profile, localNetwork: facts))
}

import BrowserRules
import XCTest

final class EvaluateTests: XCTestCase {
    // MARK: When CORS does not apply

    func testNotCORSCases() {
        let ok = CORSResponse(status: 200)
        let sameOrigin = CORSRequest(method: "POST", url: "http://a.test/api", headers: [("Origin", pageOrigin)])
        XCTAssertEqual(evaluate(CORSExchange(request: sameOrigin, response: ok)).notCORSReason, .sameOrigin)

        let navigation = CORSRequest(method: "GET", url: remoteURL, headers: [("Sec-Fetch-Mode", "navigate")])
        XCTAssertEqual(evaluate(CORSExchange(request: navigation, response: ok)).notCORSReason, .navigation)

        let websocket = CORSRequest(method: "GET", url: "http://b.test/ws", headers: [("Origin", pageOrigin), ("Upgrade", "websocket")])
        XCTAssertEqual(evaluate(CORSExchange(request: websocket, response: CORSResponse(status: 101))).notCORSReason, .websocket)

        let image = CORSRequest(method: "GET", url: remoteURL, initiatorOrigin: Origin(serialized: pageOrigin))
        XCTAssertEqual(evaluate(CORSExchange(request: image, response: ok)).notCORSReason, .noOriginHeader)

        let noCors = CORSRequest(method: "POST", url: remoteURL, headers: [("Origin", pageOrigin), ("Sec-Fetch-Mode", "no-cors")])
        XCTAssertEqual(evaluate(CORSExchange(request: noCors, response: ok)).notCORSReason, .noCorsMode)
    }

    func testSameOriginAfterCrossOriginHopIsStillCORS() {
        // Chromium keeps the CORS flag once set; Fetch keeps response tainting 'cors'.
        let verdict = simpleFetch(url: sameOriginURL, originHeader: "null", redirectedFrom: [remoteURL], response: CORSResponse(status: 200))
        XCTAssertEqual(verdict.corsError, .missingAllowOriginHeader)
    }

    // MARK: Credentials

    func testNoCookieIsDecidedUnderTheDefaultModeWithTheAlternativeNamed() {
        // ACAO * with ACAC true: only 'include' fails. No Cookie on the wire, so the default
        // (no credentials) decides, and the verdict says so.
        let verdict = simpleFetch(credentials: .unknown, response: CORSResponse(status: 200, headers: acao("*", acac: "true")))
        XCTAssertEqual(verdict.kind, .passed)
        XCTAssertNil(verdict.corsError)
        XCTAssertEqual(verdict.assumption?.credentials, .notIncluded)
        XCTAssertTrue(verdict.assumption?.because.contains("no Cookie was sent") ?? false)
        XCTAssertEqual(verdict.outcomesByCredentials.map(\.assumption), [.included, .notIncluded])
        XCTAssertEqual(verdict.outcomesByCredentials.map(\.kind), [.blocked, .passed])
        XCTAssertEqual(verdict.alternative?.failure?.error, .wildcardOriginNotAllowed)
        XCTAssertTrue(verdict.kindDependsOnCredentials)
        XCTAssertTrue(verdict.missingEvidence.isEmpty)
        XCTAssertTrue(verdict.notes.contains { $0.contains("With credentials: 'include' it would be blocked: WildcardOriginNotAllowed") },
                      "\(verdict.notes)")
        XCTAssertTrue(verdict.warnings.contains(.wildcardWithCredentialsHeader))
    }

    func testXHRDefaultIsWorded() {
        let verdict = simpleFetch(credentials: .unknown, response: CORSResponse(status: 200, headers: acao(pageOrigin)),
                                  initiator: .xmlHttpRequest)
        XCTAssertEqual(verdict.kind, .passed)
        XCTAssertTrue(verdict.assumption?.because.contains("withCredentials") ?? false)
        XCTAssertTrue(verdict.notes.contains { $0.contains("With withCredentials = true it would be blocked: InvalidAllowCredentials") })
    }

    func testSameKindDifferentReasonTakesTheAssumedModesReason() {
        // A preflight answered 404 with a matching ACAO and no ACAC: blocked either way; with
        // credentials the ACAC check fails first, without them the status does.
        let verdict = preflighted(preflightResponse: preflightResponse(status: 404, methods: "PUT"), credentials: .unknown)
        XCTAssertEqual(verdict.kind, .blocked)
        XCTAssertEqual(verdict.corsError, .preflightInvalidStatus)
        XCTAssertEqual(verdict.assumption?.credentials, .notIncluded)
        XCTAssertEqual(verdict.alternative?.failure?.error, .preflightInvalidAllowCredentials)
        XCTAssertFalse(verdict.kindDependsOnCredentials)
    }

    func testCookieJarEvidenceStrengthensTheAssumption() {
        let request = CORSRequest(method: "GET", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors)
        let exchange = CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao(pageOrigin)))
        let verdict = evaluate(exchange, EvaluationContext(credentialsEvidence: .cookiesSentToHostElsewhere))
        XCTAssertTrue(verdict.assumption?.because.contains("sent cookies to this host on other requests") ?? false)
        let sanitized = evaluate(exchange, EvaluationContext(credentialsEvidence: .cookiesRemovedFromInput))
        XCTAssertTrue(sanitized.assumption?.because.contains("sanitized") ?? false)
    }

    func testSettlingOnTheOtherModeRebuildsTheBlock() {
        let verdict = simpleFetch(credentials: .unknown, response: CORSResponse(status: 200, headers: acao("*", acac: "true")))
        let settled = try? XCTUnwrap(verdict.settled(on: .included, because: "evidence"))
        XCTAssertEqual(settled?.kind, .blocked)
        XCTAssertEqual(settled?.corsError, .wildcardOriginNotAllowed)
        XCTAssertEqual(settled?.assumption, VerdictAssumption(credentials: .included, because: "evidence"))
        XCTAssertEqual(settled?.alternative?.kind, .passed)
        XCTAssertNotNil(settled?.fix)
        XCTAssertNil(verdict.settled(on: .notIncluded, because: "x"), "that mode passed: nothing to rebuild")
    }

    func testPreflightVerdictIsAboutThePreflightAlone() {
        let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL,
                                           headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "PUT")])
        let guarded = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors)
        func judge(_ response: CORSResponse) -> CORSVerdict {
            CORSEngine.evaluatePreflight(CORSExchange(request: guarded, response: nil,
                                                      preflight: .exchange(request: preflightRequest, response: response)))
        }
        // Allowed without credentials only: passed (assumed), the include outcome blocked.
        let open = judge(preflightResponse(status: 204, allowOrigin: "*", methods: "PUT"))
        XCTAssertEqual(open.kind, .passed)
        XCTAssertEqual(open.explanation, "The preflight allowed the request.")
        XCTAssertEqual(open.outcomesByCredentials.map(\.kind), [.blocked, .passed])
        // Allowed either way: passed, nothing assumed, the missing response is not "undecidable".
        let both = judge(preflightResponse(status: 204, allowCredentials: "true", methods: "PUT"))
        XCTAssertEqual(both.kind, .passed)
        XCTAssertNil(both.assumption)
        XCTAssertTrue(both.missingEvidence.isEmpty)
        // Refused: the verdict of the request that was never sent.
        let refused = judge(preflightResponse(status: 204, methods: "GET"))
        XCTAssertEqual(refused.kind, .blocked)
        XCTAssertEqual(refused.corsError, .methodDisallowedByPreflightResponse)
    }

    func testCookieProvesCredentialsInclude() {
        let verdict = simpleFetch(credentials: .unknown, response: CORSResponse(status: 200, headers: acao("*", acac: "true")),
                                  extraHeaders: [("Cookie", "session=1")])
        XCTAssertEqual(verdict.kind, .blocked)
        XCTAssertEqual(verdict.corsError, .wildcardOriginNotAllowed)
        XCTAssertTrue(verdict.notes.contains { $0.contains("Cookie") })
    }

    func testUnknownCredentialsWithSameOutcomeIsDecided() {
        let verdict = simpleFetch(credentials: .unknown, response: CORSResponse(status: 200))
        XCTAssertEqual(verdict.kind, .blocked)
        XCTAssertEqual(verdict.corsError, .missingAllowOriginHeader)
    }

    func testUndeclaredAuthorizationMeansBrowserAddedCredentials() {
        let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL, headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "PUT")])
        let request = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin), ("Authorization", "Basic eDp5")])
        let verdict = evaluate(CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao(pageOrigin)),
                                            preflight: .exchange(request: preflightRequest, response: preflightResponse(allowCredentials: "true", methods: "PUT"))))
        XCTAssertEqual(verdict.corsError, .invalidAllowCredentials)
    }

    func testSentActualRequestRulesOutCredentialsThatFailThePreflight() {
        // Preflight answered with ACAO * (fails with credentials); the actual request went out anyway,
        // so credentials were not included — then the actual response decides.
        let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL, headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "PUT")])
        let request = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin)])
        let verdict = evaluate(CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao("*", acac: "true")),
                                            preflight: .exchange(request: preflightRequest, response: preflightResponse(allowOrigin: "*", methods: "PUT"))))
        XCTAssertEqual(verdict.kind, .passed)
        XCTAssertTrue(verdict.notes.contains { $0.contains("rules out credentials mode 'include'") })
    }

    func testForcedPreflightIsNoted() {
        let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL, headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "POST")])
        let request = CORSRequest(method: "POST", url: remoteURL, headers: [("Origin", pageOrigin), ("Content-Type", "text/plain")], credentials: .omit)
        let verdict = evaluate(CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao("*")),
                                            preflight: .exchange(request: preflightRequest, response: preflightResponse(allowOrigin: "*"))))
        XCTAssertEqual(verdict.kind, .passed)
        XCTAssertTrue(verdict.notes.contains { $0.contains("forced") })
    }

    func testRevalidationValidatorsDoNotCount() {
        let request = CORSRequest(method: "GET", url: remoteURL, headers: [("If-None-Match", "\"abc\""), ("Cache-Control", "max-age=0")], isRevalidation: true)
        let requirement = needsPreflight(request)
        XCTAssertFalse(requirement.isRequired)
        XCTAssertFalse(requirement.isUncertain)
    }

    // MARK: Preflight evidence

    func testMissingPreflightButResponseCapturedIsEvaluated() {
        let request = CORSRequest(method: "DELETE", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors, credentials: .omit)
        let verdict = evaluate(CORSExchange(request: request, response: CORSResponse(status: 204, headers: acao(pageOrigin))))
        XCTAssertEqual(verdict.kind, .passed)
        XCTAssertTrue(verdict.notes.contains { $0.contains("none was captured") })
    }

    func testMissingPreflightAndResponseIsUndecidable() {
        let request = CORSRequest(method: "DELETE", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors, credentials: .omit)
        let verdict = evaluate(CORSExchange(request: request, response: nil))
        XCTAssertEqual(verdict.kind, .undecidable)
        XCTAssertTrue(verdict.missingEvidence.contains { $0.contains("OPTIONS") })
    }

    func testRevalidation304WithoutHeadersIsUndecidable() {
        let verdict = simpleFetch(response: CORSResponse(status: 304))
        XCTAssertEqual(verdict.kind, .undecidable)
    }

    func testCheckOrderDiffersPerBrowser() {
        // 403 without ACAO: Chromium reports the CORS failure first, WebKit the status.
        let response = preflightResponse(status: 403, allowOrigin: nil)
        XCTAssertEqual(preflighted(preflightResponse: response).corsError, .preflightMissingAllowOriginHeader)
        XCTAssertEqual(preflighted(preflightResponse: response, profile: .firefox).corsError, .preflightMissingAllowOriginHeader)
        XCTAssertEqual(preflighted(preflightResponse: response, profile: .safari).corsError, .preflightInvalidStatus)
        // A preflight answered 302 without ACAO: Chromium refuses the redirect first, Firefox
        // checks ACAO on the 3xx first (both recorded: scenario preflight-302-no-acao).
        let redirect = preflightResponse(status: 302, allowOrigin: nil, extra: [("Location", "http://127.0.0.1:24483/api/target")])
        XCTAssertEqual(preflighted(preflightResponse: redirect).corsError, .preflightDisallowedRedirect)
        XCTAssertEqual(preflighted(preflightResponse: redirect, profile: .firefox).corsError, .preflightMissingAllowOriginHeader)
        let allowedRedirect = preflightResponse(status: 302, extra: [("Location", "http://127.0.0.1:24483/api/target")])
        XCTAssertEqual(preflighted(preflightResponse: allowedRedirect, profile: .firefox).corsError, .preflightDisallowedRedirect)
        // Unlisted method + unparsable ACAH: Chromium parses both lists first, Firefox checks the method first.
        let lists = preflightResponse(methods: "GET", headers: "a b")
        XCTAssertEqual(preflighted(preflightResponse: lists).corsError, .invalidAllowHeadersPreflightResponse)
        XCTAssertEqual(preflighted(preflightResponse: lists, profile: .firefox).corsError, .methodDisallowedByPreflightResponse)
    }

    func testClientHintOnlyPreflightsOutsideChromium() {
        let chromium = needsPreflight(CORSRequest(method: "GET", url: remoteURL, headers: [("DPR", "2")]), profile: .chromium)
        let firefox = needsPreflight(CORSRequest(method: "GET", url: remoteURL, headers: [("DPR", "2")]), profile: .firefox)
        XCTAssertFalse(chromium.isRequired)
        XCTAssertEqual(firefox.unsafeHeaderNames, ["dpr"])
    }

    func testWireHeadersAddedByTheBrowserDoNotForceAPreflight() {
        let request = CORSRequest(method: "GET", url: remoteURL, headers: [
            ("Host", "b.test"), ("User-Agent", "x"), ("Accept", "*/*"), ("Accept-Encoding", "gzip"), ("Accept-Language", "en-US,en;q=0.9"),
            ("Origin", pageOrigin), ("Referer", "http://a.test/"), ("Cookie", "a=b"), ("Sec-Fetch-Mode", "cors"), ("Priority", "u=1, i"),
            ("Cache-Control", "no-cache"), (":authority", "b.test"), (":method", "GET"),
        ])
        let requirement = needsPreflight(request)
        XCTAssertFalse(requirement.isRequired)
        XCTAssertTrue(requirement.isUncertain)
        XCTAssertFalse(needsPreflight(request, profile: .firefox).isRequired)
        XCTAssertFalse(needsPreflight(request, profile: .safari).isRequired)
        XCTAssertEqual(requirement.possiblyBrowserAddedHeaderNames, ["cache-control"])
    }

    // MARK: Warnings

    func testPassingResponseWarnings() {
        let reflected = simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao(pageOrigin, acac: "true")))
        XCTAssertEqual(reflected.kind, .passed)
        XCTAssertTrue(reflected.warnings.contains(.credentialedOriginReflection(origin: pageOrigin)))
        XCTAssertTrue(reflected.warnings.contains(.missingVaryOrigin(allowOrigin: pageOrigin)))

        let varied = simpleFetch(response: CORSResponse(status: 200, headers: [("Access-Control-Allow-Origin", pageOrigin), ("Vary", "Accept-Encoding, Origin")]))
        XCTAssertEqual(varied.warnings, [])

        let nullAllowed = simpleFetch(originHeader: "null", response: CORSResponse(status: 200, headers: acao("null")))
        XCTAssertEqual(nullAllowed.kind, .passed)
        XCTAssertTrue(nullAllowed.warnings.contains(.nullOriginAllowed))

        let wildcard = simpleFetch(response: CORSResponse(status: 200, headers: acao("*")))
        XCTAssertEqual(wildcard.warnings, [])
    }

    func testMaxAgeWarnings() {
        let long = preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil)
        XCTAssertEqual(long.warnings, [.missingVaryOrigin(allowOrigin: pageOrigin)])
        func verdict(maxAge: String, profile: BrowserProfile) -> CORSVerdict {
            let request = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors, credentials: .omit)
            let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL, headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "PUT")])
            return CORSEngine.evaluate(CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao("*")),
                                                    preflight: .exchange(request: preflightRequest, response: preflightResponse(allowOrigin: "*", methods: "PUT", extra: [("Access-Control-Max-Age", maxAge)]))),
                                       context: EvaluationContext(profile: profile))
        }
        XCTAssertEqual(verdict(maxAge: "86400", profile: .chromium).warnings, [.maxAgeAboveCap(requested: 86400, cap: 7200)])
        XCTAssertEqual(verdict(maxAge: "86400", profile: .firefox).warnings, [])
        XCTAssertEqual(verdict(maxAge: "3600", profile: .safari).warnings, [.maxAgeAboveCap(requested: 3600, cap: 600)])
        XCTAssertEqual(verdict(maxAge: "1h", profile: .firefox).warnings, [.maxAgeNotCached(value: "1h")])
    }

    func testReflectionAnalysisAcrossRequests() {
        XCTAssertTrue(ReflectionAnalysis.reflectsVerbatim(requestOrigin: "https://evil.example", allowOrigin: "https://evil.example"))
        XCTAssertFalse(ReflectionAnalysis.reflectsVerbatim(requestOrigin: "https://evil.example", allowOrigin: "https://app.example"))
        let observations = [
            ReflectionAnalysis.Observation(requestOrigin: "https://app.example", allowOrigin: "https://app.example", allowCredentials: "true"),
            ReflectionAnalysis.Observation(requestOrigin: "https://evil.example", allowOrigin: "https://evil.example", allowCredentials: "true"),
        ]
        XCTAssertTrue(ReflectionAnalysis.looksLikeArbitraryReflection(observations))
        let exchange = CORSExchange(request: CORSRequest(method: "GET", url: remoteURL, headers: [("Origin", "null")]),
                                    response: CORSResponse(status: 200, headers: acao("null", acac: "true")))
        XCTAssertTrue(ReflectionAnalysis.looksLikeArbitraryReflection([ReflectionAnalysis.observation(of: exchange)!]))
        XCTAssertFalse(ReflectionAnalysis.looksLikeArbitraryReflection(Array(observations.prefix(1))))
    }
}

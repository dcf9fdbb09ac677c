import BrowserRules
import XCTest

/// Exact console strings (Chromium cors_error_string.cc, Firefox security.properties, WebKit).
final class MessageTests: XCTestCase {
    let chromiumPrefix = "Access to fetch at 'http://b.test/resource' from origin 'http://a.test' has been blocked by CORS policy: "
    let firefoxPrefix = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://b.test/resource. (Reason: "

    func testChromiumMissingHeaderCurrentAndLegacy() {
        let verdict = simpleFetch(response: CORSResponse(status: 500))
        XCTAssertEqual(verdict.message(for: .chromium),
                       chromiumPrefix + "No 'Access-Control-Allow-Origin' header is present on the requested resource.")
        XCTAssertEqual(verdict.message(for: .chromium(132)),
                       chromiumPrefix + "No 'Access-Control-Allow-Origin' header is present on the requested resource. If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled.")
    }

    func testChromiumPreflightMismatchHasPrefixAndFetchAdvice() {
        let verdict = preflighted(preflightResponse: preflightResponse(allowOrigin: "https://a.test", methods: "PUT"))
        XCTAssertEqual(verdict.message(for: .chromium),
                       chromiumPrefix + "Response to preflight request doesn't pass access control check: The 'Access-Control-Allow-Origin' header has a value 'https://a.test' that is not equal to the supplied origin. Have the server send the header with a valid value.")
        XCTAssertEqual(verdict.message(for: .chromium(120)),
                       chromiumPrefix + "Response to preflight request doesn't pass access control check: The 'Access-Control-Allow-Origin' header has a value 'https://a.test' that is not equal to the supplied origin. Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled.")
    }

    func testChromiumXHRWildcardAddsWithCredentialsSentence() {
        let verdict = simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao("*")), initiator: .xmlHttpRequest)
        XCTAssertEqual(verdict.message(for: .chromium),
                       "Access to XMLHttpRequest at 'http://b.test/resource' from origin 'http://a.test' has been blocked by CORS policy: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'. The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.")
    }

    func testChromiumMethodAndHeaderMessagesHaveNoPreflightPrefix() {
        let method = preflighted(preflightResponse: preflightResponse(methods: "GET"))
        XCTAssertEqual(method.message(for: .chromium),
                       chromiumPrefix + "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response.")
        let header = preflighted(preflightResponse: preflightResponse(methods: "PUT"), extraHeaders: [("X-Api-Key", "1")])
        XCTAssertEqual(header.message(for: .chromium),
                       chromiumPrefix + "Request header field x-api-key is not allowed by Access-Control-Allow-Headers in preflight response.")
    }

    func testChromiumRedirectedFromAndTaintedOrigin() {
        let verdict = simpleFetch(url: "http://c.test/final", originHeader: "null", redirectedFrom: ["http://b.test/start"],
                                  response: CORSResponse(status: 200, headers: acao(pageOrigin)))
        XCTAssertEqual(verdict.corsError, .allowOriginMismatch)
        XCTAssertEqual(verdict.message(for: .chromium),
                       "Access to fetch at 'http://c.test/final' (redirected from 'http://b.test/start') from origin 'http://a.test' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value 'http://a.test' that is not equal to the supplied origin. Have the server send the header with a valid value.")
    }

    func testChromiumPreflightStatusAndRedirect() {
        XCTAssertEqual(preflighted(preflightResponse: preflightResponse(status: 401, methods: "PUT")).message(for: .chromium),
                       chromiumPrefix + "Response to preflight request doesn't pass access control check: It does not have HTTP ok status.")
        XCTAssertEqual(preflighted(preflightResponse: preflightResponse(status: 307, methods: "PUT", extra: [("Location", "/x")])).message(for: .chromium),
                       chromiumPrefix + "Response to preflight request doesn't pass access control check: Redirect is not allowed for a preflight request.")
    }

    func testChromiumEncodesNonPrintableHintBytes() {
        let verdict = simpleFetch(response: CORSResponse(status: 200, headers: acao("http://é.test")))
        XCTAssertEqual(verdict.failedParameter, "http://é.test")
        XCTAssertEqual(verdict.message(for: .chromium),
                       chromiumPrefix + "The 'Access-Control-Allow-Origin' header has a value 'http://\\u00C3\\u00A9.test' that is not equal to the supplied origin. Have the server send the header with a valid value.")
    }

    func testChromiumRedirectCredentialsPrintsEmptyHint() {
        let verdict = simpleFetch(response: CORSResponse(status: 302, headers: [("Location", "http://u:p@c.test/"), ("Access-Control-Allow-Origin", "*")]))
        XCTAssertEqual(verdict.message(for: .chromium),
                       chromiumPrefix + "Redirect location '' contains a username and password, which is disallowed for cross-origin requests.")
    }

    func testFirefoxMessages() {
        XCTAssertEqual(simpleFetch(response: CORSResponse(status: 404)).message(for: .firefox),
                       firefoxPrefix + "CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 404.")
        let twoLines = simpleFetch(response: CORSResponse(status: 200, headers: [("Access-Control-Allow-Origin", pageOrigin), ("Access-Control-Allow-Origin", "*")]))
        XCTAssertEqual(twoLines.message(for: .firefox), firefoxPrefix + "Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed).")
        let joined = simpleFetch(response: CORSResponse(status: 200, headers: acao("\(pageOrigin), *")))
        XCTAssertEqual(joined.message(for: .firefox), firefoxPrefix + "CORS header ‘Access-Control-Allow-Origin’ does not match ‘http://a.test, *’).")
        let wildcard = simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao("*")))
        XCTAssertEqual(wildcard.message(for: .firefox),
                       "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ‘http://b.test/resource’. (Reason: Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).")
        XCTAssertEqual(preflighted(preflightResponse: preflightResponse(status: 403, methods: "PUT"), profile: .firefox).message(for: .firefox),
                       firefoxPrefix + "CORS preflight response did not succeed). Status code: 403.")
        XCTAssertEqual(preflighted(preflightResponse: preflightResponse(methods: "PUT", headers: "a b"), profile: .firefox).message(for: .firefox),
                       firefoxPrefix + "invalid token ‘a b’ in CORS header ‘Access-Control-Allow-Headers’).")
        XCTAssertEqual(preflighted(preflightResponse: preflightResponse(methods: "PUT"), extraHeaders: [("X-Api-Key", "1")], profile: .firefox).message(for: .firefox),
                       firefoxPrefix + "header ‘x-api-key’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).")
    }

    func testSafariMessages() {
        XCTAssertEqual(simpleFetch(response: CORSResponse(status: 413)).message(for: .safari),
                       "Origin http://a.test is not allowed by Access-Control-Allow-Origin. Status code: 413\nFetch API cannot load http://b.test/resource due to access control checks.")
        XCTAssertEqual(preflighted(preflightResponse: preflightResponse(methods: "PUT"), extraHeaders: [("X-Api-Key", "1")], profile: .safari).message(for: .safari),
                       "Request header field X-Api-Key is not allowed by Access-Control-Allow-Headers.\nFetch API cannot load http://b.test/resource due to access control checks.")
        XCTAssertEqual(simpleFetch(response: CORSResponse(status: 200, headers: acao("\(pageOrigin), *"))).message(for: .safari),
                       "Access-Control-Allow-Origin cannot contain more than one origin.\nFetch API cannot load http://b.test/resource due to access control checks.")
    }

    func testSafariRedirectHopNamesTheTarget() {
        let verdict = simpleFetch(response: CORSResponse(status: 302, headers: [("Location", "/login")]))
        XCTAssertEqual(verdict.corsError, .missingAllowOriginHeader)
        XCTAssertEqual(verdict.failure?.stage, .redirect)
        XCTAssertEqual(verdict.message(for: .safari),
                       "Cross-origin redirection to http://b.test/login denied by Cross-Origin Resource Sharing policy: Origin http://a.test is not allowed by Access-Control-Allow-Origin. Status code: 302\nFetch API cannot load http://b.test/resource due to access control checks.")
    }

    func testWarningTexts() {
        XCTAssertEqual(CORSWarning.authorizationCoveredOnlyByWildcard.consoleText(url: remoteURL, profile: .chromium),
                       "Authorization will not be covered by the wildcard symbol (*) in CORS `Access-Control-Allow-Headers` handling.")
        XCTAssertNil(CORSWarning.authorizationCoveredOnlyByWildcard.consoleText(url: remoteURL, profile: .firefox(110)))
        XCTAssertTrue(CORSWarning.authorizationCoveredOnlyByWildcard.consoleText(url: remoteURL, profile: .firefox)!
            .hasPrefix("Cross-Origin Request Warning: The Same Origin Policy will disallow reading the remote resource at http://b.test/resource soon."))
    }
}

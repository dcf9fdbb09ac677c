import BrowserRules
import XCTest

/// Firefox reason keys (nsCORSListenerProxy.cpp `LogBlockedRequest` keys, named as the web
/// console's MDN links name them in devtools/server/actors/errordocs.js).
final class FirefoxReasonsTests: XCTestCase {
    /// Every `CorsError` with one ACAO line, and the key Firefox reports (nil: no CORS reason).
    static let expected: [CorsError: String?] = [
        .disallowedByMode: nil,
        .invalidResponse: "CORSDidNotSucceed",
        .wildcardOriginNotAllowed: "CORSNotSupportingCredentials",
        .missingAllowOriginHeader: "CORSMissingAllowOrigin",
        .multipleAllowOriginValues: "CORSAllowOriginNotMatchingOrigin",
        .invalidAllowOriginValue: "CORSAllowOriginNotMatchingOrigin",
        .allowOriginMismatch: "CORSAllowOriginNotMatchingOrigin",
        .invalidAllowCredentials: "CORSMissingAllowCredentials",
        .corsDisabledScheme: "CORSRequestNotHttp",
        .preflightInvalidStatus: "CORSPreflightDidNotSucceed",
        .preflightDisallowedRedirect: "CORSExternalRedirectNotAllowed",
        .preflightWildcardOriginNotAllowed: "CORSNotSupportingCredentials",
        .preflightMissingAllowOriginHeader: "CORSMissingAllowOrigin",
        .preflightMultipleAllowOriginValues: "CORSAllowOriginNotMatchingOrigin",
        .preflightInvalidAllowOriginValue: "CORSAllowOriginNotMatchingOrigin",
        .preflightAllowOriginMismatch: "CORSAllowOriginNotMatchingOrigin",
        .preflightInvalidAllowCredentials: "CORSMissingAllowCredentials",
        .invalidAllowMethodsPreflightResponse: "CORSInvalidAllowMethod",
        .invalidAllowHeadersPreflightResponse: "CORSInvalidAllowHeader",
        .methodDisallowedByPreflightResponse: "CORSMethodNotFound",
        .headerDisallowedByPreflightResponse: "CORSMissingAllowHeaderFromPreflight",
        // Recorded (redirect-userinfo): the refused redirect surfaces as CORSDidNotSucceed2.
        .redirectContainsCredentials: "CORSDidNotSucceed",
        .insecureLocalNetwork: nil,
        .invalidLocalNetworkAccess: nil,
        .localNetworkAccessPermissionDenied: nil,
    ]

    /// The reason part of each key's security.properties text (FF-L10N), to tie the key to the
    /// console text `ConsoleMessages` prints.
    static let reasonText: [String: String] = [
        "CORSDidNotSucceed": "(Reason: CORS request did not succeed)",
        "CORSNotSupportingCredentials": "(Reason: Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’)",
        "CORSMissingAllowOrigin": "(Reason: CORS header ‘Access-Control-Allow-Origin’ missing)",
        "CORSAllowOriginNotMatchingOrigin": "(Reason: CORS header ‘Access-Control-Allow-Origin’ does not match ‘",
        "CORSMultipleAllowOriginNotAllowed": "(Reason: Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed)",
        "CORSMissingAllowCredentials": "(Reason: expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’)",
        "CORSRequestNotHttp": "(Reason: CORS request not http)",
        "CORSPreflightDidNotSucceed": "(Reason: CORS preflight response did not succeed)",
        "CORSExternalRedirectNotAllowed": "(Reason: CORS request external redirect not allowed)",
        "CORSInvalidAllowMethod": "in CORS header ‘Access-Control-Allow-Methods’)",
        "CORSInvalidAllowHeader": "in CORS header ‘Access-Control-Allow-Headers’)",
        "CORSMethodNotFound": "(Reason: Did not find method in CORS header ‘Access-Control-Allow-Methods’)",
        "CORSMissingAllowHeaderFromPreflight": "is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response)",
    ]

    func failure(_ error: CorsError, lines: Int = 1, value: String = "http://x.test") -> CORSFailure {
        CORSFailure(
            error: error, failedParameter: "x", stage: error.concernsPreflight ? .preflight : .response,
            details: FailureDetails(url: remoteURL, initiatorOrigin: pageOrigin, status: 200,
                                    allowOriginValue: value, allowOriginLineCount: lines))
    }

    func testEveryCorsErrorHasAnEntry() {
        for error in CorsError.allCases {
            guard let key = Self.expected[error] else {
                XCTFail("\(error): no expected Firefox reason in this test")
                continue
            }
            XCTAssertEqual(failure(error).firefoxReason, key, "\(error)")
        }
        XCTAssertEqual(Self.expected.count, CorsError.allCases.count)
    }

    func testSeveralAllowOriginLinesAreFirefoxsMultipleReason() {
        let originErrors: [CorsError] = [
            .multipleAllowOriginValues, .invalidAllowOriginValue, .allowOriginMismatch,
            .preflightMultipleAllowOriginValues, .preflightInvalidAllowOriginValue, .preflightAllowOriginMismatch,
        ]
        for error in originErrors {
            XCTAssertEqual(failure(error, lines: 2).firefoxReason, "CORSMultipleAllowOriginNotAllowed", "\(error)")
            XCTAssertEqual(failure(error, lines: 2).firefoxConsoleCategory, "CORSMultipleAllowOriginNotAllowed")
            XCTAssertEqual(failure(error, lines: 1).firefoxConsoleCategory, "CORSAllowOriginNotMatchingOrigin")
        }
        // Line count only matters for the ACAO value cases.
        XCTAssertEqual(failure(.missingAllowOriginHeader, lines: 0).firefoxReason, "CORSMissingAllowOrigin")
        XCTAssertEqual(failure(.invalidAllowCredentials, lines: 1).firefoxReason, "CORSMissingAllowCredentials")
    }

    /// Same cases as `ConsoleMessages.firefox`: a key exactly when Firefox prints a CORS message,
    /// and the message is that key's text.
    func testConsistentWithFirefoxConsoleMessages() {
        for error in CorsError.allCases {
            for lines in [1, 2] {
                let failure = failure(error, lines: lines)
                let message = failure.message(for: .firefox)
                guard let key = failure.firefoxReason else {
                    XCTAssertNil(message, "\(error): no key but a message")
                    continue
                }
                guard let message else {
                    XCTFail("\(error): key \(key) but no message")
                    continue
                }
                XCTAssertTrue(message.hasPrefix("Cross-Origin Request Blocked: "), "\(error): \(message)")
                guard let text = Self.reasonText[key] else {
                    XCTFail("\(key): no reason text in this test")
                    continue
                }
                XCTAssertTrue(message.contains(text), "\(error) \(key): \(message)")
            }
        }
    }

    func testConsoleCategoryNamesAsFirefoxLogsThem() {
        XCTAssertEqual(failure(.missingAllowOriginHeader).firefoxConsoleCategory, "CORSMissingAllowOrigin2")
        XCTAssertEqual(failure(.preflightInvalidStatus).firefoxConsoleCategory, "CORSPreflightDidNotSucceed3")
        XCTAssertEqual(failure(.invalidResponse).firefoxConsoleCategory, "CORSDidNotSucceed2")
        XCTAssertEqual(failure(.headerDisallowedByPreflightResponse).firefoxConsoleCategory,
                       "CORSMissingAllowHeaderFromPreflight2")
        XCTAssertEqual(failure(.redirectContainsCredentials).firefoxConsoleCategory, "CORSDidNotSucceed2")
        XCTAssertNil(failure(.disallowedByMode).firefoxConsoleCategory)
        for error in CorsError.allCases {
            let f = failure(error)
            XCTAssertEqual(f.firefoxConsoleCategory.map(FirefoxReason.reason(forConsoleCategory:)), f.firefoxReason)
        }
    }

    func testReasonForConsoleCategory() {
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "CORSMissingAllowOrigin2"), "CORSMissingAllowOrigin")
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "CORSPreflightDidNotSucceed3"), "CORSPreflightDidNotSucceed")
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "CORSAllowOriginNotMatchingOrigin"),
                       "CORSAllowOriginNotMatchingOrigin")
        // Unknown (older or newer) spellings: the trailing version digits go.
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "CORSPreflightDidNotSucceed"), "CORSPreflightDidNotSucceed")
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "CORSMissingAllowOrigin3"), "CORSMissingAllowOrigin")
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "CORSAllowHeaderFromPreflightDeprecation"),
                       "CORSAllowHeaderFromPreflightDeprecation")
        XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: "42"), "42")
    }

    /// Every category real Firefox logged in the recording (Captures/firefox, Firefox ESR) is in
    /// the table, and maps to the reason key the recording names.
    func testRecordedFirefoxCategoriesAreKnown() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = root.appendingPathComponent("Captures/firefox/firefox-cors.results.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("no Firefox recording (Captures/record-firefox.sh)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var seen = Set<String>()
        for result in json["results"] as! [[String: Any]] {
            for message in result["console"] as? [[String: Any]] ?? [] {
                guard (message["level"] as? String) == "error", let category = message["category"] as? String else { continue }
                seen.insert(category)
                XCTAssertNotNil(FirefoxReason.consoleCategoryToReason[category], "unknown Firefox category \(category)")
            }
            if let category = result["category"] as? String {
                XCTAssertEqual(FirefoxReason.reason(forConsoleCategory: category), result["reason"] as? String)
            }
        }
        XCTAssertTrue(seen.contains("CORSMissingAllowOrigin2"), "recording without CORS errors?")
    }

    // MARK: verdicts from the engine

    func testEngineVerdictsCarryFirefoxReasons() {
        let twoLines = HTTPHeaders([.init(name: "Access-Control-Allow-Origin", value: pageOrigin),
                                    .init(name: "Access-Control-Allow-Origin", value: "*")])
        let cases: [(String, CORSVerdict, String?)] = [
            ("no ACAO", simpleFetch(response: CORSResponse(status: 404), profile: .firefox), "CORSMissingAllowOrigin"),
            ("two ACAO lines", simpleFetch(response: CORSResponse(status: 200, headers: twoLines), profile: .firefox),
             "CORSMultipleAllowOriginNotAllowed"),
            ("comma list in one line",
             simpleFetch(response: CORSResponse(status: 200, headers: acao(pageOrigin + ", http://c.test")), profile: .firefox),
             "CORSAllowOriginNotMatchingOrigin"),
            ("trailing slash", simpleFetch(response: CORSResponse(status: 200, headers: acao(pageOrigin + "/")), profile: .firefox),
             "CORSAllowOriginNotMatchingOrigin"),
            ("wildcard + credentials",
             simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao("*", acac: "true")), profile: .firefox),
             "CORSNotSupportingCredentials"),
            ("ACAC True",
             simpleFetch(credentials: .include, response: CORSResponse(status: 200, headers: acao(pageOrigin, acac: "True")), profile: .firefox),
             "CORSMissingAllowCredentials"),
            ("preflight 405",
             preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil, preflightStatus: 405, profile: .firefox),
             "CORSPreflightDidNotSucceed"),
            ("method missing",
             preflightedFetch(method: "DELETE", credentials: false, acam: "GET, POST", acah: nil, profile: .firefox),
             "CORSMethodNotFound"),
            ("header missing",
             preflightedFetch(method: "PUT", headers: [("X-Other", "1")], credentials: false, acam: "PUT",
                              acah: "Content-Type", profile: .firefox),
             "CORSMissingAllowHeaderFromPreflight"),
            ("ACAM bad token",
             preflightedFetch(method: "PUT", credentials: false, acam: "PUT, G(ET", acah: nil, profile: .firefox),
             "CORSInvalidAllowMethod"),
            ("passes", simpleFetch(response: CORSResponse(status: 200, headers: acao(pageOrigin)), profile: .firefox), nil),
        ]
        for (name, verdict, key) in cases {
            XCTAssertEqual(verdict.failure?.firefoxReason, key, "\(name): \(kindAndError(verdict))")
        }
    }
}

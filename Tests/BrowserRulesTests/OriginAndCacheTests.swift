import BrowserRules
import XCTest

final class OriginTests: XCTestCase {
    func testSerialisation() {
        let rows: [(String, String?)] = [
            ("HTTP://Example.COM/path?q", "http://example.com"),
            ("https://example.com:443/", "https://example.com"),
            ("https://example.com:8443", "https://example.com:8443"),
            ("http://example.com:80", "http://example.com"),
            ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080"),
            ("http://[::1]/", "http://[::1]"),
            ("http://user:pw@example.com/", "http://example.com"),
            ("ws://chat.example:80/", "ws://chat.example"),
            ("data:text/plain,hi", "null"),
            ("file:///etc/hosts", "null"),
            ("blob:https://app.example/uuid", "https://app.example"),
            ("example.com", nil),
            ("http://exa mple.com/", nil),
            ("http://example.com:99999/", nil),
        ]
        for (url, expected) in rows {
            XCTAssertEqual(Origin(url: url)?.serialized, expected, url)
        }
    }

    func testOriginHeaderValues() {
        XCTAssertEqual(Origin(serialized: "null"), .opaque)
        XCTAssertEqual(Origin(serialized: "https://a.example:444"), .tuple(scheme: "https", host: "a.example", port: 444))
        XCTAssertNil(Origin(serialized: "https://a.example/"))
        XCTAssertNil(Origin(serialized: "https://u@a.example"))
        XCTAssertNil(Origin(serialized: "a.example"))
        XCTAssertFalse(Origin.opaque.isSameOrigin(as: .opaque))
    }

    func testURLCredentials() {
        XCTAssertTrue(ParsedURL("http://user:@h/")!.includesCredentials)
        XCTAssertTrue(ParsedURL("http://:pw@h/")!.includesCredentials)
        XCTAssertFalse(ParsedURL("http://@h/")!.includesCredentials)
        XCTAssertEqual(ParsedURL("HTTP://H.test")!.canonicalString, "http://h.test/")
    }

    func testRelativeLocationResolution() {
        XCTAssertEqual(RedirectRules.resolve(location: "/next", against: "https://b.test/a/b?q"), "https://b.test/next")
        XCTAssertEqual(RedirectRules.resolve(location: "//c.test/x", against: "https://b.test/a"), "https://c.test/x")
        XCTAssertEqual(RedirectRules.resolve(location: "next", against: "https://b.test/a/b"), "https://b.test/a/next")
    }
}

final class PreflightCacheTests: XCTestCase {
    func testMaxAgePerBrowser() {
        let rows: [(String?, BrowserProfile, PreflightLifetime)] = [
            (nil, .chromium, .seconds(5)), (nil, .firefox, .seconds(5)), (nil, .safari, .seconds(5)),
            ("600", .chromium, .seconds(600)), ("86400", .chromium, .seconds(7200)),
            ("86400", .firefox, .seconds(86400)), ("999999", .firefox, .seconds(86400)), ("86400", .safari, .seconds(600)),
            ("abc", .chromium, .seconds(5)), ("abc", .firefox, .notCached), ("abc", .safari, .seconds(5)),
            ("-5", .chromium, .seconds(0)), ("-5", .firefox, .notCached), ("-5", .safari, .seconds(0)),
            ("0", .chromium, .seconds(0)), ("0", .firefox, .notCached),
            (" 30 ", .chromium, .seconds(30)), ("1.5", .chromium, .seconds(5)),
        ]
        for (value, profile, expected) in rows {
            XCTAssertEqual(PreflightCachePolicy.lifetime(maxAgeHeader: value, profile: profile), expected, "\(value ?? "absent") \(profile)")
        }
    }

    func testCacheHitsApplyTheAuthorizationRule() {
        let entry = PreflightCacheEntry(origin: pageOrigin, url: remoteURL, credentials: false,
                                        methods: AllowList(items: ["*"]), headerNames: AllowList(items: ["*"]),
                                        storedAt: 0, lifetime: .seconds(60))
        XCTAssertTrue(entry.canServe(origin: pageOrigin, url: remoteURL, method: "DELETE", headerNames: ["x-a"], includeCredentials: false, at: 1))
        XCTAssertFalse(entry.canServe(origin: pageOrigin, url: remoteURL, method: "GET", headerNames: ["authorization"], includeCredentials: false, at: 1))
        XCTAssertFalse(entry.canServe(origin: pageOrigin, url: remoteURL, method: "DELETE", headerNames: [], includeCredentials: false, at: 60))
        XCTAssertFalse(entry.canServe(origin: pageOrigin, url: otherRemoteURL, method: "DELETE", headerNames: [], includeCredentials: false, at: 1))
        XCTAssertFalse(entry.canServe(origin: "http://z.test", url: remoteURL, method: "DELETE", headerNames: [], includeCredentials: false, at: 1))
    }
}

final class ParsingTests: XCTestCase {
    func testHeaderListsCombineLinesAndTrim() {
        let headers: HTTPHeaders = [("access-control-allow-methods", " GET "), ("Access-Control-Allow-Methods", "PUT,\tpatch")]
        XCTAssertEqual(headers.combinedValue(named: "Access-Control-Allow-Methods"), "GET, PUT,\tpatch")
        XCTAssertEqual(try AllowListParser.parseMethods(headers).get().items, ["GET", "PUT", "patch"])
        XCTAssertEqual(try AllowListParser.parseHeaderNames([("Access-Control-Allow-Headers", "X-A, x-b")]).get().items, ["x-a", "x-b"])
        guard case let .failure(error) = AllowListParser.parseMethods([("Access-Control-Allow-Methods", "GET, PU T")]) else {
            return XCTFail("should not parse")
        }
        XCTAssertEqual(error.invalidToken, "PU T")
        XCTAssertEqual(error.headerValue, "GET, PU T")
    }

    func testExposeHeadersSyntaxErrorExposesNothingExtra() {
        let response = CORSResponse(status: 200, headers: [("Access-Control-Expose-Headers", "X-A, bad value"), ("X-A", "1")])
        XCTAssertFalse(ExposedHeaders.isExposed("X-A", response: response, includeCredentials: false))
        XCTAssertTrue(ExposedHeaders.isExposed("Content-Length", response: response, includeCredentials: false))
    }

    func testMethodNormalisation() {
        XCTAssertEqual(MethodRules.normalize("delete"), "DELETE")
        XCTAssertEqual(MethodRules.normalize("patch"), "patch")
        XCTAssertEqual(MethodRules.normalize("Options"), "OPTIONS")
    }

    func testForbiddenHeaderNames() {
        XCTAssertTrue(HeaderRules.isForbidden(name: "Sec-Fetch-Site", value: "cross-site"))
        XCTAssertTrue(HeaderRules.isForbidden(name: "Proxy-Authorization", value: "x"))
        XCTAssertTrue(HeaderRules.isForbidden(name: "X-HTTP-Method-Override", value: "GET, TRACE"))
        XCTAssertFalse(HeaderRules.isForbidden(name: "X-HTTP-Method-Override", value: "PATCH"))
        XCTAssertTrue(HeaderRules.isForbidden(name: "User-Agent", value: "x", profile: .chromium))
        XCTAssertFalse(HeaderRules.isForbidden(name: "User-Agent", value: "x", profile: .firefox))
    }
}

final class CaptureTimelineTests: XCTestCase {
    func testEarlierPreflightCoversALaterRequestUntilItExpires() {
        let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL, headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "PUT")])
        let put = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors, credentials: .omit)
        let ok = CORSResponse(status: 200, headers: acao("*"))
        let first = CORSExchange(request: put, response: ok,
                                 preflight: .exchange(request: preflightRequest, response: preflightResponse(allowOrigin: "*", methods: "PUT", extra: [("Access-Control-Max-Age", "60")])))
        let later = CORSExchange(request: put, response: nil)
        let verdicts = CaptureTimeline.evaluate([(later, 130), (first, 100), (later, 120)])
        XCTAssertEqual(verdicts.map(\.kind), [.passed, .undecidable, .undecidable])
        // Sorted by time: t=120 and t=130 are within max-age (100 + 60) and covered by the cache;
        // their responses were not captured, hence undecidable, but no preflight is demanded.
        XCTAssertTrue(verdicts[1].notes.contains { $0.contains("earlier preflight") }, "\(verdicts[1].notes)")
        XCTAssertTrue(verdicts[2].notes.contains { $0.contains("earlier preflight") })

        let expired = CaptureTimeline.evaluate([(first, 100), (later, 200)])
        XCTAssertTrue(expired[1].missingEvidence.contains { $0.contains("OPTIONS") })
    }
}

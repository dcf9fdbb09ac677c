import BrowserRules
import CorscopeHTTP
import CorscopeReports
import CorscopeVerdicts
import XCTest

/// The report of the bundled captures: groups, reasons, templates and the layer inference for
/// the cases the captures were recorded to show.
final class ReportBuilderTests: XCTestCase {
    func testNginxCaptureGroupsBlockedRequestsByReasonAndEndpoint() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        XCTAssertEqual(report.totals.exchanges, 27)
        // preflight-narrow asks for X-Other: blocked whatever the credentials mode (the reason
        // is the no-credentials one, the default when no Cookie is sent).
        XCTAssertEqual(report.totals.blocked, 9)
        XCTAssertEqual(report.totals.undecidable, 0, "no credentials mode left undecided: the default is assumed")
        XCTAssertEqual(report.totals.assumedCredentials, 14)
        XCTAssertEqual(report.origins.map(\.origin), ["http://127.0.0.1:24482", "http://evil.example"])
        let page = report.origins[0]
        XCTAssertEqual(page.blocked, 9)
        XCTAssertEqual(page.groups.reduce(0) { $0 + $1.count }, page.blocked)
        let summary = Set(page.groups.map { "\($0.reason) \($0.endpoint)" })
        XCTAssertEqual(summary, [
            "MissingAllowOriginHeader GET /api/noalways/notfound",
            "MissingAllowOriginHeader GET /api/noalways/error",
            "MissingAllowOriginHeader POST /static/data.json",
            "MissingAllowOriginHeader GET /api/redirect-nocors",
            "WildcardOriginNotAllowed GET /api/wildcard-creds",
            "PreflightMissingAllowOriginHeader PUT /static/data.json",
            "PreflightDisallowedRedirect DELETE /api/private",
            "MultipleAllowOriginValues GET /proxy/cors",
            "HeaderDisallowedByPreflightResponse PUT /api/preflight-narrow",
        ])
        let narrow = try XCTUnwrap(page.groups.first { $0.reason == "HeaderDisallowedByPreflightResponse" })
        XCTAssertEqual(narrow.assumption?.credentials, "omit")
        XCTAssertEqual(narrow.assumption?.alternative, "if credentials were included: blocked (PreflightInvalidAllowCredentials)")
        XCTAssertNil(page.groups.first { $0.reason == "WildcardOriginNotAllowed" }?.assumption, "a Cookie was sent: nothing assumed")
        for group in page.groups {
            XCTAssertEqual(group.host, "127.0.0.1:24480")
            XCTAssertFalse(group.messages.isEmpty, "\(group.reason) has no console message")
            XCTAssertTrue(group.messages[0].text.contains("has been blocked by CORS policy"))
            XCTAssertFalse(group.example.requestHeaders.isEmpty)
            XCTAssertEqual(group.exchangeIDs.first, group.example.id)
            XCTAssertFalse(group.fix.snippets.isEmpty)
            XCTAssertFalse(group.layer.reasoning.isEmpty)
        }
        XCTAssertEqual(report.origins[1].passed, 1, "the reflected evil.example request passed")
        XCTAssertEqual(report.origins[1].warningCounts.map(\.code), ["credentialed-origin-reflection"])
    }

    func testNginxErrorAnswersWithoutACAOBlameAddHeaderWithoutAlways() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        let group = try XCTUnwrap(report.origins[0].groups.first { $0.endpoint == "GET /api/noalways/notfound" })
        XCTAssertEqual(group.layer.layer, .server)
        XCTAssertEqual(group.layer.component, "nginx")
        XCTAssertEqual(group.layer.confidence, "high")
        let reasoning = group.layer.reasoning.joined(separator: " ")
        XCTAssertTrue(reasoning.contains("`always`"), reasoning)
        XCTAssertTrue(reasoning.contains("/api/noalways/ok"), "names the 2xx that had the header: \(reasoning)")
        XCTAssertEqual(group.fix.snippets.map(\.target), ["nginx"])
        XCTAssertTrue(group.fix.snippets[0].code.contains("add_header Access-Control-Allow-Origin \"http://127.0.0.1:24482\" always;"))
        XCTAssertTrue(group.fix.snippets[0].code.contains("if ($request_method = OPTIONS)"))
        XCTAssertTrue(group.fix.summary.contains("always"))
    }

    func testDuplicateACAOIsTwoLayers() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        let group = try XCTUnwrap(report.origins[0].groups.first { $0.reason == "MultipleAllowOriginValues" })
        XCTAssertEqual(group.layer.layer, .multipleLayers)
        XCTAssertTrue(group.layer.reasoning.joined().contains("two layers"))
        XCTAssertTrue(group.fix.snippets[0].code.contains("proxy_hide_header Access-Control-Allow-Origin;"))
    }

    func testPreflightRedirectedToLoginIsEdgeAuth() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        let group = try XCTUnwrap(report.origins[0].groups.first { $0.reason == "PreflightDisallowedRedirect" })
        XCTAssertEqual(group.endpoint, "DELETE /api/private", "grouped under the method the preflight asked for")
        XCTAssertEqual(group.stage, "preflight")
        XCTAssertEqual(group.layer.layer, .edgeAuth)
        XCTAssertEqual(group.layer.confidence, "high")
        XCTAssertTrue(group.layer.reasoning.joined().contains("/login"))
        XCTAssertTrue(group.fix.summary.contains("authentication"))
    }

    func testWildcardWithCredentials() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        let group = try XCTUnwrap(report.origins[0].groups.first { $0.reason == "WildcardOriginNotAllowed" })
        XCTAssertTrue(group.fix.snippets[0].code.contains("Access-Control-Allow-Credentials \"true\""))
        XCTAssertTrue(group.example.requestHeaders.contains { $0.name == "Cookie" && $0.value == "session=[redacted]" })
    }

    func testRealChromiumCaptureDropsQueriesFromEndpoints() throws {
        let report = try Support.report(capture: "chromium/chromium-cors.pcapng")
        let groups = report.origins.flatMap(\.groups)
        XCTAssertFalse(groups.isEmpty)
        for group in groups { XCTAssertFalse(group.pathTemplate.contains("?"), group.pathTemplate) }
        let endpoints = Set(groups.map { "\($0.reason) \($0.endpoint)" })
        XCTAssertTrue(endpoints.contains("MissingAllowOriginHeader GET /api/noalways/notfound"), "\(endpoints)")
        XCTAssertTrue(endpoints.contains("PreflightDisallowedRedirect DELETE /api/private") || endpoints.contains { $0.hasPrefix("PreflightDisallowedRedirect") })
        XCTAssertTrue(endpoints.contains("MultipleAllowOriginValues GET /proxy/cors"))
        // Chromium sends Sec-Fetch headers and cookies: the example keeps the first, hides the second.
        let example = try XCTUnwrap(groups.first { $0.reason == "WildcardOriginNotAllowed" }?.example)
        XCTAssertTrue(example.requestHeaders.contains { $0.name.lowercased() == "sec-fetch-mode" })
        for header in example.requestHeaders where header.name.lowercased() == "cookie" {
            XCTAssertFalse(header.value.contains("s3cr3t"), header.value)
        }
        XCTAssertFalse(example.url.contains("?scenario=") && example.url.contains("[redacted]"), "harmless queries stay")
    }

    func testFirefoxMessagesFollowChromiumsWhenAsked() throws {
        let report = try Support.report(capture: "nginx-cors.pcap", profile: .firefox)
        let group = try XCTUnwrap(report.origins[0].groups.first { $0.reason == "MissingAllowOriginHeader" })
        XCTAssertEqual(group.messages.map(\.browser), ["chromium", "firefox"])
        XCTAssertTrue(group.messages[1].text.contains("Cross-Origin Request Blocked"), group.messages[1].text)
        XCTAssertEqual(report.browser, "firefox")
    }

    func testTimelineBinsCoverEveryBlockedRequest() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        XCTAssertGreaterThan(report.timeline.binCount, 0)
        for origin in report.origins {
            XCTAssertEqual(origin.blockedOverTime.count, report.timeline.binCount)
            XCTAssertEqual(origin.blockedOverTime.reduce(0, +), origin.blocked)
        }
    }

    func testRepeatedFailuresOnTemplatedPathsFormOneGroup() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        let base = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/notfound")
        var copies: [HTTPExchange] = []
        for (i, target) in ["/api/users/1/orders", "/api/users/22/orders?x=1", "/api/users/333/orders"].enumerated() {
            var copy = base
            copy.index = 100 + i
            copy.request!.head.target = target
            copies.append(copy)
        }
        let report = Support.report(copies)
        let groups = report.origins.flatMap(\.groups)
        XCTAssertEqual(groups.count, 1)
        XCTAssertEqual(groups[0].endpoint, "GET /api/users/{id}/orders")
        XCTAssertEqual(groups[0].count, 3)
        XCTAssertEqual(groups[0].exchangeIDs, ["0.100", "0.101", "0.102"])
    }

    func testFailConditions() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        // Only the credentialed reflections: they pass, with a warning each.
        let warnedOnly = Support.report(exchanges.filter { $0.request?.head.target == "/api/reflect" })
        XCTAssertEqual(warnedOnly.totals.blocked, 0)
        XCTAssertGreaterThan(warnedOnly.totals.warnings, 0)
        XCTAssertFalse(warnedOnly.meets(.blocked))
        XCTAssertTrue(warnedOnly.meets(.warning))
        XCTAssertFalse(warnedOnly.meets(.never))
        let all = Support.report(exchanges)
        XCTAssertTrue(all.meets(.blocked))
        XCTAssertFalse(all.meets(.never))
        let empty = Support.report([])
        XCTAssertFalse(empty.meets(.warning))
        XCTAssertEqual(empty.origins.count, 0)
        XCTAssertNil(empty.timeline.start)
    }

    func testOriginsBeyondTheLimitAreCountedTogether() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        let base = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/notfound")
        var many: [HTTPExchange] = []
        for i in 0..<5 {
            var copy = base
            copy.index = 200 + i
            copy.request!.head.headers = Support.fields(base.request!.head.headers, set: [("Origin", "https://site\(i).example")])
            many.append(copy)
        }
        var options = ReportBuilder.Options()
        options.limits.maxOrigins = 2
        let builder = ReportBuilder(options: options)
        let judge = ExchangeJudge()
        for exchange in many { judge.judge(exchange).forEach(builder.add) }
        let report = builder.finish()
        XCTAssertEqual(report.origins.map(\.origin), [ReportBuilder.otherOrigins, "https://site0.example", "https://site1.example"])
        XCTAssertEqual(report.origins[0].blocked, 3)
        XCTAssertEqual(report.totals.blocked, 5)
    }

    /// Streaming with bounded memory: thousands of blocked requests keep one example and the
    /// first ids only, and the counts stay exact.
    func testEvidenceStaysBoundedWhileCountsStayExact() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        let base = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/notfound")
        let builder = ReportBuilder()
        let judge = ExchangeJudge()
        for i in 0..<3000 {
            var copy = base
            copy.index = 1000 + i
            copy.request!.head.target = "/api/items/\(i)/notfound?page=\(i)"
            judge.judge(copy).forEach(builder.add)
        }
        let report = builder.finish()
        let group = try XCTUnwrap(report.origins.first?.groups.first)
        XCTAssertEqual(report.origins.first?.groups.count, 1)
        XCTAssertEqual(group.endpoint, "GET /api/items/{id}/notfound")
        XCTAssertEqual(group.count, 3000)
        XCTAssertEqual(group.exchangeIDs.count, ReportBuilder.Limits().evidencePerGroup)
        XCTAssertEqual(group.example.id, "0.1000")
        XCTAssertEqual(report.totals.blocked, 3000)
    }
}

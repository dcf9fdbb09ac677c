import CorscopeHTTP
@testable import CorscopeReports
import XCTest

/// The findings next to the verdicts, on Chromium's real recording: a shared cache primed by a
/// request without Origin, and a WebSocket handshake refused for the page's origin.
final class FindingTests: XCTestCase {
    static let primedPath = "/cached-noorigin/badge"

    func testSharedCachePrimedByARequestWithoutOriginIsACacheFinding() throws {
        let report = try Support.report(capture: "chromium/chromium-cors.pcapng")
        let finding = try XCTUnwrap(report.cacheFindings.first { $0.kind == .cachedAnswerToRequestWithoutOrigin }, "\(report.cacheFindings.map(\.kind))")
        XCTAssertEqual(finding.severity, .high)
        XCTAssertEqual(finding.urlTemplate, Self.primedPath)
        XCTAssertEqual(finding.exchangeIDs.count, 2, "the priming answer and the CORS request it was served to")
        XCTAssertTrue(finding.evidence.contains("X-Cache-Status: HIT"), finding.evidence)
        XCTAssertEqual(finding.cdn, "nginx proxy_cache")
        // And the CORS request itself is blocked for the missing ACAO.
        let blocked = report.origins.flatMap(\.groups).first { $0.pathTemplate == Self.primedPath }
        XCTAssertEqual(blocked?.reason, "MissingAllowOriginHeader")
    }

    /// Over HTTPS (the same scenarios recorded over TLS and HTTP/2) the findings name https URLs:
    /// a cache keys http and https apart, and a refused WebSocket handshake is a wss one.
    func testHTTPSFindingsCarryTheirScheme() throws {
        let report = try Support.report(capture: "chromium-https/chromium-https.pcapng")
        let primed = try XCTUnwrap(report.cacheFindings.first { $0.kind == .cachedAnswerToRequestWithoutOrigin })
        XCTAssertEqual(primed.scheme, "https")
        XCTAssertEqual(primed.host, "127.0.0.1:24700")
        let otherOrigin = try XCTUnwrap(report.cacheFindings.first { $0.kind == .cachedAllowOriginForOtherOrigin && $0.urlTemplate == "/cached/resource" })
        XCTAssertEqual(otherOrigin.scheme, "https", "nginx proxy_cache served page B's answer to page A over one HTTP/2 connection")
        let websocket = try XCTUnwrap(report.websocketFindings.first)
        XCTAssertEqual(websocket.scheme, "wss")
        XCTAssertEqual(websocket.origin, "https://127.0.0.1:24702")
        // The plain upstream hops behind nginx stay http.
        XCTAssertTrue(report.cacheFindings.contains { $0.scheme == "http" && $0.host == "127.0.0.1:24710" })
    }

    /// The two exchanges of the primed-cache scenario, in capture order.
    private func primedPair() throws -> (all: [HTTPExchange], prime: Int, hit: Int) {
        let all = try Support.exchanges("chromium/chromium-cors.pcapng")
        let prime = try XCTUnwrap(all.firstIndex { $0.request?.head.target.hasSuffix("scenario=shared-cache-primed-no-origin-prime") == true && $0.request?.head.target.hasPrefix(Self.primedPath) == true })
        let hit = try XCTUnwrap(all.firstIndex { $0.request?.head.target.hasSuffix("scenario=shared-cache-primed-no-origin") == true && $0.request?.head.target.hasPrefix(Self.primedPath) == true })
        return (all, prime, hit)
    }

    func testTheSameDateShowsTheCachedCopyWithoutAHitHeader() throws {
        var (all, _, hit) = try primedPair()
        all[hit].response!.head.headers = Support.fields(all[hit].response!.head.headers, remove: ["X-Cache-Status"])
        let finding = try XCTUnwrap(Support.report(all).cacheFindings.first { $0.kind == .cachedAnswerToRequestWithoutOrigin })
        XCTAssertTrue(finding.evidence.contains("the same Date"), finding.evidence)
    }

    func testAPerOriginAnswerWithVaryOriginIsNoFinding() throws {
        var (all, prime, hit) = try primedPair()
        all[prime].response!.head.headers = Support.fields(all[prime].response!.head.headers, set: [("Vary", "Origin")])
        all[hit].response!.head.headers = Support.fields(all[hit].response!.head.headers, set: [
            ("Vary", "Origin"), ("Access-Control-Allow-Origin", "http://127.0.0.1:24482"), ("X-Cache-Status", "MISS"),
        ])
        let report = Support.report(all)
        XCTAssertNil(report.cacheFindings.first { $0.urlTemplate == Self.primedPath }, "\(report.cacheFindings.map(\.kind))")
    }

    func testRefusedWebSocketHandshakeIsAFindingNotACORSVerdict() throws {
        for input in ["chromium/chromium-cors.pcapng", "chromium/chromium-cors.har"] {
            let report = try Support.report(capture: input)
            let finding = try XCTUnwrap(report.websocketFindings.first, input)
            XCTAssertEqual(report.websocketFindings.count, 1, "the accepted handshake is no finding (\(input))")
            XCTAssertEqual(finding.status, 403, input)
            XCTAssertEqual(finding.origin, "http://127.0.0.1:24482", input)
            XCTAssertEqual(finding.pathTemplate, "/ws-origin-check", input)
            XCTAssertTrue(finding.fix.summary.contains("allowed origins"), finding.fix.summary)
            XCTAssertNil(report.origins.flatMap(\.groups).first { $0.pathTemplate.hasPrefix("/ws") }, "never a CORS block (\(input))")
            let markdown = String(decoding: ReportFormat.markdown.render(report), as: UTF8.self)
            XCTAssertTrue(markdown.contains("## WebSocket handshakes refused (not CORS)"), input)
        }
    }

    /// One browser run, read from its pcap and from its HAR: the same blocked groups, counted
    /// once each (a HAR also lists the requests whose preflight failed), except the fetch
    /// Chromium answered from its HTTP cache, which only the HAR shows.
    func testTheHARAndThePcapOfOneRunReportTheSameBlocks() throws {
        func groups(_ input: String) throws -> [String: Int] {
            var counts: [String: Int] = [:]
            for origin in try Support.report(capture: input).origins {
                for g in origin.groups { counts["\(origin.origin) \(g.reason) \(g.endpoint)"] = g.count }
            }
            return counts
        }
        var har = try groups("chromium/chromium-cors.har")
        let pcap = try groups("chromium/chromium-cors.pcapng")
        XCTAssertEqual(har.removeValue(forKey: "http://127.0.0.1:24482 MissingAllowOriginHeader GET /api/cacheable-pixel"), 1,
                       "the browser-cache reuse, judged from the HAR against the stored <img> response")
        XCTAssertEqual(har, pcap)
    }

    /// Reports paste into GitHub and Jira alike: corscope's own `code` marks stay code spans
    /// (never escaped backticks, which Jira shows literally), words keep their underscores,
    /// counts agree with their nouns.
    func testReportsReadTheSameInGitHubAndJira() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        let markdown = String(decoding: ReportFormat.markdown.render(report), as: UTF8.self)
        XCTAssertTrue(markdown.contains("add_header with `always`"), "code spans kept")
        XCTAssertFalse(markdown.contains("\\`"), "no escaped backtick")
        XCTAssertFalse(markdown.contains("add\\_header"), "no escaped underscore inside a word")
        XCTAssertTrue(markdown.contains("1 preflight passed"), "singular for one")
        let html = String(decoding: ReportFormat.html.render(report), as: UTF8.self)
        XCTAssertTrue(html.contains("<code>always</code>"))
        XCTAssertFalse(html.contains("with `always`"), "backticks in sentences become <code> in HTML (config snippets keep theirs)")
        // Captured bytes still cannot inject markup.
        XCTAssertEqual(TextFormatting.markdownCell("<img src=x> | *a* [x](javascript:1)"),
                       "&lt;img src=x&gt; \\| \\*a\\* \\[x\\](javascript:1)")
    }

    /// The HTML time chart: only when the blocks spread over time, with its axis and peaks.
    func testTimeChartOnlyWhereTimeSpreads() throws {
        let burst = String(decoding: ReportFormat.html.render(try Support.report(capture: "nginx-cors.pcap")), as: UTF8.self)
        XCTAssertFalse(burst.contains("Blocked requests over time"), "one burst of a second: no time chart")
        // The same exchanges, every other one ten minutes later.
        var spread = try Support.exchanges("nginx-cors.pcap")
        for index in spread.indices where index % 2 == 1 {
            if var request = spread[index].request {
                request.firstByte = request.firstByte.adding(seconds: 600)
                request.lastByte = request.lastByte.adding(seconds: 600)
                spread[index].request = request
            }
        }
        let html = String(decoding: ReportFormat.html.render(Support.report(spread)), as: UTF8.self)
        XCTAssertTrue(html.contains("Blocked requests over time"))
        XCTAssertTrue(html.contains(">max "), "each row says its peak")
        XCTAssertTrue(html.contains("blocked requests per "), "the axis says what a bar counts")
    }
}

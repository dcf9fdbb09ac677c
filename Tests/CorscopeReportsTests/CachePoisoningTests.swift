import CorscopeHTTP
import CorscopeReports
import XCTest

/// Static risk on the bundled capture as recorded, and observed poisoning on exchanges built
/// from the same captured bytes with the cache headers a CDN would have added.
final class CachePoisoningTests: XCTestCase {
    func testHeuristicallyCacheableOriginSpecificACAOWithoutVaryInBundledCapture() throws {
        let report = try Support.report(capture: "nginx-cors.pcap")
        // HEAD /static/data.json: ACAO echoes the page origin, 200 with Last-Modified, no Vary.
        let finding = try XCTUnwrap(report.cacheFindings.first { $0.kind == .cacheableAllowOriginWithoutVary })
        XCTAssertEqual(finding.severity, .medium)
        XCTAssertEqual(finding.urlTemplate, "/static/data.json")
        XCTAssertEqual(finding.exchangeIDs, ["12.0"])
        XCTAssertTrue(finding.evidence.contains("Last-Modified"), finding.evidence)
        // /api/reflect sends Vary: Origin and ACAO * needs no Vary: neither is reported.
        XCTAssertFalse(report.cacheFindings.contains { $0.urlTemplate == "/api/reflect" })
        XCTAssertFalse(report.cacheFindings.contains { $0.urlTemplate == "/api/wildcard" })
        XCTAssertFalse(report.cacheFindings.contains { $0.severity == .high }, "nothing in the capture came from a cache")
    }

    /// GET /api/noalways/ok as captured, then the same answer replayed by a cache to other origins.
    func testObservedPoisoningFromCacheHits() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        var stored = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/ok")
        stored.response!.head.headers = Support.fields(stored.response!.head.headers,
                                                       set: [("Cache-Control", "public, max-age=600")])

        // A cache hit served to another origin with the first origin's ACAO.
        var otherOrigin = stored
        otherOrigin.index = 50
        otherOrigin.request!.head.headers = Support.fields(stored.request!.head.headers, set: [("Origin", "http://other.example")])
        otherOrigin.response!.head.headers = Support.fields(stored.response!.head.headers,
                                                            set: [("Age", "30"), ("X-Cache", "HIT"), ("X-Served-By", "cache-fra1234-FRA")])
        // A cache hit without ACAO (a copy stored for a request without Origin) from CloudFront.
        var withoutACAO = stored
        withoutACAO.index = 51
        withoutACAO.response!.head.headers = Support.fields(
            stored.response!.head.headers,
            set: [("X-Cache", "Hit from cloudfront"), ("X-Amz-Cf-Id", "abcDEF123=="), ("Via", "1.1 abc.cloudfront.net (CloudFront)")],
            remove: ["Access-Control-Allow-Origin"])

        let report = Support.report([stored, otherOrigin, withoutACAO])
        let high = report.cacheFindings.filter { $0.severity == .high }
        XCTAssertEqual(Set(high.map(\.kind)), [.cachedAllowOriginForOtherOrigin, .cachedAnswerWithoutAllowOrigin])
        let replayed = try XCTUnwrap(high.first { $0.kind == .cachedAllowOriginForOtherOrigin })
        XCTAssertEqual(replayed.exchangeIDs, ["0.50"])
        XCTAssertEqual(replayed.cdn, "Fastly")
        XCTAssertTrue(replayed.evidence.contains("http://other.example"), replayed.evidence)
        XCTAssertTrue(replayed.fix.snippets.first?.code.contains("Fastly") == true)
        let stripped = try XCTUnwrap(high.first { $0.kind == .cachedAnswerWithoutAllowOrigin })
        XCTAssertEqual(stripped.cdn, "CloudFront")
        XCTAssertEqual(stripped.exchangeIDs, ["0.51"])
        // Observed findings come first.
        XCTAssertEqual(report.cacheFindings.first?.severity, .high)
        XCTAssertTrue(report.cacheFindings.contains { $0.kind == .cacheableAllowOriginWithoutVary && $0.exchangeIDs.first == "0.0" })

        // The blocked request the CloudFront hit caused is blamed on the CDN.
        let group = try XCTUnwrap(report.origins.flatMap(\.groups).first { $0.example.id == "0.51" })
        XCTAssertEqual(group.reason, "MissingAllowOriginHeader")
        XCTAssertEqual(group.layer.layer, .cdn)
        XCTAssertEqual(group.layer.component, "Amazon CloudFront")
        XCTAssertTrue(group.layer.seen.contains { $0.id == "cloudfront" })
        XCTAssertTrue(group.fix.snippets.contains { $0.target == "Amazon CloudFront" && $0.code.contains("Origin header in the cache key") })
    }

    func testCORSHeadersOnlyWithOriginAndDifferentValuesPerOrigin() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        let base = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/ok")
        var plain = base
        plain.index = 60
        plain.request!.head.headers = Support.fields(base.request!.head.headers, remove: ["Origin"])
        plain.response!.head.headers = Support.fields(base.response!.head.headers, remove: ["Access-Control-Allow-Origin"])
        var second = base
        second.index = 61
        second.request!.head.headers = Support.fields(base.request!.head.headers, set: [("Origin", "http://b.example")])
        second.response!.head.headers = Support.fields(base.response!.head.headers,
                                                       set: [("Access-Control-Allow-Origin", "http://b.example")])
        let report = Support.report([plain, base, second])
        let kinds = Dictionary(uniqueKeysWithValues: report.cacheFindings.map { ($0.kind, $0) })
        let onlyWithOrigin = try XCTUnwrap(kinds[.allowOriginOnlyWithOrigin])
        XCTAssertEqual(onlyWithOrigin.severity, .medium)
        XCTAssertEqual(onlyWithOrigin.exchangeIDs, ["0.60", "0.0"])
        let differs = try XCTUnwrap(kinds[.allowOriginDiffersAcrossOrigins])
        XCTAssertTrue(differs.evidence.contains("http://b.example"))
        XCTAssertEqual(differs.urlTemplate, "/api/noalways/ok")

        // With Vary: Origin everywhere none of this is a risk.
        let varied = [plain, base, second].map { exchange -> HTTPExchange in
            var copy = exchange
            copy.response!.head.headers = Support.fields(exchange.response!.head.headers, add: [("Vary", "Accept-Encoding, Origin")])
            return copy
        }
        XCTAssertEqual(Support.report(varied).cacheFindings.map(\.kind), [])
    }

    func testPrivateAndNoStoreAreNotCacheable() throws {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        var exchange = try Support.exchange(exchanges, method: "HEAD", target: "/static/data.json")
        exchange.response!.head.headers = Support.fields(exchange.response!.head.headers,
                                                         set: [("Cache-Control", "private, max-age=600")])
        let report = Support.report([exchange])
        XCTAssertEqual(report.cacheFindings.map(\.kind), [.allowOriginWithoutVary])
    }
}

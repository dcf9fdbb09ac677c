import CorscopeExchanges
import CorscopeHTTP
import CorscopeVerdicts
import Foundation
import XCTest

/// A preflight no request followed, which fails only with credentials: from a browser, the page
/// used `include` (the browser never sent the request); from a script or load tool, which sends
/// OPTIONS alone, nothing is inferred.
final class UnansweredPreflightTests: XCTestCase {
    /// Chromium's preflight for `acah-star-creds` (credentials 'include'; ACAH * does not cover
    /// x-custom-token with credentials), alone.
    private func lonePreflight() throws -> HTTPExchange {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var found: HTTPExchange?
        for source in ExchangeSources(paths: [root.appendingPathComponent("Captures/chromium/chromium-cors.pcapng").path]).sources {
            _ = try source.read { exchange in
                if exchange.requestHead?.method == "OPTIONS", exchange.requestHead?.target.hasSuffix("scenario=acah-star-creds") == true {
                    found = exchange
                }
            }
        }
        return try XCTUnwrap(found)
    }

    private func judgeAlone(_ exchange: HTTPExchange) -> JudgedExchange? {
        let judge = ExchangeJudge()
        return (judge.judge(exchange) + judge.finish()).first
    }

    func testABrowsersLonePreflightSettlesOnTheMode() throws {
        let judged = try XCTUnwrap(judgeAlone(try lonePreflight()))
        XCTAssertEqual(judged.verdict.kind, .blocked)
        XCTAssertEqual(judged.verdict.corsError?.cdpName, "HeaderDisallowedByPreflightResponse")
        XCTAssertEqual(judged.verdict.assumption?.credentials, .included)
        XCTAssertTrue(judged.verdict.assumption?.because.contains("no request followed") ?? false)
    }

    func testAToolsLonePreflightIsNotTakenForABrowsers() throws {
        var preflight = try lonePreflight()
        preflight.request!.head.headers = HTTPHeaderFields(preflight.request!.head.headers.pairs
            .filter { !$0.name.lowercased().hasPrefix("sec-fetch-") }.map { ($0.name, $0.value) })
        let judged = try XCTUnwrap(judgeAlone(preflight))
        XCTAssertEqual(judged.verdict.kind, .passed, "without Sec-Fetch-Mode nothing says a browser held the request back")
        XCTAssertEqual(judged.verdict.assumption?.credentials, .notIncluded)
        XCTAssertEqual(judged.verdict.alternative?.failure?.error.cdpName, "HeaderDisallowedByPreflightResponse")
    }
}

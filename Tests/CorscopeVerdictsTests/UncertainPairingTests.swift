import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
import CorscopeVerdicts
import Foundation
import XCTest

/// A request lost to a capture drop shifts every later response on its connection by one. The
/// parser flags such exchanges `response_framing_uncertain`; the judge must not turn a guessed
/// pair into a "blocked" claim. Built from a real capture: two passing CORS GETs from different
/// origins, with their responses swapped as a lost request would swap them.
final class UncertainPairingTests: XCTestCase {
    func testAGuessedPairIsNotReportedBlocked() throws {
        let path = MemoEquivalenceTests.root.appendingPathComponent("Captures/nginx-cors.pcap").path
        var exchanges: [HTTPExchange] = []
        for source in ExchangeSources(paths: [path]).sources { _ = try source.read { exchanges.append($0) } }
        let passing = exchanges.filter { exchange in
            exchange.request?.head.method == "GET" && exchange.request?.head.headers.first(named: "Origin") != nil
                && ExchangeJudge().judge(exchange).last?.verdict.kind == .passed
        }
        let origins = Set(passing.compactMap { $0.request?.head.headers.first(named: "Origin") })
        XCTAssertGreaterThanOrEqual(origins.count, 2, "the capture has passing GETs from two origins")
        let first = try XCTUnwrap(passing.first)
        let firstOrigin = first.request?.head.headers.first(named: "Origin")
        let other = try XCTUnwrap(passing.first { $0.request?.head.headers.first(named: "Origin") != firstOrigin })

        var shifted = first
        shifted.response = other.response
        let certain = try XCTUnwrap(ExchangeJudge().judge(shifted).last)
        XCTAssertEqual(certain.verdict.kind, .blocked, "another origin's answer blocks the request when the pair is certain")
        XCTAssertEqual(certain.verdict.failure?.error, .allowOriginMismatch)

        shifted.flag(.responseFramingUncertain)
        let guessed = try XCTUnwrap(ExchangeJudge().judge(shifted).last)
        XCTAssertEqual(guessed.verdict.kind, .undecidable)
        XCTAssertNil(guessed.verdict.failure)
        XCTAssertTrue(guessed.verdict.missingEvidence.contains { $0.contains("packets were lost before it") }, "\(guessed.verdict.missingEvidence)")
        XCTAssertTrue(guessed.verdict.notes.contains { $0.contains("AllowOriginMismatch") }, "\(guessed.verdict.notes)")

        // A pass stays a pass: only a block needs the pairing to be certain.
        var passed = first
        passed.flag(.responseFramingUncertain)
        XCTAssertEqual(ExchangeJudge().judge(passed).last?.verdict.kind, .passed)
    }
}

import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopePairing
import Foundation
import XCTest

/// Pairing on real Chromium traffic (Captures/chromium-cors.pcapng): Chromium sends the
/// preflight and the request on different connections, the preflight without credentials.
final class PreflightPairerTests: XCTestCase {
    static let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Captures/chromium-cors.pcapng").path

    static func exchanges() throws -> [HTTPExchange] {
        var exchanges: [HTTPExchange] = []
        _ = try ExchangePipeline { exchanges.append($0) }.read(file: capture)
        return exchanges
    }

    static func scenario(_ exchange: HTTPExchange) -> String? {
        guard let target = exchange.request?.head.target, let range = target.range(of: "scenario=") else { return nil }
        return String(target[range.upperBound...])
    }

    func testEveryPreflightedRequestIsPairedWithItsOwnPreflight() throws {
        let pairer = PreflightPairer()
        var paired = 0
        for exchange in try Self.exchanges() {
            let link = pairer.link(exchange)
            if PreflightPairer.isPreflight(exchange) {
                guard case .isPreflight = link else { return XCTFail("\(exchange.id) is a preflight") }
                continue
            }
            // The scenarios whose preflight passed, so the browser sent the request.
            guard let method = exchange.request?.head.method,
                  ["preflight-put-json", "testserver-cors-post"].contains(Self.scenario(exchange)) else {
                if case .paired = link { XCTFail("\(exchange.id) needed no preflight but was paired") }
                continue
            }
            guard case .paired(let preflight) = link else {
                XCTFail("\(exchange.id) \(method) \(Self.scenario(exchange) ?? "") has no preflight")
                continue
            }
            XCTAssertEqual(Self.scenario(preflight), Self.scenario(exchange))
            XCTAssertNotEqual(preflight.connection.id, exchange.connection.id, "Chromium preflights on another connection")
            XCTAssertEqual(preflight.request?.head.headers.first(named: "Access-Control-Request-Method"), method)
            paired += 1
        }
        XCTAssertEqual(paired, 2, "preflight-put-json and testserver-cors-post")
    }

    func testFailedPreflightsAreReportedUnansweredAtTheEnd() throws {
        let pairer = PreflightPairer()
        for exchange in try Self.exchanges() { _ = pairer.link(exchange) }
        let unanswered = Set(pairer.drain().compactMap(Self.scenario))
        XCTAssertEqual(unanswered, ["preflight-narrow-headers", "preflight-405-static", "preflight-redirect-login"])
    }

    func testARepeatedRequestWithoutPreflightFindsTheCachedOne() throws {
        let exchanges = try Self.exchanges()
        let request = try XCTUnwrap(exchanges.first { $0.request?.head.method == "PUT" })
        let pairer = PreflightPairer()
        for exchange in exchanges { _ = pairer.link(exchange) }
        // The page repeats the request 5 seconds later; no OPTIONS goes out (the answer is cached).
        var again = request
        again.index += 100
        again.request!.firstByte = request.request!.firstByte.adding(seconds: 5)
        guard case .cachedCandidate(let preflight, let age) = pairer.link(again) else {
            return XCTFail("the repeated request should find the earlier preflight as a cache candidate")
        }
        XCTAssertEqual(Self.scenario(preflight), "preflight-put-json")
        XCTAssertEqual(age, 5, accuracy: 0.1)
    }

    func testPairingNeedsTheSameOriginAndTheNamedMethod() throws {
        let exchanges = try Self.exchanges()
        let preflightIndex = try XCTUnwrap(exchanges.firstIndex { PreflightPairer.isPreflight($0) && Self.scenario($0) == "preflight-put-json" })
        let request = try XCTUnwrap(exchanges.first { $0.request?.head.method == "PUT" })

        var otherOrigin = request
        var headers = HTTPHeaderFields()
        for (name, value) in request.request!.head.headers.pairs {
            headers.append(name: Array(name.utf8), value: Array((name.lowercased() == "origin" ? "http://evil.example" : value).utf8))
        }
        otherOrigin.request!.head.headers = headers
        let pairer = PreflightPairer()
        _ = pairer.link(exchanges[preflightIndex])
        guard case .none = pairer.link(otherOrigin) else { return XCTFail("another origin's request must not pair") }

        var otherMethod = request
        otherMethod.request!.head.method = "PATCH"
        let freshPairer = PreflightPairer()
        _ = freshPairer.link(exchanges[preflightIndex])
        guard case .none = freshPairer.link(otherMethod) else { return XCTFail("a PATCH must not pair with a PUT preflight") }
    }

    func testPreflightsExpireAfterThePairingWindow() throws {
        let exchanges = try Self.exchanges()
        let preflight = try XCTUnwrap(exchanges.first { PreflightPairer.isPreflight($0) && Self.scenario($0) == "preflight-405-static" })
        let pairer = PreflightPairer()
        _ = pairer.link(preflight)
        let answered = preflight.response!.lastByte
        XCTAssertTrue(pairer.expired(at: answered.adding(seconds: 10)).isEmpty)
        XCTAssertEqual(pairer.expired(at: answered.adding(seconds: 31)).map(\.id), [preflight.id])
        XCTAssertTrue(pairer.drain().isEmpty, "an expired preflight is reported once")
    }
}

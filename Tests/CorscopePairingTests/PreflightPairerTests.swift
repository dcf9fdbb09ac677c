import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
@testable import CorscopePairing
import Foundation
import XCTest

/// Pairing on real Chromium traffic (Captures/chromium/chromium-cors.pcapng): Chromium sends the
/// preflight and the request on different connections, the preflight without credentials.
final class PreflightPairerTests: XCTestCase {
    static let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Captures/chromium/chromium-cors.pcapng").path

    static func exchanges() throws -> [HTTPExchange] {
        var exchanges: [HTTPExchange] = []
        _ = try ExchangePipeline { exchanges.append($0) }.read(file: capture)
        return exchanges
    }

    static func scenario(_ exchange: HTTPExchange) -> String? {
        guard let target = exchange.request?.head.target, let range = target.range(of: "scenario=") else { return nil }
        return String(target[range.upperBound...])
    }

    /// Scenarios with an OPTIONS on the wire, and those where the request followed it.
    static func scenariosWithPreflight(_ exchanges: [HTTPExchange]) -> (preflighted: Set<String>, followed: Set<String>) {
        let preflighted = Set(exchanges.filter(PreflightPairer.isPreflight).compactMap(scenario))
        let followed = Set(exchanges.filter { !PreflightPairer.isPreflight($0) }.compactMap(scenario)).intersection(preflighted)
        return (preflighted, followed)
    }

    func testEveryPreflightedRequestIsPairedWithItsOwnPreflight() throws {
        let exchanges = try Self.exchanges()
        let (_, followed) = Self.scenariosWithPreflight(exchanges)
        XCTAssertGreaterThanOrEqual(followed.count, 9)
        let pairer = PreflightPairer()
        var pairedScenarios = Set<String>()
        var pairedPreflights = Set<String>()
        for exchange in exchanges {
            let link = pairer.link(exchange)
            if PreflightPairer.isPreflight(exchange) {
                guard case .isPreflight = link else { return XCTFail("\(exchange.id) is a preflight") }
                continue
            }
            guard case .paired(let preflight) = link else { continue }
            let name = try XCTUnwrap(Self.scenario(exchange))
            XCTAssertEqual(Self.scenario(preflight), name)
            if exchange.request?.head.headers.contains(named: "Cookie") == true {
                XCTAssertNotEqual(preflight.connection.id, exchange.connection.id,
                                  "Chromium sends preflights without credentials, on another connection than a credentialed request")
            }
            XCTAssertEqual(preflight.request?.head.headers.first(named: "Access-Control-Request-Method")?.uppercased(),
                           exchange.request?.head.method.uppercased())
            XCTAssertFalse(pairedPreflights.contains(preflight.id), "\(name): one preflight pairs with one request")
            pairedPreflights.insert(preflight.id)
            pairedScenarios.insert(name)
        }
        XCTAssertEqual(pairedScenarios, followed)
    }

    func testChromiumsOwnPreflightCacheIsRecognised() throws {
        // preflight-cache-600: Access-Control-Max-Age 600, the request made twice: Chromium sent
        // one OPTIONS and two PUTs. The second PUT is explained by the cached preflight.
        let exchanges = try Self.exchanges().filter { Self.scenario($0) == "preflight-cache-600" }
        XCTAssertEqual(exchanges.map { $0.request!.head.method }, ["OPTIONS", "PUT", "PUT"])
        let pairer = PreflightPairer()
        let links = exchanges.map(pairer.link)
        guard case .isPreflight = links[0], case .paired = links[1], case .cachedCandidate(let cached, let age) = links[2] else {
            return XCTFail("expected preflight, paired, cached candidate; got \(links)")
        }
        XCTAssertEqual(cached.id, exchanges[0].id)
        XCTAssertGreaterThan(age, 0)
    }

    func testFailedPreflightsAreReportedUnansweredAtTheEnd() throws {
        let exchanges = try Self.exchanges()
        let (preflighted, followed) = Self.scenariosWithPreflight(exchanges)
        let pairer = PreflightPairer()
        for exchange in exchanges { _ = pairer.link(exchange) }
        let unanswered = Set(pairer.drain().compactMap(Self.scenario))
        XCTAssertEqual(unanswered, preflighted.subtracting(followed))
        XCTAssertTrue(unanswered.isSuperset(of: ["preflight-405-static", "preflight-redirect-login", "acam-missing-delete"]))
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
        XCTAssertEqual(Self.scenario(preflight), Self.scenario(request))
        XCTAssertEqual(age, 5, accuracy: 0.1)
    }

    func testPairingNeedsTheSameOriginAndTheNamedMethod() throws {
        let exchanges = try Self.exchanges()
        let preflightIndex = try XCTUnwrap(exchanges.firstIndex { PreflightPairer.isPreflight($0) && Self.scenario($0) == "preflight-put-json" })
        let request = try XCTUnwrap(exchanges.first { $0.request?.head.method == "PUT" && Self.scenario($0) == "preflight-put-json" })

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

    /// A long capture (or `watch` over days) of preflights that age out before `maxRemembered`
    /// is ever reached: the arrival list shrinks with them instead of growing with the input.
    func testForgettingByAgeKeepsTheArrivalListShort() throws {
        let exchanges = try Self.exchanges()
        let preflight = try XCTUnwrap(exchanges.first { PreflightPairer.isPreflight($0) && Self.scenario($0) == "preflight-405-static" })
        var configuration = PreflightPairer.Configuration()
        configuration.cacheHorizon = 60
        let pairer = PreflightPairer(configuration: configuration)
        var latest = preflight.response!.lastByte
        for round in 0..<2_000 {
            var copy = preflight
            copy.index = round
            let shift = Double(round) * 10
            copy.request!.firstByte = preflight.request!.firstByte.adding(seconds: shift)
            copy.request!.lastByte = preflight.request!.lastByte.adding(seconds: shift)
            copy.response!.firstByte = preflight.response!.firstByte.adding(seconds: shift)
            copy.response!.lastByte = preflight.response!.lastByte.adding(seconds: shift)
            latest = copy.response!.lastByte
            _ = pairer.link(copy)
            _ = pairer.expired(at: latest)
        }
        XCTAssertLessThanOrEqual(pairer.arrivalListCount, 8, "a preflight every 10 s, forgotten after 60 s")
        XCTAssertEqual(pairer.forgottenUnanswered, 0, "none forgotten for want of room")
    }
}

import CorscopeHTTP
import Foundation
import XCTest

/// Random and mutated input: no crash, no endless loop, memory bounded, counts consistent.
final class RobustnessTests: XCTestCase {
    static func mutatedStreams(_ rng: inout SeededGenerator) -> (client: [UInt8], server: [UInt8]) {
        let fixtures = [RecordedFixtures.pipelined, RecordedFixtures.expectContinue, RecordedFixtures.websocket, RecordedFixtures.closeDelimited]
        var client: [UInt8] = [], server: [UInt8] = []
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let f = fixtures.randomElement(using: &rng)!
            client += f.client
            server += f.server
        }
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            var target = Bool.random(using: &rng) ? client : server
            guard !target.isEmpty else { continue }
            let at = Int.random(in: 0..<target.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: target[at] = UInt8.random(in: 0...255, using: &rng)
            case 1: target.remove(at: at)
            case 2: target.insert(contentsOf: [0x0D, 0x0A, 0x3A, 0x20, 0x30].shuffled(using: &rng).prefix(3), at: at)
            case 3: target[at] = [0x0A, 0x0D, 0x20, 0x3A, 0x3B, 0x30, 0x66][Int.random(in: 0..<7, using: &rng)]
            default: target.removeSubrange(at..<min(target.count, at + Int.random(in: 1...40, using: &rng)))
            }
            if Bool.random(using: &rng) { client = target } else { server = target }
        }
        return (client, server)
    }

    func testMutatedAndRandomInputNeverCrashesAndStaysBounded() {
        // CORSCOPE_FUZZ_ROUNDS / CORSCOPE_FUZZ_SEED widen the search locally.
        let environment = ProcessInfo.processInfo.environment
        let rounds = environment["CORSCOPE_FUZZ_ROUNDS"].flatMap(Int.init) ?? 1500
        var rng = SeededGenerator(seed: environment["CORSCOPE_FUZZ_SEED"].flatMap(UInt64.init) ?? 0xC0F5C0DE)
        var configuration = HTTPConfiguration(maxHeadBytes: 2048, maxHeaderFields: 40, keptBodyBytes: 512)
        configuration.maxPendingRequests = 16
        for round in 0..<rounds {
            let (client, server): ([UInt8], [UInt8])
            if round % 5 == 0 {
                client = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                server = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                (client, server) = RobustnessTests.mutatedStreams(&rng)
            }
            var events: [StreamEvent] = []
            var ci = 0, si = 0
            while ci < client.count || si < server.count {
                let fromClient = si >= server.count || (ci < client.count && Bool.random(using: &rng))
                let n = Int.random(in: 1...300, using: &rng)
                if fromClient {
                    events.append(.client(Array(client[ci..<min(client.count, ci + n)])))
                    ci += n
                } else {
                    events.append(.server(Array(server[si..<min(server.count, si + n)])))
                    si += n
                }
                if Int.random(in: 0..<25, using: &rng) == 0 {
                    events.append(Bool.random(using: &rng) ? .clientGap(Int.random(in: 1...500, using: &rng)) : .serverGap(Int.random(in: 1...500, using: &rng)))
                }
            }
            var harness = Harness()
            harness.configuration = configuration
            var maxHeld = 0
            let (exchanges, stats) = harness.run(events) { maxHeld = max(maxHeld, $0.heldBytes) }
            // Held bytes: at most a head (cap) plus one segment per direction.
            XCTAssertLessThanOrEqual(maxHeld, 2 * (2048 + 300), "round \(round)")
            XCTAssertEqual(exchanges.map(\.index), Array(0..<exchanges.count), "round \(round)")
            // Each byte delivered is either parsed or skipped.
            XCTAssertEqual(stats.requestBytesParsed + stats.responseBytesParsed + stats.skippedBytes, client.count + server.count, "round \(round)")
            for e in exchanges {
                XCTAssertLessThanOrEqual(e.request?.body.kept.count ?? 0, 512)
                XCTAssertLessThanOrEqual(e.response?.body.kept.count ?? 0, 512)
            }
        }
    }

    func testManyUnansweredRequestsAreBounded() {
        var harness = Harness()
        harness.configuration = HTTPConfiguration(maxPendingRequests: 10)
        let requests = (0..<50).map { "GET /\($0) HTTP/1.1\r\n\r\n" }.joined()
        var emittedBeforeEnd = 0
        let (exchanges, _) = harness.run([.client(bytes(requests))]) { emittedBeforeEnd = $0.statistics.exchanges }
        // Only 10 may wait for a response; older ones are given up on as the stream goes.
        XCTAssertEqual(emittedBeforeEnd, 40)
        XCTAssertEqual(exchanges.count, 50)
        XCTAssertTrue(exchanges.allSatisfy { $0.anomalies.contains(.requestWithoutResponse) })
        XCTAssertEqual(exchanges.map { $0.request?.head.target }, (0..<50).map { "/\($0)" })
    }
}

import CorscopeExchanges
import CorscopeHTTP
import Foundation
import XCTest

/// `watch` hands exchanges to a judging thread: every exchange must arrive, in order, and what
/// the consumer builds must be readable consistently from the producing thread.
final class ExchangeConsumerThreadTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testEveryExchangeArrivesInOrderAndPausedReadsAreConsistent() throws {
        var exchanges: [HTTPExchange] = []
        for name in ["nginx-cors.pcap", "edge-http1.pcap"] {
            let path = Self.root.appendingPathComponent("Captures/" + name).path
            for source in ExchangeSources(paths: [path]).sources { _ = try source.read { exchanges.append($0) } }
        }
        XCTAssertGreaterThan(exchanges.count, 20)
        final class Seen: @unchecked Sendable {
            var ids: [String] = []
            var bytes = 0
            /// Set while the consumer is inside an exchange: `whilePaused` must never see it.
            var inside = false
        }
        let seen = Seen()
        let consumer = ExchangeConsumerThread(batchSize: 7, queuedBatches: 2) { exchange in
            seen.inside = true
            seen.ids.append(exchange.id)
            seen.bytes += exchange.requestHead?.target.utf8.count ?? 0
            seen.inside = false
        }
        var expected: [String] = []
        // Target bytes of the first n expected exchanges, for every n.
        var prefixBytes: [Int] = [0]
        for round in 0..<200 {
            for exchange in exchanges {
                consumer.submit(exchange)
                expected.append(exchange.id)
                prefixBytes.append(prefixBytes.last! + (exchange.requestHead?.target.utf8.count ?? 0))
            }
            if round % 3 == 0 { consumer.handOver() }
            // Between batches, the ids and the byte sum always describe the same prefix.
            let (ids, bytes, inside) = consumer.whilePaused { (seen.ids, seen.bytes, seen.inside) }
            XCTAssertFalse(inside)
            XCTAssertEqual(ids, Array(expected.prefix(ids.count)))
            XCTAssertEqual(bytes, prefixBytes[ids.count])
        }
        consumer.finish()
        consumer.finish()  // a second finish is harmless
        XCTAssertEqual(seen.ids, expected)
        XCTAssertEqual(seen.bytes, prefixBytes.last)
    }
}

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
        }
        let seen = Seen()
        let consumer = ExchangeConsumerThread(batchSize: 7, queuedBatches: 2) { exchange in
            seen.ids.append(exchange.id)
            seen.bytes += exchange.request?.head.target.utf8.count ?? 0
        }
        var expected: [String] = []
        for round in 0..<200 {
            for exchange in exchanges {
                consumer.submit(exchange)
                expected.append(exchange.id)
            }
            if round % 3 == 0 { consumer.handOver() }
            // Between exchanges, the count and the byte sum always describe the same prefix.
            let (ids, bytes) = consumer.whilePaused { (seen.ids, seen.bytes) }
            XCTAssertEqual(ids, Array(expected.prefix(ids.count)))
            let targetBytes = exchanges.reduce(0) { $0 + ($1.request?.head.target.utf8.count ?? 0) }
            if ids.count % exchanges.count == 0 { XCTAssertEqual(bytes, targetBytes * ids.count / exchanges.count) }
        }
        consumer.finish()
        consumer.finish()  // a second finish is harmless
        XCTAssertEqual(seen.ids, expected)
    }
}

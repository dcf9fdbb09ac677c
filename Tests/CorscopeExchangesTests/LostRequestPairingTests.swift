import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopeTestSupport
import Foundation
import XCTest

/// A request lost from a capture (a kernel drop, a lossy span port) can shift the pairing of
/// the requests and responses after it on the same keep-alive connection: HTTP/1 pairs them in
/// order, and the lost one leaves a response without its request. Every pair that may be
/// shifted must say so (`response_framing_uncertain`), so that no verdict is built on it as if
/// it were certain. Checked on a real capture with the segment of one request removed.
final class LostRequestPairingTests: XCTestCase {
    struct Pair: Hashable {
        var target: String?
        var status: Int?
        var responseBytes: Int?
        var uncertain = false
    }

    static func pairs(of capture: String, droppingPacketContaining needle: String? = nil) throws -> (pairs: [Pair], dropped: Int) {
        var exchanges: [HTTPExchange] = []
        let pipeline = LivePipeline { exchanges.append($0) }
        let reader = try CaptureFileReader(path: PackagePaths.path(capture))
        let wanted = needle.map { Array($0.utf8) }
        var dropped = 0
        _ = reader.forEachPacket { packet in
            if let wanted, Self.contains(packet.data, wanted) {
                dropped += 1
                return
            }
            pipeline.process(packet)
        }
        pipeline.finish()
        let pairs = exchanges.map { exchange in
            Pair(target: exchange.requestHead?.target, status: exchange.responseHead?.status,
                 responseBytes: exchange.response?.body.wireLength,
                 uncertain: exchange.anomalies.contains(.responseFramingUncertain))
        }
        return (pairs, dropped)
    }

    static func contains(_ bytes: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard needle.count <= bytes.count else { return false }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if (0..<needle.count).allSatisfy({ bytes[start + $0] == needle[$0] }) { return true }
        }
        return false
    }

    /// Every pair of `damaged` that is not a pair of `intact` must be flagged; returns how many
    /// such pairs there were.
    static func assertShiftedPairsAreFlagged(_ damaged: [Pair], intact: [Pair], file: StaticString = #filePath, line: UInt = #line) -> Int {
        let certain = intact.map { Pair(target: $0.target, status: $0.status, responseBytes: $0.responseBytes) }
        var shifted = 0
        for pair in damaged where pair.target != nil && pair.status != nil {
            let asCertain = Pair(target: pair.target, status: pair.status, responseBytes: pair.responseBytes)
            if !certain.contains(asCertain) {
                shifted += 1
                XCTAssertTrue(pair.uncertain, "\(pair) is not a pair of the intact capture and is not flagged: \(damaged)", file: file, line: line)
            }
        }
        return shifted
    }

    func testPairsAfterALostResponseAreRightOrFlaggedUncertain() throws {
        let capture = "Captures/keepalive-nano.pcap"
        let intact = try Self.pairs(of: capture).pairs
        XCTAssertFalse(intact.contains(where: \.uncertain), "nothing was lost, nothing is a guess: \(intact)")
        // The whole first response of the keep-alive connection (head and body in one segment).
        let (damaged, dropped) = try Self.pairs(of: capture, droppingPacketContaining: "X-Path: /json/nano-1\r\n")
        XCTAssertEqual(dropped, 1)
        XCTAssertGreaterThan(Self.assertShiftedPairsAreFlagged(damaged, intact: intact), 0, "\(damaged)")
        // Other connections keep their pairs, unflagged.
        XCTAssertTrue(damaged.contains { $0.target == "/json/pipelined-1" && $0.status != nil && !$0.uncertain }, "\(damaged)")
    }

    func testPairsAfterALostRequestAreRightOrFlaggedUncertain() throws {
        let capture = "Captures/keepalive-nano.pcap"
        let intact = try Self.pairs(of: capture).pairs
        XCTAssertFalse(intact.contains(where: \.uncertain), "nothing was lost, nothing is a guess: \(intact)")
        let answered = intact.filter { $0.target != nil && $0.status != nil }
        XCTAssertTrue(answered.contains { $0.target == "/json/nano-1" }, "\(intact)")
        XCTAssertTrue(answered.contains { $0.target == "/chunked" }, "the request after the dropped one: \(intact)")

        // The first request of a keep-alive connection; the next one (/chunked) comes after a
        // hole, and its short response is complete before the hole is given up.
        let (damaged, dropped) = try Self.pairs(of: capture, droppingPacketContaining: "GET /json/nano-1 ")
        XCTAssertGreaterThanOrEqual(dropped, 1)
        // The lost request's response stands alone; every other request keeps its own response.
        let lostResponse = try XCTUnwrap(intact.first { $0.target == "/json/nano-1" })
        XCTAssertTrue(damaged.contains { $0.target == nil && $0.status == lostResponse.status && $0.responseBytes == lostResponse.responseBytes },
                      "the response of the lost request, without a request: \(damaged)")
        // The capture does shift: this checks the flag, not a lucky order.
        XCTAssertGreaterThan(Self.assertShiftedPairsAreFlagged(damaged, intact: intact), 0, "\(damaged)")
        // Other connections keep their pairs, unflagged.
        XCTAssertTrue(damaged.contains { $0.target == "/json/pipelined-1" && $0.status != nil && !$0.uncertain }, "\(damaged)")
    }
}

import CorscopeCapture
@testable import CorscopeReassembly
import Foundation
import XCTest

/// Captures built to make reassembly slow: a SYN flood past the connection cap, and one
/// connection in tiny segments sent in reverse order. Both must stay fast (eviction and buffering
/// cost O(log n) each, never a scan of every connection or a shift of every buffered segment),
/// and every byte must be delivered in order or counted as a gap.
final class HostileReassemblyTests: XCTestCase {
    private static let server = Endpoint(address: .v4(0x0A00_0002), port: 80)

    private static func time(_ microseconds: Int) -> Timestamp {
        Timestamp(seconds: 1_700_000_000 + Int64(microseconds / 1_000_000),
                  nanoseconds: Int32(microseconds % 1_000_000) * 1000)
    }

    private static func client(_ index: Int) -> Endpoint {
        Endpoint(address: .v4(0x0A00_0000 | UInt32(index)), port: UInt16(1024 + index % 60_000))
    }

    private func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    // MARK: - SYN flood

    func testSYNFloodEvictsTheLeastRecentlyActiveWithoutScanningEveryConnection() {
        let flows = 60_000
        var configuration = AssemblerConfiguration()
        configuration.maxConnections = 4_000
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        let request = Array("GET /partial HTTP/1.1\r\nHost: a.example\r\nOrigin: http://b".utf8)
        // A scan of every connection per eviction (flows × cap) took 13 s here in a debug build;
        // the least-recently-active list about 1 s.
        // Flow 0 sends one more byte after every new flow: always recently active, never evicted.
        var keptAliveBytes: [UInt8] = []
        let elapsed = seconds {
            for index in 0..<flows {
                let client = Self.client(index), at = Self.time(index * 10)
                let syn = OwnedSegment(time: at, source: client, destination: Self.server, sequence: 1000,
                                       acknowledgment: 0, flags: [.syn], payload: [])
                let data = OwnedSegment(time: at, source: client, destination: Self.server, sequence: 1001,
                                        acknowledgment: 0, flags: [.psh, .ack], payload: request)
                assembler.process([syn, data])
                let byte = UInt8(truncatingIfNeeded: index)
                keptAliveBytes.append(byte)
                assembler.process([OwnedSegment(time: at, source: Self.client(0), destination: Self.server,
                                                sequence: 1001 &+ UInt32(request.count + index), acknowledgment: 0,
                                                flags: [.psh, .ack], payload: [byte])])
            }
        }
        XCTAssertLessThan(elapsed, 5, "\(flows) flows over a cap of \(configuration.maxConnections) took \(elapsed) s")

        let evicted = flows - configuration.maxConnections
        XCTAssertEqual(assembler.statistics.evictedConnections, evicted)
        XCTAssertEqual(assembler.openConnections, configuration.maxConnections)
        // Flow k (k ≥ 4,000) evicted flow k - 3,999: the oldest other than the kept-alive flow 0.
        XCTAssertEqual(factory.closed, Array(1...evicted))
        for (info, stream) in factory.streams.prefix(evicted + 1).dropFirst() {
            XCTAssertEqual(stream.events[0], [.data(request), .end(.evicted)], "connection \(info.id)")
        }
        XCTAssertEqual(factory.streams[0].1.bytes(.clientToServer), request + keptAliveBytes)
        // Every byte was delivered before its connection was evicted.
        XCTAssertEqual(assembler.statistics.deliveredBytes, assembler.statistics.payloadBytes)
        XCTAssertEqual(assembler.statistics.gaps, 0)

        assembler.flushAll()
        XCTAssertEqual(factory.closed.count, flows)
        XCTAssertEqual(assembler.openConnections, 0)
    }

    // MARK: - Tiny segments in reverse order

    /// A handshake, then `count` one-byte segments of a stream of `count` bytes, last byte first;
    /// byte 0 only when `sendFirstByte`.
    private func reverseSegments(count: Int, sendFirstByte: Bool) -> (segments: [OwnedSegment], stream: [UInt8]) {
        let client = Self.client(1)
        let stream = (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }
        var segments = [
            OwnedSegment(time: Self.time(0), source: client, destination: Self.server, sequence: 1000,
                         acknowledgment: 0, flags: [.syn], payload: []),
            OwnedSegment(time: Self.time(0), source: Self.server, destination: client, sequence: 5000,
                         acknowledgment: 1001, flags: [.syn, .ack], payload: []),
            OwnedSegment(time: Self.time(0), source: client, destination: Self.server, sequence: 1001,
                         acknowledgment: 5001, flags: [.ack], payload: []),
        ]
        for offset in stride(from: count - 1, through: sendFirstByte ? 0 : 1, by: -1) {
            segments.append(OwnedSegment(time: Self.time(count - offset), source: client, destination: Self.server,
                                         sequence: 1001 + UInt32(offset), acknowledgment: 5001,
                                         flags: [.psh, .ack], payload: [stream[offset]]))
        }
        return (segments, stream)
    }

    func testReverseOrderTinySegmentsAreBufferedAndDeliveredInOrder() {
        let count = 20_000
        let (segments, stream) = reverseSegments(count: count, sendFirstByte: true)
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        let elapsed = seconds { assembler.process(segments) }
        XCTAssertLessThan(elapsed, 5, "\(count) one-byte segments in reverse order took \(elapsed) s")
        assembler.flushAll()

        XCTAssertEqual(factory.streams.count, 1)
        XCTAssertEqual(factory.streams[0].1.events[0], [.data(stream), .end(.endOfCapture)])
        let statistics = assembler.statistics
        XCTAssertEqual(statistics.outOfOrderSegments, count - 1)
        XCTAssertEqual(statistics.peakBufferedBytes, count - 1)
        XCTAssertEqual(statistics.deliveredBytes, count)
        XCTAssertEqual(statistics.gaps, 0)
        XCTAssertEqual(statistics.gapsForcedByBufferCap, 0)
        XCTAssertEqual(statistics.retransmittedBytes, 0)
    }

    func testTheSegmentCapSkipsTheHoleAndCountsItAsAGap() {
        let count = 20_000, cap = 1_000
        let (segments, stream) = reverseSegments(count: count, sendFirstByte: false)
        var configuration = AssemblerConfiguration()
        configuration.maxBufferedSegmentsPerConnection = cap
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        let elapsed = seconds { assembler.process(segments) }
        XCTAssertLessThan(elapsed, 5)
        assembler.flushAll()

        // Bytes 19,999 down to 19,000 wait; byte 18,999 is one segment too many: the hole before
        // it (bytes 0 to 18,998) is given up on and the 1,001 buffered bytes are delivered. The
        // bytes that come after that were already counted as the gap: late, not retransmitted.
        let delivered = cap + 1, missing = count - delivered
        XCTAssertEqual(factory.streams[0].1.events[0],
                       [.gap(missing), .data(Array(stream[missing...])), .end(.endOfCapture)])
        let statistics = assembler.statistics
        XCTAssertEqual(statistics.gaps, 1)
        XCTAssertEqual(statistics.gapsForcedByBufferCap, 1)
        XCTAssertEqual(statistics.gapBytes, missing)
        XCTAssertEqual(statistics.deliveredBytes, delivered)
        XCTAssertEqual(statistics.deliveredBytes + statistics.gapBytes, count, "every byte delivered or a gap")
        XCTAssertEqual(statistics.outOfOrderSegments, delivered)
        XCTAssertEqual(statistics.peakBufferedBytes, delivered)
        XCTAssertEqual(statistics.lateBytes, count - 1 - delivered)
        XCTAssertEqual(statistics.retransmittedBytes, 0)
    }

    /// A byte behind the delivery point is late when it falls in a hole given up on (counted in
    /// the gap already), retransmitted when it was delivered; a segment can be both.
    func testBytesOfAGivenUpHoleAreLateNotRetransmitted() {
        let client = Self.client(1)
        func data(_ offset: UInt32, _ seconds: Int, _ text: String) -> OwnedSegment {
            OwnedSegment(time: Self.time(seconds * 1_000_000), source: client, destination: Self.server,
                         sequence: 1001 + offset, acknowledgment: 0, flags: [.psh], payload: Array(text.utf8))
        }
        let syn = OwnedSegment(time: Self.time(0), source: client, destination: Self.server, sequence: 1000,
                               acknowledgment: 0, flags: [.syn], payload: [])
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        assembler.process([syn, data(0, 0, "ab"), data(5, 0, "f")])
        assembler.flush(olderThan: Self.time(12_000_000))   // the hole c…e is given up on
        assembler.process([data(0, 13, "abcd"), data(4, 13, "ef")])
        assembler.flushAll()
        XCTAssertEqual(factory.streams[0].1.events[0], [.data(Array("ab".utf8)), .gap(3), .data(Array("f".utf8)), .end(.endOfCapture)])
        let statistics = assembler.statistics
        XCTAssertEqual(statistics.gapBytes, 3)
        XCTAssertEqual(statistics.lateBytes, 3, "c and d, then e")
        XCTAssertEqual(statistics.retransmittedBytes, 3, "a and b, then f")
    }

    // MARK: - Hole timeout

    /// Holes are given up on in stream order until no segment older than the hole timeout waits;
    /// younger segments after the last old one keep waiting.
    func testHoleTimeoutSkipsUpToTheLastExpiredSegment() {
        let client = Self.client(1)
        func data(_ offset: UInt32, _ seconds: Int, _ byte: UInt8) -> OwnedSegment {
            OwnedSegment(time: Self.time(seconds * 1_000_000), source: client, destination: Self.server,
                         sequence: 1001 + offset, acknowledgment: 0, flags: [.psh], payload: [byte])
        }
        let syn = OwnedSegment(time: Self.time(0), source: client, destination: Self.server, sequence: 1000,
                               acknowledgment: 0, flags: [.syn], payload: [])
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        // Byte 7 at 0 s, byte 3 and byte 12 at 5 s: at 12 s only byte 7 is older than 10 s.
        assembler.process([syn, data(7, 0, 0x77), data(3, 5, 0x33), data(12, 5, 0xCC)])
        assembler.flush(olderThan: Self.time(12_000_000))
        XCTAssertEqual(factory.streams[0].1.events[0], [.gap(3), .data([0x33]), .gap(3), .data([0x77])])
        XCTAssertEqual(assembler.statistics.gaps, 2)
        XCTAssertEqual(assembler.statistics.gapsForcedByBufferCap, 0)
        assembler.flushAll()
        XCTAssertEqual(factory.streams[0].1.events[0],
                       [.gap(3), .data([0x33]), .gap(3), .data([0x77]), .gap(4), .data([0xCC]), .end(.endOfCapture)])
    }
}

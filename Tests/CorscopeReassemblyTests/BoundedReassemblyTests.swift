import CorscopeCapture
@testable import CorscopeReassembly
import Foundation
import XCTest

/// The bounds over all connections of the assembler: the total caps on out-of-order bytes and
/// segments (past them the connection whose buffer costs the most skips a hole, found through a
/// heap), and the idle sweep and hole timeout, which look only at the connections they act on
/// (the front of the least-recently-active list, the top of a heap by oldest buffered segment)
/// instead of at every connection each sweep.
final class BoundedReassemblyTests: XCTestCase {
    private static let server = Endpoint(address: .v4(0x0A00_0002), port: 80)

    private static func time(_ microseconds: Int) -> Timestamp {
        Timestamp(seconds: 1_700_000_000 + Int64(microseconds / 1_000_000),
                  nanoseconds: Int32(microseconds % 1_000_000) * 1000)
    }

    private static func client(_ index: Int) -> Endpoint {
        Endpoint(address: .v4(0x0B00_0000 | UInt32(index)), port: UInt16(1024 + index % 60_000))
    }

    private static func syn(_ index: Int, at microseconds: Int = 0) -> OwnedSegment {
        OwnedSegment(time: time(microseconds), source: client(index), destination: server, sequence: 1000,
                     acknowledgment: 0, flags: [.syn], payload: [])
    }

    /// Client data at stream offset `offset` (0 is the byte after the SYN).
    private static func data(_ index: Int, _ offset: Int, _ payload: [UInt8], at microseconds: Int = 0) -> OwnedSegment {
        OwnedSegment(time: time(microseconds), source: client(index), destination: server,
                     sequence: 1001 &+ UInt32(offset), acknowledgment: 0, flags: [.psh], payload: payload)
    }

    private func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func stream(of index: Int, in factory: RecordingFactory) -> RecordingStream? {
        factory.streams.first { $0.0.client == Self.client(index) }?.1
    }

    // MARK: - Total caps

    /// Three connections wait on a hole at byte 0 with 600, 300 and 101 one-byte segments: the
    /// 1,001st segment over all of them is one too many, and the connection holding the most
    /// (the first, though the last one buffered) gives up its hole; the others keep waiting.
    func testTheTotalSegmentCapMakesTheLargestBufferSkipItsHole() {
        var configuration = AssemblerConfiguration()
        configuration.maxBufferedSegmentsTotal = 1_000
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        let counts = [600, 300, 101]
        for (index, count) in counts.enumerated() {
            assembler.process([Self.syn(index)] + (1...count).map { Self.data(index, $0, [UInt8(truncatingIfNeeded: $0)]) })
        }
        let statistics = assembler.statistics
        XCTAssertEqual(statistics.gapsForcedByTotalBufferCap, 1)
        XCTAssertEqual(statistics.gapsForcedByBufferCap, 1)
        XCTAssertEqual(statistics.gaps, 1)
        XCTAssertEqual(statistics.gapBytes, 1)
        let events = stream(of: 0, in: factory)?.events[0] ?? []
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events.first, .gap(1))
        XCTAssertEqual(events.last, .data((1...600).map { UInt8(truncatingIfNeeded: $0) }))
        XCTAssertNil(stream(of: 1, in: factory), "the smaller buffers keep waiting")
        XCTAssertNil(stream(of: 2, in: factory))
        XCTAssertEqual(assembler.bufferedTotals.segments, 401)
        XCTAssertEqual(assembler.bufferedTotals.bytes, 401)

        // The end of the capture gives up the two other holes; every byte is delivered or a gap.
        assembler.flushAll()
        XCTAssertEqual(assembler.statistics.gaps, 3)
        XCTAssertEqual(assembler.statistics.deliveredBytes, counts.reduce(0, +))
        XCTAssertEqual(assembler.bufferedTotals.segments, 0)
        XCTAssertEqual(assembler.bufferedTotals.bytes, 0)
    }

    /// The byte cap picks by buffered bytes: the connection with 50,000 bytes in 10 segments, not
    /// the one that crossed the cap, and not the one with more segments but fewer bytes.
    func testTheTotalByteCapMakesTheConnectionHoldingTheMostBytesSkipItsHole() {
        var configuration = AssemblerConfiguration()
        configuration.maxBufferedBytesTotal = 100_000
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        let big = [UInt8](repeating: 0xAA, count: 5_000)
        assembler.process([Self.syn(0)] + (0..<10).map { Self.data(0, 1 + $0 * 5_000, big) })
        assembler.process([Self.syn(1)] + (0..<100).map { Self.data(1, 1 + $0 * 300, [UInt8](repeating: 0xBB, count: 300)) })
        XCTAssertEqual(assembler.statistics.gaps, 0, "80,000 bytes: under the cap")
        assembler.process([Self.syn(2)] + (0..<5).map { Self.data(2, 1 + $0 * 5_000, big) })
        XCTAssertEqual(assembler.statistics.gapsForcedByTotalBufferCap, 1, "105,000 bytes: one skip brings it to 55,000")
        let events = stream(of: 0, in: factory)?.events[0] ?? []
        XCTAssertEqual(events.first, .gap(1))
        XCTAssertEqual(events.dropFirst().first, .data(Array(repeating: 0xAA, count: 50_000)), "the 50,000 bytes delivered")
        XCTAssertEqual(events.count, 2)
        XCTAssertNil(stream(of: 1, in: factory), "more segments, fewer bytes: it keeps waiting")
        XCTAssertNil(stream(of: 2, in: factory), "it crossed the cap but holds less")
        XCTAssertEqual(assembler.bufferedTotals.bytes, 55_000)
        XCTAssertEqual(assembler.statistics.peakBufferedBytes, 105_000)
    }

    /// 50,000 connections that hold nothing out of order are the least recently active; one
    /// connection then sends every other byte, so that past the total cap every new segment
    /// forces one hole to be skipped. Walking the connections from the least recently active for
    /// each (the way before the heap) is 50,000 steps per segment; the heap finds it at once.
    func testTheTotalCapFindsItsVictimWithoutWalkingEveryConnection() {
        let connections = 50_000, segments = 10_000, cap = 1_000
        var configuration = AssemblerConfiguration()
        configuration.maxBufferedSegmentsTotal = cap
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        for index in 1...connections {
            assembler.process([Self.syn(index), Self.data(index, 0, [1])])
        }
        let flood = (0..<segments).map { Self.data(0, 1 + 2 * $0, [UInt8(truncatingIfNeeded: $0)], at: 1) }
        let elapsed = seconds { assembler.process([Self.syn(0, at: 1)] + flood) }
        XCTAssertLessThan(elapsed, 5, "\(segments) segments over a total cap with \(connections) connections took \(elapsed) s")
        XCTAssertEqual(assembler.statistics.gapsForcedByTotalBufferCap, segments - cap)
        XCTAssertEqual(assembler.statistics.gaps, segments - cap)
        XCTAssertEqual(assembler.bufferedTotals.segments, cap)
        assembler.flushAll()
        XCTAssertEqual(assembler.statistics.gaps, segments, "one hole before each segment")
        XCTAssertEqual(assembler.statistics.gapBytes, segments)
        XCTAssertEqual(assembler.statistics.deliveredBytes, connections + segments)
    }

    // MARK: - Idle sweep and hole timeout

    /// 30,000 connections stay open (a long idle timeout) while one of them sends a packet every
    /// second of capture time: 20,000 sweeps. A sweep that looks at every connection does
    /// 600 million steps; one that looks at the least recently active and at the oldest buffered
    /// segment does two per sweep.
    func testTheSweepDoesNotLookAtEveryConnection() {
        let connections = 30_000, sweeps = 20_000
        var configuration = AssemblerConfiguration()
        configuration.idleTimeout = 1e9
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        for index in 1...connections {
            assembler.process([Self.syn(index), Self.data(index, 0, [1])])
        }
        let elapsed = seconds {
            assembler.process([Self.syn(0)])
            for second in 1...sweeps {
                assembler.process([Self.data(0, second - 1, [2], at: second * 1_000_000)])
            }
        }
        XCTAssertLessThan(elapsed, 5, "\(sweeps) sweeps over \(connections) open connections took \(elapsed) s")
        XCTAssertEqual(assembler.openConnections, connections + 1)
        XCTAssertEqual(assembler.statistics.idleConnections, 0)
    }

    /// Exactly the connections idle past the timeout are closed, in the order they were opened
    /// (as before the sweep used the activity list), and counted.
    func testTheIdleSweepClosesExactlyTheIdleConnectionsInIdOrder() {
        var configuration = AssemblerConfiguration()
        configuration.idleTimeout = 100
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        // Connections 0…9 open at 0 s; 5…9 send again at 50 s, 0 and 2 again at 60 s.
        for index in 0..<10 { assembler.process([Self.syn(index), Self.data(index, 0, [0])]) }
        for index in 5..<10 { assembler.process([Self.data(index, 1, [1], at: 50_000_000)]) }
        for index in [2, 0] { assembler.process([Self.data(index, 1, [1], at: 60_000_000)]) }
        assembler.flush(olderThan: Self.time(120_000_000))
        XCTAssertEqual(factory.closed, [1, 3, 4])
        XCTAssertEqual(assembler.statistics.idleConnections, 3)
        assembler.flush(olderThan: Self.time(155_000_000))
        XCTAssertEqual(factory.closed, [1, 3, 4, 5, 6, 7, 8, 9])
        assembler.flush(olderThan: Self.time(161_000_000))
        XCTAssertEqual(factory.closed, [1, 3, 4, 5, 6, 7, 8, 9, 0, 2])
        XCTAssertEqual(assembler.statistics.idleConnections, 10)
        XCTAssertEqual(assembler.openConnections, 0)
    }

    /// A connection whose old segments were given up on goes back into the hole heap by its
    /// oldest remaining segment: that one is skipped when it, too, is older than the timeout,
    /// not before.
    func testAHoleTimeoutSkipsTheRestWhenItsOwnTimeComes() {
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        // Byte 7 at 0 s, bytes 3 and 12 at 5 s; the hole timeout is 10 s.
        assembler.process([Self.syn(1), Self.data(1, 7, [0x77]), Self.data(1, 3, [0x33], at: 5_000_000),
                           Self.data(1, 12, [0xCC], at: 5_000_000)])
        assembler.flush(olderThan: Self.time(12_000_000))
        XCTAssertEqual(stream(of: 1, in: factory)?.events[0], [.gap(3), .data([0x33]), .gap(3), .data([0x77])])
        assembler.flush(olderThan: Self.time(14_900_000))
        XCTAssertEqual(assembler.statistics.gaps, 2, "byte 12 is not 10 s old yet")
        assembler.flush(olderThan: Self.time(15_100_000))
        XCTAssertEqual(stream(of: 1, in: factory)?.events[0],
                       [.gap(3), .data([0x33]), .gap(3), .data([0x77]), .gap(4), .data([0xCC])])
        XCTAssertEqual(assembler.bufferedTotals.segments, 0)
        XCTAssertEqual(assembler.openConnections, 1, "a hole skipped does not close the connection")
    }
}

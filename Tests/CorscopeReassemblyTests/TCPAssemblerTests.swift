import CorscopeCapture
@testable import CorscopeReassembly
@_exported import CorscopeTestSupport
import XCTest

/// Reassembly of a real connection, as captured and as modified the ways real captures go
/// wrong: reordered, duplicated, overlapping, lost, wrapped, picked up mid-stream.
final class TCPAssemblerTests: XCTestCase {
    /// A keep-alive connection with multi-segment responses, recorded from nginx on loopback.
    static let capture = "Captures/nginx-cors.pcap"

    private func assemble(_ segments: [OwnedSegment], configuration: AssemblerConfiguration = .init())
        -> (RecordingFactory, TCPAssembler) {
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        assembler.process(segments)
        assembler.flushAll()
        return (factory, assembler)
    }

    private func connection() throws -> [OwnedSegment] {
        let segments = try TestCaptures.busiestConnection(of: Self.capture)
        let dataSegments = segments.filter { !$0.payload.isEmpty }
        try XCTSkipIf(dataSegments.count < 6, "\(Self.capture) has too few data segments for these tests")
        return segments
    }

    private func reference() throws -> RecordingStream {
        let (factory, _) = assemble(try connection())
        XCTAssertEqual(factory.streams.count, 1)
        return factory.streams[0].1
    }

    func testInOrderStreamIsTheConcatenationOfUniquePayloads() throws {
        let segments = try connection()
        let (factory, assembler) = assemble(segments)
        let stream = factory.streams[0].1
        let info = factory.streams[0].0
        XCTAssertTrue(info.sawHandshake)
        let clientPayload = segments.filter { $0.source == info.client }.flatMap(\.payload)
        let serverPayload = segments.filter { $0.source == info.server }.flatMap(\.payload)
        assertSameBytes(stream.bytes(.clientToServer), clientPayload)
        assertSameBytes(stream.bytes(.serverToClient), serverPayload)
        XCTAssertEqual(assembler.statistics.gaps, 0)
        XCTAssertEqual(assembler.statistics.retransmittedBytes, 0)
        XCTAssertEqual(stream.events[0].last, .end(.fin))
        XCTAssertEqual(factory.closed, [info.id])
    }

    func testReorderedSegmentsGiveTheSameStream() throws {
        let expected = try reference()
        var segments = try connection()
        var generator = SeededGenerator(seed: 7)
        // Shuffle within windows of 6 packets after the handshake, as a multi-queue NIC or a
        // merged capture does.
        var start = 3
        while start < segments.count {
            let end = min(start + 6, segments.count)
            segments[start..<end].shuffle(using: &generator)
            start = end
        }
        let (factory, assembler) = assemble(segments)
        XCTAssertEqual(factory.streams.count, 1)
        let stream = factory.streams[0].1
        assertSameBytes(stream.bytes(.clientToServer), expected.bytes(.clientToServer))
        assertSameBytes(stream.bytes(.serverToClient), expected.bytes(.serverToClient))
        XCTAssertGreaterThan(assembler.statistics.outOfOrderSegments, 0)
        XCTAssertEqual(assembler.statistics.gaps, 0)
    }

    func testRetransmissionsAndOverlapsAreDeliveredOnce() throws {
        let expected = try reference()
        let original = try connection()
        var segments: [OwnedSegment] = []
        var duplicated = 0
        for (index, segment) in original.enumerated() {
            segments.append(segment)
            guard segment.payload.count > 4 else { continue }
            if index % 3 == 0 {
                segments.append(segment)
                duplicated += segment.payload.count
            } else if index % 3 == 1 {
                // A retransmission that overlaps the tail of this segment only.
                var tail = segment
                let cut = segment.payload.count / 2
                tail.sequence = segment.sequence &+ UInt32(cut)
                tail.payload = Array(segment.payload[cut...])
                segments.append(tail)
                duplicated += tail.payload.count
            }
        }
        let (factory, assembler) = assemble(segments)
        let stream = factory.streams[0].1
        assertSameBytes(stream.bytes(.clientToServer), expected.bytes(.clientToServer))
        assertSameBytes(stream.bytes(.serverToClient), expected.bytes(.serverToClient))
        XCTAssertEqual(assembler.statistics.retransmittedBytes, duplicated)
    }

    func testALostSegmentBecomesAGapOfItsExactSizeAtItsPlace() throws {
        let expected = try reference()
        var segments = try connection()
        let info = try XCTUnwrap(assemble(segments).0.streams.first?.0)
        // Drop a server data segment that has data after it.
        let serverData = segments.indices.filter { segments[$0].source == info.server && !segments[$0].payload.isEmpty }
        try XCTSkipIf(serverData.count < 3, "needs three server data segments")
        let dropped = segments.remove(at: serverData[1])
        let (factory, assembler) = assemble(segments)
        let stream = factory.streams[0].1
        let full = expected.bytes(.serverToClient)
        let offset = Int(dropped.sequence &- segments.first(where: { $0.source == info.server && $0.flags.contains(.syn) })!.sequence) - 1
        var withoutDropped = full
        withoutDropped.removeSubrange(offset..<offset + dropped.payload.count)
        assertSameBytes(stream.bytes(.serverToClient), withoutDropped)
        XCTAssertEqual(assembler.statistics.gaps, 1)
        XCTAssertEqual(assembler.statistics.gapBytes, dropped.payload.count)
        XCTAssertTrue(stream.events[1].contains(.gap(dropped.payload.count)))
        assertSameBytes(stream.bytes(.clientToServer), expected.bytes(.clientToServer))
    }

    func testAcknowledgedHoleIsDeclaredBeforeTheConnectionEnds() throws {
        var segments = try connection()
        let info = try XCTUnwrap(assemble(segments).0.streams.first?.0)
        let serverData = segments.indices.filter { segments[$0].source == info.server && !segments[$0].payload.isEmpty }
        try XCTSkipIf(serverData.count < 3, "needs three server data segments")
        let dropped = segments.remove(at: serverData[1])
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        // Feed up to the first client ACK that covers the data after the hole, without flushing.
        let next = try XCTUnwrap(segments[serverData[1]...].first { $0.source == info.server && !$0.payload.isEmpty })
        let nextEnd = next.sequence &+ UInt32(next.payload.count)
        guard let ackIndex = segments.firstIndex(where: {
            $0.source == info.client && $0.flags.contains(.ack) && Int32(bitPattern: $0.acknowledgment &- nextEnd) >= 0
        }) else { throw XCTSkip("no ACK covers the data after the hole") }
        var configuration = AssemblerConfiguration()
        configuration.reorderingTolerancePackets = 0
        let eager = TCPAssembler(factory: RecordingFactory(), configuration: configuration)
        eager.process(Array(segments[...ackIndex]))
        XCTAssertEqual(eager.statistics.gaps, 1, "the ACK proves the bytes were sent")
        XCTAssertEqual(eager.statistics.gapBytes, dropped.payload.count)
        // By default, a few more packets must go by (the data may just be late in the capture).
        assembler.process(Array(segments[...ackIndex]))
        XCTAssertEqual(assembler.statistics.gaps, 0)
        let repeatedACK = segments[ackIndex]
        assembler.process(Array(repeating: repeatedACK, count: AssemblerConfiguration().reorderingTolerancePackets + 1))
        XCTAssertEqual(assembler.statistics.gaps, 1, "duplicate ACKs keep proving the bytes were sent")
        XCTAssertEqual(assembler.statistics.gapBytes, dropped.payload.count)
    }

    func testSequenceWraparound() throws {
        let expected = try reference()
        let segments = try connection()
        let info = try XCTUnwrap(assemble(segments).0.streams.first?.0)
        // Move both initial sequence numbers just below 2^32 so the stream wraps mid-way.
        let clientISN = segments.first { $0.source == info.client && $0.flags.contains(.syn) }!.sequence
        let serverISN = segments.first { $0.source == info.server && $0.flags.contains(.syn) }!.sequence
        let clientShift = (UInt32.max - 100) &- clientISN
        let serverShift = (UInt32.max - 300) &- serverISN
        let wrapped = segments.map { segment -> OwnedSegment in
            var s = segment
            let fromClient = s.source == info.client
            s.sequence = s.sequence &+ (fromClient ? clientShift : serverShift)
            if s.flags.contains(.ack) { s.acknowledgment = s.acknowledgment &+ (fromClient ? serverShift : clientShift) }
            return s
        }
        let (factory, assembler) = assemble(wrapped)
        let stream = factory.streams[0].1
        assertSameBytes(stream.bytes(.clientToServer), expected.bytes(.clientToServer))
        assertSameBytes(stream.bytes(.serverToClient), expected.bytes(.serverToClient))
        XCTAssertEqual(assembler.statistics.gaps, 0)
    }

    func testMidStreamPickupStartsAtTheFirstPayloadSeen() throws {
        let expected = try reference()
        let segments = try connection()
        // Drop the handshake and the first client data segment.
        let firstData = segments.firstIndex { !$0.payload.isEmpty }!
        let rest = Array(segments[(firstData + 1)...])
        let (factory, assembler) = assemble(rest)
        XCTAssertEqual(assembler.statistics.connectionsWithoutHandshake, 1)
        let info = factory.streams[0].0
        XCTAssertFalse(info.sawHandshake)
        XCTAssertEqual(info.server, segments[0].destination, "the server is guessed from the ports")
        let stream = factory.streams[0].1
        let skipped = segments[firstData].payload.count
        assertSameBytes(stream.bytes(.clientToServer), Array(expected.bytes(.clientToServer).dropFirst(skipped)))
        assertSameBytes(stream.bytes(.serverToClient), expected.bytes(.serverToClient))
    }

    func testIdleConnectionsAreFlushedByCaptureTime() throws {
        let segments = try connection()
        var configuration = AssemblerConfiguration()
        configuration.idleTimeout = 30
        // Cut the connection before its FIN and move the rest 10 minutes later in capture time.
        let firstFin = segments.firstIndex { $0.flags.contains(.fin) }!
        var late = Array(segments[..<firstFin])
        let other = OwnedSegment(time: late.last!.time.adding(seconds: 600),
                                 source: Endpoint(address: .v4(0x0A00_0001), port: 40000),
                                 destination: Endpoint(address: .v4(0x0A00_0002), port: 80),
                                 sequence: 1, acknowledgment: 0, flags: [.syn], payload: [])
        late.append(other)
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory, configuration: configuration)
        assembler.process(late)
        XCTAssertEqual(factory.closed.count, 1, "closed by capture time, before the end of the capture")
        XCTAssertEqual(assembler.statistics.idleConnections, 1)
        XCTAssertEqual(factory.streams[0].1.events[0].last, .end(.idle))
        XCTAssertEqual(assembler.openConnections, 1)
    }

    func testBufferCapSkipsTheHoleAndCountsIt() throws {
        var segments = try connection()
        let info = try XCTUnwrap(assemble(segments).0.streams.first?.0)
        let serverData = segments.indices.filter { segments[$0].source == info.server && !segments[$0].payload.isEmpty }
        try XCTSkipIf(serverData.count < 4, "needs four server data segments")
        segments.remove(at: serverData[1])
        // Client ACKs would declare the gap first: keep only the server's side.
        segments = segments.filter { $0.source == info.server || $0.flags.contains(.syn) }
        var configuration = AssemblerConfiguration()
        configuration.maxBufferedBytesPerConnection = 1
        let (_, assembler) = assemble(segments, configuration: configuration)
        XCTAssertGreaterThanOrEqual(assembler.statistics.gapsForcedByBufferCap, 1)
        XCTAssertLessThanOrEqual(assembler.statistics.peakBufferedBytes, segments.map(\.payload.count).max()!)
    }

    func testPortReuseStartsANewConnection() throws {
        let segments = try connection()
        let shifted = segments.map { segment -> OwnedSegment in
            var s = segment
            s.time = s.time.adding(seconds: 5)
            s.sequence = s.sequence &+ 1_000_000
            if s.flags.contains(.ack) { s.acknowledgment = s.acknowledgment &+ 1_000_000 }
            return s
        }
        // The first connection without its closing packets, then the same ports again.
        let open = segments.filter { !$0.flags.contains(.fin) && !$0.flags.contains(.rst) }
        let (factory, _) = assemble(open + shifted)
        XCTAssertEqual(factory.streams.count, 2)
        XCTAssertEqual(factory.streams[0].1.events[0].last, .end(.superseded))
    }

    func testSequenceDistanceAcrossWraparound() {
        XCTAssertEqual(TCPSequence.distance(from: UInt32.max - 1, to: 3), 5)
        XCTAssertEqual(TCPSequence.distance(from: 3, to: UInt32.max - 1), -5)
        XCTAssertEqual(TCPSequence.distance(from: 100, to: 100), 0)
    }
}

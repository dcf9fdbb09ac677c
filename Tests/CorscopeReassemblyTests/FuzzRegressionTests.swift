import CorscopeCapture
import CorscopeReassembly
import XCTest

/// Inputs the fuzz targets (Fuzz/Targets) found failing, as plain tests. Each input is also in
/// Fuzz/regressions/<Target>/, which `make fuzz` and `make fuzz-smoke` replay as seeds.
final class FuzzRegressionTests: XCTestCase {
    /// Fuzz/regressions/FuzzTCPAssembler/crash-2a05ecae…: 28 bytes of data with no handshake,
    /// then a SYN|FIN segment beyond a hole carrying 21 bytes. At the end of the capture the hole
    /// is skipped, the buffered bytes reach the FIN and end the direction; `close` then ended it
    /// a second time (the handler got `end` twice).
    func testFlushThatReachesTheFINEndsTheDirectionOnce() {
        let client = Endpoint(address: .v4(0x0A00_0001), port: 40_000)
        let server = Endpoint(address: .v4(0x0A00_0002), port: 80)
        let isn: UInt32 = 0xFFFF_FF00
        let time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
        let segments = [
            OwnedSegment(time: time, source: client, destination: server, sequence: isn &+ 0x1C, acknowledgment: 0,
                         flags: [.psh], payload: (0..<28).map { UInt8(truncatingIfNeeded: isn &+ 0x1C &+ UInt32($0)) }),
            OwnedSegment(time: time, source: client, destination: server, sequence: isn &+ 0x110, acknowledgment: 0xFFFF_FFF1,
                         flags: TCPFlags(rawValue: 0x5B), payload: (0..<21).map { UInt8(truncatingIfNeeded: isn &+ 0x111 &+ UInt32($0)) }),
        ]
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        assembler.process(segments)
        assembler.flushAll()

        XCTAssertEqual(factory.streams.count, 1)
        let events = factory.streams[0].1.events[FlowDirection.clientToServer.rawValue]
        let ends = events.filter { if case .end = $0 { return true } else { return false } }
        XCTAssertEqual(ends, [.end(.fin)], "\(events)")
        XCTAssertEqual(events.count, 4, "data, gap, data, end: \(events)")
        XCTAssertEqual(factory.closed.count, 1)
        XCTAssertEqual(assembler.openConnections, 0)
    }

    /// Fuzz/regressions/FuzzTCPAssembler/crash-handler-made-after-an-end: a SYN-ACK, then data
    /// beyond a hole from the same side. At the end of the capture the direction with no bytes
    /// was ended while the connection had no handler yet; the hole in the other direction then
    /// made one, which never heard that the first direction ended, and was closed anyway.
    func testAHandlerMadeAfterADirectionEndedHearsThatEnd() {
        let server = Endpoint(address: .v4(0x0A00_0001), port: 40_000)
        let client = Endpoint(address: .v4(0x0A00_0002), port: 80)
        let isn: UInt32 = 0xFFFF_FF00
        let time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
        let segments = [
            OwnedSegment(time: time, source: server, destination: client, sequence: isn, acknowledgment: 0xFFFF_FFF1,
                         flags: [.syn, .ack], payload: []),
            OwnedSegment(time: time, source: server, destination: client, sequence: isn &+ 0x1412, acknowledgment: 0,
                         flags: [], payload: [UInt8](repeating: 0x41, count: 86)),
        ]
        let factory = RecordingFactory()
        let assembler = TCPAssembler(factory: factory)
        assembler.process(segments)
        assembler.flushAll()

        XCTAssertEqual(factory.streams.count, 1)
        guard let stream = factory.streams.first?.1 else { return }
        for direction in [FlowDirection.clientToServer, .serverToClient] {
            let ends = stream.events[direction.rawValue].filter { if case .end = $0 { return true } else { return false } }
            XCTAssertEqual(ends.count, 1, "\(direction): \(stream.events[direction.rawValue])")
        }
        XCTAssertEqual(stream.events[FlowDirection.serverToClient.rawValue],
                       [.gap(0x1411), .data([UInt8](repeating: 0x41, count: 86)), .end(.endOfCapture)])
        XCTAssertEqual(factory.closed.count, 1)
    }
}

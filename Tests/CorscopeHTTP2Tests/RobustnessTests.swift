import CorscopeCapture
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import CorscopeTestSupport
import XCTest

/// Hostile and broken input made from the recorded bytes: flipped bytes, cuts at every frame
/// boundary region, oversized lengths. Nothing may trap, every counter stays consistent, and
/// memory stays bounded (the analyzer holds at most one frame per side).
final class HTTP2RobustnessTests: XCTestCase {
    func testMutatedRecordingsNeverTrap() throws {
        var generator = SeededGenerator(seed: 0x4832_4332)
        for name in ["nginx-prior-knowledge", "nghttpd-push"] {
            let result = try CaptureHarness.run(PackagePaths.path("Captures/h2c/\(name).pcap"))
            for (id, events) in result.events {
                let connection = try XCTUnwrap(result.exchanges.first { $0.connection.id == id }?.connection)
                for round in 0..<24 {
                    // Flip a few bytes anywhere (frame headers, HPACK, data), then replay in odd segments.
                    var mutated: [StreamEvent] = []
                    for event in events {
                        guard case .data(var bytes, let direction, let time) = event else { mutated.append(event); continue }
                        for _ in 0..<(bytes.count / 2048 + 1) where Int.random(in: 0..<4, using: &generator) == 0 {
                            let at = Int.random(in: 0..<bytes.count, using: &generator)
                            bytes[at] = UInt8.random(in: 0...255, using: &generator)
                        }
                        mutated.append(.data(bytes, direction, time))
                    }
                    let segment = [5, 9, 100, 1500][round % 4]
                    let replay = Replay(segment: segment).run(mutated, connection: connection)
                    XCTAssertLessThanOrEqual(replay.exchanges.count, replay.statistics.streams, "\(name) round \(round)")
                    XCTAssertEqual(replay.exchanges.count, replay.statistics.exchanges)
                    XCTAssertEqual(replay.exchanges.map(\.index), Array(0..<replay.exchanges.count))
                    XCTAssertEqual(Set(replay.exchanges.map(\.id)).count, replay.exchanges.count, "one exchange per stream")
                }
            }
        }
    }

    func testGapsAnywhereNeverTrapAndKeepTheCounts() throws {
        let result = try CaptureHarness.run(PackagePaths.path("Captures/h2c/nginx-prior-knowledge.pcap"))
        let events = try XCTUnwrap(result.events[0])
        let connection = try XCTUnwrap(result.exchanges.first?.connection)
        var generator = SeededGenerator(seed: 12)
        for round in 0..<40 {
            let direction: FlowDirection = round % 2 == 0 ? .clientToServer : .serverToClient
            var total = 0
            for case .data(let bytes, let side, _) in events where side == direction { total += bytes.count }
            let start = Int.random(in: 0..<(total - 1), using: &generator)
            let cut = start..<(start + Int.random(in: 1...3000, using: &generator))
            let replay = Replay(segment: [97, 1448][round % 2]).run(events, connection: connection) { _, side in side == direction ? cut : nil }
            // One gap per recorded segment the cut touches.
            XCTAssertGreaterThanOrEqual(replay.statistics.gaps, 1, "round \(round)")
            XCTAssertEqual(replay.exchanges.count, replay.statistics.exchanges)
            // The side without the gap still gives all its heads.
            if direction == .clientToServer {
                XCTAssertEqual(replay.exchanges.compactMap(\.responseHead).count, 4, "round \(round): \(cut)")
            } else {
                XCTAssertEqual(replay.exchanges.compactMap(\.requestHead).count, 4, "round \(round): \(cut)")
            }
            // Heads decoded are never wrong: each equals the one decoded without the gap.
            let whole = result.exchanges.filter { $0.connection.id == 0 }
            for exchange in replay.exchanges {
                let original = try XCTUnwrap(whole.first { $0.streamID == exchange.streamID }, "round \(round): stream \(exchange.streamID ?? 0) invented")
                if let head = exchange.requestHead { XCTAssertEqual(head, original.requestHead, "round \(round)") }
                if let head = exchange.responseHead { XCTAssertEqual(head, original.responseHead, "round \(round)") }
            }
        }
    }

    /// A capture that begins mid-connection (no handshake, no preface): the analyzer scans for
    /// frame boundaries and decodes only the heads it can decode exactly.
    func testPickedUpMidConnection() throws {
        let result = try CaptureHarness.run(PackagePaths.path("Captures/h2c/nginx-prior-knowledge.pcap"))
        let events = try XCTUnwrap(result.events[0])
        var connection = try XCTUnwrap(result.exchanges.first?.connection)
        connection.sawHandshake = false
        let whole = result.exchanges.filter { $0.connection.id == 0 }
        for (skipClient, skipServer) in [(100, 100), (300, 700), (0, 40_000), (24, 0)] {
            var dropped = [skipClient, skipServer]
            var late: [StreamEvent] = []
            for event in events {
                guard case .data(let bytes, let direction, let time) = event else { late.append(event); continue }
                let skip = min(dropped[direction.rawValue], bytes.count)
                dropped[direction.rawValue] -= skip
                if skip < bytes.count { late.append(.data(Array(bytes[skip...]), direction, time)) }
            }
            let replay = Replay(segment: 1448).run(late, connection: connection)
            XCTAssertTrue(replay.statistics.startedMidConnection)
            for exchange in replay.exchanges {
                let original = try XCTUnwrap(whole.first { $0.streamID == exchange.streamID }, "stream \(exchange.streamID ?? 0) invented")
                if let head = exchange.requestHead { XCTAssertEqual(head, original.requestHead) }
                if let head = exchange.responseHead { XCTAssertEqual(head, original.responseHead) }
            }
            if skipClient == 24 && skipServer == 0 {
                // Only the preface was missed: frames and the first blocks are read as they were.
                XCTAssertEqual(replay.exchanges.count, 4)
            }
        }
    }
}

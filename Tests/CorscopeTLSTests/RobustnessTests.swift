import CorscopeCapture
import CorscopeReassembly
import CorscopeTestSupport
import XCTest

@testable import CorscopeTLS

/// What one connection's decryptor was fed, to feed again: real bytes from the loopback capture.
final class StreamRecorder: TCPStreamHandler {
    enum Event {
        case data([UInt8], FlowDirection, Timestamp)
        case gap(Int, FlowDirection, Timestamp)
        case end(FlowDirection, Timestamp, StreamEndReason)
    }

    let inner: any TCPStreamHandler
    var events: [Event] = []

    init(_ inner: any TCPStreamHandler) { self.inner = inner }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        events.append(.data(Array(data), direction, time))
        inner.receive(data, direction: direction, time: time)
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        events.append(.gap(length, direction, time))
        inner.gap(length: length, direction: direction, time: time)
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        events.append(.end(direction, time, reason))
        inner.end(direction: direction, time: time, reason: reason)
    }
}

final class RobustnessTests: XCTestCase {
    private struct Recorded {
        let connection: ConnectionInfo
        let events: [StreamRecorder.Event]
        let reference: DecryptedConnection
    }

    private static func recordings() throws -> (TLSKeyStore, [Recorded]) {
        let keys = try TLSFixtures.keys(TLSFixtures.loopbackKeyLog)
        var recorders: [Int: StreamRecorder] = [:]
        let run = try TLSCaptureRun(keys: keys) { connection, decryptor in
            let recorder = StreamRecorder(decryptor)
            recorders[connection.id] = recorder
            return recorder
        }.read(TLSFixtures.loopbackCapture)
        let recorded = run.connections.compactMap { connection in
            recorders[connection.connection.id].map { Recorded(connection: connection.connection, events: $0.events, reference: connection) }
        }
        return (keys, recorded)
    }

    private func replay(_ events: [StreamRecorder.Event], connection: ConnectionInfo, keys: TLSKeyStore,
                        configuration: TLSConfiguration = .init()) -> TLSConnectionDecryptor {
        let decryptor = TLSConnectionDecryptor(connection: connection, keys: keys, configuration: configuration) {
            PlaintextCollector(session: $0)
        }
        for event in events {
            switch event {
            case .data(let bytes, let direction, let time):
                bytes.withUnsafeBytes { decryptor.receive($0, direction: direction, time: time) }
            case .gap(let length, let direction, let time):
                decryptor.gap(length: length, direction: direction, time: time)
            case .end(let direction, let time, let reason):
                decryptor.end(direction: direction, time: time, reason: reason)
            }
        }
        return decryptor
    }

    private func plaintext(_ decryptor: TLSConnectionDecryptor) -> [[UInt8]] {
        (decryptor.plaintextHandler as? PlaintextCollector)?.bytes ?? [[], []]
    }

    /// The same bytes one at a time: records and handshake messages reassemble across any split.
    func testOneByteSegmentsGiveTheSamePlaintext() throws {
        let (keys, recorded) = try Self.recordings()
        for connection in recorded {
            var events: [StreamRecorder.Event] = []
            for event in connection.events {
                if case .data(let bytes, let direction, let time) = event {
                    events += bytes.map { .data([$0], direction, time) }
                } else {
                    events.append(event)
                }
            }
            let decryptor = replay(events, connection: connection.connection, keys: keys)
            let label = "port \(connection.connection.server.port)"
            XCTAssertEqual(decryptor.state, connection.reference.decryptor.state, label)
            XCTAssertEqual(decryptor.statistics, connection.reference.decryptor.statistics, label)
            XCTAssertEqual(plaintext(decryptor), [connection.reference.client, connection.reference.server], label)
        }
    }

    /// Cut anywhere: never a crash, nothing after the cut, and what came before is a prefix of
    /// the full plaintext.
    func testTruncatedConnectionsNeverCrash() throws {
        let (keys, recorded) = try Self.recordings()
        var generator = SeededGenerator(seed: 12)
        for connection in recorded {
            for _ in 0..<8 {
                let dataEvents = connection.events.filter { if case .data = $0 { return true } else { return false } }
                let cutEvent = Int(generator.next() % UInt64(max(1, dataEvents.count)))
                var events = Array(dataEvents.prefix(cutEvent))
                if case .data(let bytes, let direction, let time) = dataEvents[cutEvent] {
                    events.append(.data(Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count + 1)))), direction, time))
                }
                events.append(.end(.clientToServer, .zero, .endOfCapture))
                events.append(.end(.serverToClient, .zero, .endOfCapture))
                let result = plaintext(replay(events, connection: connection.connection, keys: keys))
                XCTAssertTrue(connection.reference.client.starts(with: result[0]))
                XCTAssertTrue(connection.reference.server.starts(with: result[1]))
            }
        }
    }

    /// Flipped bytes, junk, gaps and reordered chunks: never a crash; whatever decrypts is
    /// authentic (a piece of the real plaintext), and the counts stay within what was received.
    func testGarbledConnectionsNeverCrash() throws {
        let (keys, recorded) = try Self.recordings()
        var generator = SeededGenerator(seed: 99)
        for connection in recorded {
            for round in 0..<6 {
                var events: [StreamRecorder.Event] = []
                for event in connection.events {
                    guard case .data(var bytes, let direction, let time) = event else { events.append(event); continue }
                    switch generator.next() % 6 {
                    case 0 where !bytes.isEmpty:
                        bytes[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                    case 1:
                        bytes.insert(contentsOf: (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) },
                                     at: Int(generator.next() % UInt64(bytes.count + 1)))
                    case 2 where bytes.count > 10:
                        let cut = Int(generator.next() % UInt64(bytes.count))
                        events.append(.gap(bytes.count - cut, direction, time))
                        bytes = Array(bytes.prefix(cut))
                    default:
                        break
                    }
                    events.append(.data(bytes, direction, time))
                }
                if round % 2 == 1 { events.shuffle(using: &generator) }
                var configuration = TLSConfiguration()
                configuration.maximumBufferedCiphertextBytes = 4_096
                let decryptor = replay(events, connection: connection.connection, keys: keys, configuration: configuration)
                let statistics = decryptor.statistics
                XCTAssertLessThanOrEqual(statistics.plaintextBytesFromClient + statistics.plaintextBytesFromServer, statistics.receivedBytes)
                XCTAssertLessThanOrEqual(decryptor.bufferedCiphertextBytesForTests, configuration.maximumBufferedCiphertextBytes)
            }
        }
    }

    /// Random bytes, and random bytes behind a real-looking record header.
    func testRandomBytesAreNotTLSOrResynchronise() {
        var generator = SeededGenerator(seed: 3)
        let connection = ConnectionInfo(id: 0, client: Endpoint(address: .v4(0x7F00_0001), port: 40000),
                                        server: Endpoint(address: .v4(0x7F00_0001), port: 443), sawHandshake: true, firstSeen: .zero)
        for round in 0..<300 {
            let decryptor = TLSConnectionDecryptor(connection: connection, keys: TLSKeyStore()) { PlaintextCollector(session: $0) }
            var bytes = (0..<Int(generator.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if round % 2 == 0 { bytes = [22, 3, 1, 0, 40, 1, 0, 0, 36, 3, 3] + bytes }
            for chunk in stride(from: 0, to: bytes.count, by: 97) {
                let piece = Array(bytes[chunk..<min(bytes.count, chunk + 97)])
                piece.withUnsafeBytes { decryptor.receive($0, direction: round % 3 == 0 ? .serverToClient : .clientToServer, time: .zero) }
            }
            decryptor.gap(length: 5, direction: .clientToServer, time: .zero)
            decryptor.end(direction: .clientToServer, time: .zero, reason: .fin)
            decryptor.end(direction: .serverToClient, time: .zero, reason: .fin)
            XCTAssertNil(decryptor.plaintextHandler)
        }
    }

    /// A connection that went quiet while its records waited: adding the key and calling
    /// `recheckKeys` decrypts them without another record.
    func testRecheckKeysDecryptsAQuietConnection() throws {
        let (_, recorded) = try Self.recordings()
        let keyLog = try String(contentsOfFile: TLSFixtures.loopbackKeyLog, encoding: .utf8)
        var checked = 0
        for connection in recorded where connection.reference.decryptor.state == .decrypting && !connection.reference.client.isEmpty {
            let keys = TLSKeyStore()
            let withoutEnds = connection.events.filter { if case .end = $0 { return false } else { return true } }
            let decryptor = replay(withoutEnds, connection: connection.connection, keys: keys)
            XCTAssertNil(decryptor.plaintextHandler)
            XCTAssertGreaterThan(decryptor.bufferedCiphertextBytesForTests, 0)
            let random = Hex.encode(try XCTUnwrap(decryptor.clientRandomForTests))
            keys.add(keyLog: Array(keyLog.split(separator: "\n").filter { $0.contains(random) }.joined(separator: "\n").utf8), source: "late")
            decryptor.recheckKeys()
            XCTAssertEqual(decryptor.bufferedCiphertextBytesForTests, 0)
            XCTAssertEqual(plaintext(decryptor), [connection.reference.client, connection.reference.server],
                           "port \(connection.connection.server.port)")
            checked += 1
        }
        XCTAssertEqual(checked, 16)
    }

    /// The key log has TLS 1.3's application secrets but not the handshake ones: the
    /// application data still decrypts; the ALPN choice (in EncryptedExtensions) stays unknown.
    func testTLS13WithoutHandshakeSecrets() throws {
        let (_, recorded) = try Self.recordings()
        let keyLog = try String(contentsOfFile: TLSFixtures.loopbackKeyLog, encoding: .utf8)
        let keys = TLSKeyStore()
        keys.add(keyLog: Array(keyLog.split(separator: "\n").filter { !$0.contains("HANDSHAKE_TRAFFIC_SECRET") }
            .joined(separator: "\n").utf8), source: "no handshake secrets")
        var checked = 0
        for connection in recorded where connection.reference.decryptor.session.version == "TLS 1.3"
            && connection.reference.decryptor.state == .decrypting {
            let decryptor = replay(connection.events, connection: connection.connection, keys: keys)
            let label = "port \(connection.connection.server.port)"
            XCTAssertEqual(plaintext(decryptor), [connection.reference.client, connection.reference.server], label)
            XCTAssertTrue(decryptor.statistics.leniencies.contains(.handshakeSecretsMissing), label)
            XCTAssertNil(decryptor.session.selectedProtocol, label)
            XCTAssertEqual(decryptor.statistics.authenticationFailures, 0, label)
            checked += 1
        }
        XCTAssertEqual(checked, 7)
    }

    /// The client's KeyUpdate record lost: the next record verifies with the next generation's
    /// secret, and the request after it decrypts.
    func testLostKeyUpdateIsFoundByTrial() throws {
        let (keys, recorded) = try Self.recordings()
        let connection = try XCTUnwrap(recorded.first { $0.connection.server.port == 24611 })
        var client: [UInt8] = []
        for case .data(let bytes, .clientToServer, _) in connection.events { client += bytes }
        // Client records: ClientHello, CCS, Finished, GET /before, KeyUpdate, GET /after, alert.
        var records: [Range<Int>] = []
        var offset = 0
        while offset + 5 <= client.count {
            let end = offset + 5 + (Int(client[offset + 3]) << 8 | Int(client[offset + 4]))
            records.append(offset..<end)
            offset = end
        }
        XCTAssertGreaterThanOrEqual(records.count, 6)
        let keyUpdate = records[4]
        let run = try TLSCaptureRun(keys: keys) { info, decryptor in
            info.server.port == 24611
                ? LossInjector(decryptor, direction: .clientToServer, dropping: keyUpdate) as any TCPStreamHandler
                : decryptor
        }.read(TLSFixtures.loopbackCapture)
        let damaged = try run.connection(serverPort: 24611)
        XCTAssertTrue(damaged.decryptor.statistics.leniencies.contains(.keyUpdateNotSeen))
        XCTAssertEqual(damaged.decryptor.statistics.keyUpdates, 2)
        XCTAssertEqual(damaged.decryptor.statistics.authenticationFailures, 0)
        XCTAssertEqual(damaged.collector?.gaps[0], [keyUpdate.count])
        assertSameBytes(damaged.client, connection.reference.client)
        assertSameBytes(damaged.server, connection.reference.server)
    }

    /// A capture that starts after the hellos: nothing to look a key up by.
    func testCaptureStartingAfterTheHandshake() throws {
        let (keys, recorded) = try Self.recordings()
        for connection in recorded where connection.reference.decryptor.state == .decrypting {
            // Drop each direction's first two deliveries (the hellos and what came with them).
            var seen = [0, 0]
            let events = connection.events.filter { event in
                guard case .data(_, let direction, _) = event else { return true }
                seen[direction.rawValue] += 1
                return seen[direction.rawValue] > 2
            }
            var info = connection.connection
            info.sawHandshake = false
            let decryptor = replay(events, connection: info, keys: keys)
            let label = "port \(info.server.port)"
            XCTAssertEqual(decryptor.state, .handshakeNotCaptured, label)
            XCTAssertNil(decryptor.plaintextHandler, label)
        }
    }

    func testStartsWithTLSRecord() {
        func check(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { TLSConnectionDecryptor.startsWithTLSRecord($0) } }
        XCTAssertTrue(check([22, 3, 1, 0, 200]))
        XCTAssertTrue(check([23, 3, 3]))
        XCTAssertTrue(check([20, 3, 4, 0, 1]))
        XCTAssertFalse(check([24, 3, 3, 0, 1]))
        XCTAssertFalse(check([22, 3, 5, 0, 1]))
        XCTAssertFalse(check([22, 2, 0, 0, 1]))
        XCTAssertFalse(check([22, 3, 3, 0xFF, 0xFF]), "longer than any record")
        XCTAssertFalse(check(Array("GET / HTTP/1.1".utf8)))
        XCTAssertFalse(check([22, 3]))
    }
}

import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly
import XCTest

/// `HTTP1ConnectionAnalyzer.onProtocolSwitch`: an `h2c` upgrade handed over to another handler,
/// on the real bytes of `Captures/h2c/h2c-upgrade-curl.pcap` (curl --http2 against an h2c server).
final class ProtocolSwitchHandOffTests: XCTestCase {
    /// What a connection's handler received, in order.
    final class Recorder: TCPStreamHandler, TCPStreamFactory {
        var client: [UInt8] = []
        var server: [UInt8] = []
        var clientSegments: [[UInt8]] = []
        var serverSegments: [[UInt8]] = []
        var ends: [FlowDirection] = []
        var gaps: [(Int, FlowDirection)] = []

        func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
            if direction == .clientToServer { client += data; clientSegments.append(Array(data)) } else { server += data; serverSegments.append(Array(data)) }
        }
        func gap(length: Int, direction: FlowDirection, time: Timestamp) { gaps.append((length, direction)) }
        func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) { ends.append(direction) }
        func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler { self }
        func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {}
    }

    static let connection = ConnectionInfo(id: 3, client: Endpoint(address: .v4(0x7F00_0001), port: 42_546),
                                           server: Endpoint(address: .v4(0x7F00_0001), port: 24_643),
                                           sawHandshake: true, firstSeen: Timestamp(seconds: 1000, nanoseconds: 0))

    /// The capture's two byte streams, as the assembler delivered them.
    static func recording() throws -> Recorder {
        let recorder = Recorder()
        let reader = try CaptureFileReader(path: PackagePaths.path("Captures/h2c/h2c-upgrade-curl.pcap"))
        let assembler = TCPAssembler(factory: recorder)
        let decoder = PacketDecoder()
        _ = reader.forEachPacket { packet in decoder.decode(packet) { assembler.process($0) } }
        assembler.flushAll()
        return recorder
    }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i + 4 }
        return nil
    }

    /// Feeds the recorded segments (client segments first within each round, as curl spoke
    /// first), or re-cut into `segment`-byte pieces; `serverWhole` sends the server's bytes as one.
    func run(_ recorded: Recorder, segment: Int? = nil, serverWhole: Bool = false,
             hook: ((HTTPRequest, HTTPResponseHead) -> (any TCPStreamHandler)?)?) -> (exchanges: [HTTPExchange], analyzer: HTTP1ConnectionAnalyzer) {
        var exchanges: [HTTPExchange] = []
        let analyzer = HTTP1ConnectionAnalyzer(connection: Self.connection) { exchanges.append($0) }
        analyzer.onProtocolSwitch = hook
        let time = Timestamp(seconds: 1000, nanoseconds: 0)
        func feed(_ bytes: [UInt8], _ direction: FlowDirection) {
            var from = 0
            while from < bytes.count {
                let to = min(bytes.count, from + (segment ?? bytes.count))
                Array(bytes[from..<to]).withUnsafeBytes { analyzer.receive($0, direction: direction, time: time) }
                from = to
            }
        }
        // The upgrade request, then the server's answer (101 + HTTP/2), then the client's HTTP/2
        // bytes: the order they crossed the wire in.
        let requestEnd = Self.headEnd(recorded.client) ?? recorded.client.count
        feed(Array(recorded.client[..<requestEnd]), .clientToServer)
        if serverWhole { feed(recorded.server, .serverToClient) } else { for piece in recorded.serverSegments { feed(piece, .serverToClient) } }
        feed(Array(recorded.client[requestEnd...]), .clientToServer)
        analyzer.end(direction: .clientToServer, time: time, reason: .fin)
        analyzer.end(direction: .serverToClient, time: time, reason: .fin)
        return (exchanges, analyzer)
    }

    func testH2CUpgradeHandsEveryLaterByteOver() throws {
        let recorded = try Self.recording()
        let requestEnd = try XCTUnwrap(Self.headEnd(recorded.client))
        let responseEnd = try XCTUnwrap(Self.headEnd(recorded.server))
        XCTAssertTrue(recorded.server.starts(with: Array("HTTP/1.1 101".utf8)))
        for (segment, whole) in [(nil, false), (nil, true), (1, false), (7, false)] as [(Int?, Bool)] {
            let taker = Recorder()
            var asked: [(HTTPRequest, HTTPResponseHead)] = []
            let (exchanges, analyzer) = run(recorded, segment: segment, serverWhole: whole) { request, response in
                asked.append((request, response))
                return HTTP1ConnectionAnalyzer.isH2CUpgrade(request: request, response: response) ? taker : nil
            }
            let label = "segment \(segment.map(String.init) ?? "as recorded"), server whole: \(whole)"
            XCTAssertEqual(exchanges.count, 0, "the upgrade exchange belongs to the new handler: \(label)")
            XCTAssertEqual(asked.count, 1, label)
            XCTAssertEqual(asked.first?.0.head.target, "/plain.txt", label)
            XCTAssertEqual(asked.first?.1.status, 101, label)
            XCTAssertTrue(analyzer.protocolSwitchHandler === taker, label)
            // Everything after the upgrade request and after the 101 head, byte for byte.
            XCTAssertEqual(taker.client, Array(recorded.client[requestEnd...]), label)
            XCTAssertEqual(taker.server, Array(recorded.server[responseEnd...]), label)
            XCTAssertTrue(taker.client.starts(with: Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)), label)
            XCTAssertEqual(taker.server.dropFirst(3).first, 0x4, "the server's first frame is SETTINGS: \(label)")
            XCTAssertEqual(taker.ends, [.clientToServer, .serverToClient], label)
            XCTAssertEqual(analyzer.statistics.skippedBytes, 0, label)
        }
    }

    func testClientBytesHeldBeforeThe101GoToTheHandler() throws {
        let recorded = try Self.recording()
        let requestEnd = try XCTUnwrap(Self.headEnd(recorded.client))
        let responseEnd = try XCTUnwrap(Self.headEnd(recorded.server))
        // The client's HTTP/2 bytes arrive before the 101 (held by the paused request parser).
        let taker = Recorder()
        var exchanges: [HTTPExchange] = []
        let analyzer = HTTP1ConnectionAnalyzer(connection: Self.connection) { exchanges.append($0) }
        analyzer.onProtocolSwitch = { _, _ in taker }
        let time = Timestamp(seconds: 1000, nanoseconds: 0)
        recorded.client.withUnsafeBytes { analyzer.receive($0, direction: .clientToServer, time: time) }
        recorded.server.withUnsafeBytes { analyzer.receive($0, direction: .serverToClient, time: time) }
        analyzer.gap(length: 10, direction: .serverToClient, time: time)
        analyzer.end(direction: .serverToClient, time: time, reason: .fin)
        analyzer.end(direction: .clientToServer, time: time, reason: .fin)
        XCTAssertEqual(exchanges.count, 0)
        XCTAssertEqual(taker.client, Array(recorded.client[requestEnd...]))
        XCTAssertEqual(taker.server, Array(recorded.server[responseEnd...]))
        XCTAssertEqual(taker.gaps.map(\.0), [10])
        XCTAssertEqual(taker.ends, [.serverToClient, .clientToServer])
    }

    func testNoHandlerMeansTheSwitchIsFlaggedAsBefore() throws {
        let recorded = try Self.recording()
        let without = run(recorded, hook: nil)
        let declined = run(recorded) { _, _ in nil }
        for (exchanges, analyzer) in [without, declined] {
            XCTAssertEqual(exchanges.count, 1)
            XCTAssertEqual(exchanges.first?.responseHead?.status, 101)
            XCTAssertEqual(exchanges.first?.anomalies, [.protocolSwitched])
            XCTAssertNil(analyzer.protocolSwitchHandler)
            XCTAssertGreaterThan(analyzer.statistics.skippedBytes, 0)
        }
        XCTAssertEqual(without.analyzer.statistics, declined.analyzer.statistics)
    }

    func testH2CRecognition() throws {
        let recorded = try Self.recording()
        var pair: (HTTPRequest, HTTPResponseHead)?
        _ = run(recorded) { request, response in pair = (request, response); return nil }
        let (request, response) = try XCTUnwrap(pair)
        XCTAssertTrue(HTTP1ConnectionAnalyzer.isH2CUpgrade(request: request, response: response))
        var websocket = request
        websocket.head.headers = HTTPHeaderFields([("Host", "x"), ("Upgrade", "websocket"), ("Connection", "Upgrade")])
        XCTAssertFalse(HTTP1ConnectionAnalyzer.isH2CUpgrade(request: websocket, response: response))
        var notSwitched = response
        notSwitched.status = 200
        XCTAssertFalse(HTTP1ConnectionAnalyzer.isH2CUpgrade(request: request, response: notSwitched))
    }
}

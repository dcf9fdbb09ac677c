import CorscopeCapture
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import CorscopeTestSupport
import Foundation
import XCTest

/// What one capture gave: every exchange (HTTP/1 and HTTP/2) in emission order, the HTTP/2
/// details per exchange id, and each HTTP/2 connection's statistics.
struct CaptureResult {
    var exchanges: [HTTPExchange] = []
    var details: [String: HTTP2StreamDetails] = [:]
    var http2: [Int: HTTP2Statistics] = [:]
    /// The raw byte streams (and gaps) each connection received, in order, for replays.
    var events: [Int: [StreamEvent]] = [:]

    var http2Exchanges: [HTTPExchange] { exchanges.filter { $0.streamID != nil } }
    var totals: HTTP2Statistics { http2.values.reduce(into: HTTP2Statistics()) { $0 += $1 } }
}

/// One thing the assembler handed a connection's handler.
enum StreamEvent {
    case data([UInt8], FlowDirection, Timestamp)
    case gap(Int, FlowDirection, Timestamp)
    case end(FlowDirection, Timestamp)
}

/// The pipeline's real pieces (CaptureFileReader → PacketDecoder → TCPAssembler) with a handler
/// per connection chosen the way the pipeline will: the HTTP/2 preface on the client's first
/// bytes → `HTTP2ConnectionAnalyzer`; anything else → `HTTP1ConnectionAnalyzer`, whose
/// `onProtocolSwitch` hands an `Upgrade: h2c` 101 over to an `HTTP2ConnectionAnalyzer`.
final class CaptureHarness: TCPStreamFactory {
    var result = CaptureResult()
    var configuration = HTTPConfiguration()
    private var analyzers: [Int: HTTP2ConnectionAnalyzer] = [:]

    static func run(_ path: String, configuration: HTTPConfiguration = .init()) throws -> CaptureResult {
        let harness = CaptureHarness()
        harness.configuration = configuration
        let reader = try CaptureFileReader(path: path)
        let assembler = TCPAssembler(factory: harness)
        let decoder = PacketDecoder()
        _ = reader.forEachPacket { packet in decoder.decode(packet) { assembler.process($0) } }
        assembler.flushAll()
        return harness.result
    }

    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler {
        Dispatcher(connection: connection, harness: self)
    }

    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {
        if let analyzer = analyzers.removeValue(forKey: connection.id) { result.http2[connection.id] = analyzer.statistics }
    }

    func makeHTTP2(_ connection: ConnectionInfo, request: HTTPRequest? = nil, response: HTTPResponseHead? = nil) -> HTTP2ConnectionAnalyzer {
        let analyzer = HTTP2ConnectionAnalyzer(connection: connection, transport: HTTPTransport(isHTTP2: true), configuration: configuration,
                                               upgradedRequest: request, upgradeResponse: response) { [unowned self] in result.exchanges.append($0) }
        analyzer.onStreamDetails = { [unowned self] exchange, details in result.details[exchange.id] = details }
        analyzers[connection.id] = analyzer
        return analyzer
    }

    func makeHTTP1(_ connection: ConnectionInfo) -> HTTP1ConnectionAnalyzer {
        let analyzer = HTTP1ConnectionAnalyzer(connection: connection, configuration: configuration) { [unowned self] in result.exchanges.append($0) }
        analyzer.onProtocolSwitch = { [unowned self] request, response in
            guard HTTP1ConnectionAnalyzer.isH2CUpgrade(request: request, response: response) else { return nil }
            return makeHTTP2(connection, request: request, response: response)
        }
        return analyzer
    }

    /// Decides on the client's first bytes. A server may speak first (nghttpd and others send
    /// their SETTINGS on accept, before the client's preface arrives): what the server sends
    /// before the client's first bytes is held (up to 64 KiB) and replayed once the choice is made.
    final class Dispatcher: TCPStreamHandler {
        let connection: ConnectionInfo
        unowned let harness: CaptureHarness
        var handler: (any TCPStreamHandler)?
        private var heldServer: [StreamEvent] = []
        private var heldBytes = 0

        init(connection: ConnectionInfo, harness: CaptureHarness) {
            self.connection = connection
            self.harness = harness
        }

        /// The handler, once the client's first bytes (or anything that forces a choice) came.
        private func choose(_ first: UnsafeRawBufferPointer?) -> any TCPStreamHandler {
            if let handler { return handler }
            let made: any TCPStreamHandler = first.map(HTTP2ConnectionAnalyzer.startsWithPreface) == true
                ? harness.makeHTTP2(connection) : harness.makeHTTP1(connection)
            handler = made
            let held = heldServer
            heldServer = []
            for event in held {
                switch event {
                case .data(let bytes, let direction, let time): bytes.withUnsafeBytes { made.receive($0, direction: direction, time: time) }
                case .gap(let length, let direction, let time): made.gap(length: length, direction: direction, time: time)
                case .end(let direction, let time): made.end(direction: direction, time: time, reason: .fin)
                }
            }
            return made
        }

        private func mustHold(_ direction: FlowDirection, _ count: Int) -> Bool {
            guard handler == nil, direction == .serverToClient, heldBytes + count <= 64 * 1024 else { return false }
            heldBytes += count
            return true
        }

        func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
            harness.result.events[connection.id, default: []].append(.data(Array(data), direction, time))
            if mustHold(direction, data.count) { heldServer.append(.data(Array(data), direction, time)); return }
            choose(direction == .clientToServer ? data : nil).receive(data, direction: direction, time: time)
        }

        func gap(length: Int, direction: FlowDirection, time: Timestamp) {
            harness.result.events[connection.id, default: []].append(.gap(length, direction, time))
            if mustHold(direction, 0) { heldServer.append(.gap(length, direction, time)); return }
            choose(nil).gap(length: length, direction: direction, time: time)
        }

        func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
            harness.result.events[connection.id, default: []].append(.end(direction, time))
            if mustHold(direction, 0) { heldServer.append(.end(direction, time)); return }
            choose(nil).end(direction: direction, time: time, reason: reason)
        }
    }
}

/// Replays recorded byte streams straight into one `HTTP2ConnectionAnalyzer`, cut into pieces
/// of `segment` bytes, optionally with bytes replaced by gaps.
struct Replay {
    var segment: Int? = nil
    var configuration = HTTPConfiguration()

    func run(_ events: [StreamEvent], connection: ConnectionInfo, cut: ((Int, FlowDirection) -> Range<Int>?)? = nil)
        -> (exchanges: [HTTPExchange], details: [String: HTTP2StreamDetails], statistics: HTTP2Statistics) {
        var exchanges: [HTTPExchange] = []
        var details: [String: HTTP2StreamDetails] = [:]
        let analyzer = HTTP2ConnectionAnalyzer(connection: connection, transport: HTTPTransport(isHTTP2: true), configuration: configuration) { exchanges.append($0) }
        analyzer.onStreamDetails = { details[$0.id] = $1 }
        var offsets: [Int] = [0, 0]
        for event in events {
            switch event {
            case .data(let bytes, let direction, let time):
                let start = offsets[direction.rawValue]
                offsets[direction.rawValue] += bytes.count
                var pieces: [(Range<Int>, Bool)] = [(0..<bytes.count, false)]
                if let range = cut?(start, direction) {
                    let low = min(max(0, range.lowerBound - start), bytes.count)
                    let local = low..<max(low, min(bytes.count, range.upperBound - start))
                    if !local.isEmpty {
                        pieces = [(0..<local.lowerBound, false), (local, true), (local.upperBound..<bytes.count, false)]
                    }
                }
                for (range, isGap) in pieces where !range.isEmpty {
                    if isGap {
                        analyzer.gap(length: range.count, direction: direction, time: time)
                        continue
                    }
                    var from = range.lowerBound
                    while from < range.upperBound {
                        let to = min(range.upperBound, from + (segment ?? range.count))
                        let copy = Array(bytes[from..<to])
                        copy.withUnsafeBytes { analyzer.receive($0, direction: direction, time: time) }
                        from = to
                    }
                }
            case .gap(let length, let direction, let time):
                offsets[direction.rawValue] += length
                analyzer.gap(length: length, direction: direction, time: time)
            case .end(let direction, let time):
                analyzer.end(direction: direction, time: time, reason: .fin)
            }
        }
        return (exchanges, details, analyzer.statistics)
    }
}

/// HTTP/2 requests and responses as tshark decodes them, read from its PDML (one frame's fields
/// in order: type, stream id, promised stream id, header names and values).
enum TsharkHTTP2 {
    struct Message: Hashable, CustomStringConvertible {
        var clientPort: Int
        var stream: UInt32
        /// `GET 127.0.0.1:8080 /path` for a request, `200` for a response.
        var summary: String
        var description: String { "\(clientPort)/s\(stream) \(summary)" }
    }

    static func messages(_ tshark: String, file: String, serverPorts: [Int]) throws -> (requests: [Message], responses: [Message]) {
        var arguments = ["-r", file, "-Y", "http2.type == 1 || http2.type == 5", "-T", "pdml"]
        for port in serverPorts { arguments += ["-d", "tcp.port==\(port),http2"] }
        let pdml = try ExternalTool.output(of: tshark, arguments)
        var requests: [Message] = [], responses: [Message] = []
        var srcPort = 0, dstPort = 0
        var type = -1
        var stream: UInt32 = 0
        var promised: UInt32 = 0
        var fields: [(String, String)] = []
        var pendingName: String?
        func flush() {
            defer { fields = []; type = -1; promised = 0 }
            guard type == 1 || type == 5 else { return }
            func first(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
            if let method = first(":method") {
                let clientPort = type == 5 ? dstPort : srcPort
                requests.append(Message(clientPort: clientPort, stream: type == 5 ? promised : stream,
                                        summary: "\(method) \(first(":authority") ?? "-") \(first(":path") ?? "-")"))
            } else if let status = first(":status") {
                responses.append(Message(clientPort: dstPort, stream: stream, summary: status))
            }
        }
        for line in pdml.split(separator: "\n") {
            let text = line.trimmingCharacters(in: " \t")
            if text.hasPrefix("<packet>") { flush(); continue }
            guard text.hasPrefix("<field name=\"") else { continue }
            guard let name = attribute("name", in: text), let show = attribute("show", in: text) else { continue }
            switch name {
            case "tcp.srcport": srcPort = Int(show) ?? 0
            case "tcp.dstport": dstPort = Int(show) ?? 0
            case "http2.type": flush(); type = Int(show) ?? -1
            case "http2.streamid": stream = UInt32(show) ?? 0
            case "http2.push_promise.promised_stream_id": promised = UInt32(show) ?? 0
            case "http2.header.name": pendingName = show
            case "http2.header.value":
                if let headerName = pendingName { fields.append((headerName, show)) }
                pendingName = nil
            default: break
            }
        }
        flush()
        return (requests, responses)
    }

    private static func attribute(_ name: String, in text: String) -> String? {
        guard let start = text.range(of: " \(name)=\"") else { return nil }
        let rest = text[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return unescape(String(rest[..<end]))
    }

    private static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = text
        for (entity, character) in [("&quot;", "\""), ("&lt;", "<"), ("&gt;", ">"), ("&apos;", "'"), ("&#x27;", "'"), ("&amp;", "&")] {
            result = result.replacingOccurrences(of: entity, with: character)
        }
        return result
    }

    /// The same summaries from corscope's exchanges (HTTP/2 streams only; 1xx included).
    static func ours(_ exchanges: [HTTPExchange]) -> (requests: [Message], responses: [Message]) {
        var requests: [Message] = [], responses: [Message] = []
        for exchange in exchanges {
            guard let stream = exchange.streamID else { continue }
            let port = Int(exchange.connection.client.port)
            if let head = exchange.requestHead, head.version.major == 2 {
                requests.append(Message(clientPort: port, stream: stream,
                                        summary: "\(head.method) \(head.headers.first(named: ":authority") ?? "-") \(head.headers.first(named: ":path") ?? "-")"))
            }
            for interim in exchange.interimResponses where interim.version.major == 2 {
                responses.append(Message(clientPort: port, stream: stream, summary: String(interim.status)))
            }
            if let head = exchange.responseHead {
                responses.append(Message(clientPort: port, stream: stream, summary: String(head.status)))
            }
        }
        return (requests, responses)
    }
}

func sorted(_ messages: [TsharkHTTP2.Message]) -> [String] { messages.map(\.description).sorted() }

// The HTTP/2 analyzer (frames, HPACK, streams → exchanges), both directions:
// the input is a configuration byte and a sequence of chunks `[op][length: u16 BE]…`: op's bit 0
// is the direction (client, server), bits 1–2 the kind (0: `length` raw bytes; 1: one frame,
// `[type][flags][stream id: u32 BE]` then `length` payload bytes, its 9-byte header written with
// the payload's true length, so the fuzzer reaches HEADERS/CONTINUATION blocks and HPACK without
// having to get lengths right; 2: a gap of `length` bytes; 3: that direction ends), bits 3–7 a
// time step. Then both directions end. Configuration: bit 0: an h2c upgrade (the HTTP/1.1
// request is stream 1, the 101 its interim response); bit 1: small limits (head bytes, open
// streams, kept body bytes); bit 2: the client preface is sent first. HPACK (FuzzHPACK alone) is
// reached inside the analyzer too: Fuzz/dict/http2.dict has its tokens.
// Checks: exchanges have a stream id, come with indices 0, 1, 2… in order, and every header
// field (request, interim, response, trailers) has a non-empty name; with an upgrade, index 0 is
// stream 1. Without gaps, the same input with each run of same-direction chunks delivered as one
// receive gives the same exchanges (stream ids, heads, trailers, body lengths).
// fuzz-options: -dict=Fuzz/dict/http2.dict -max_len=16384
import CorscopeCapture
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import FuzzSupport

func checkNames(_ fields: HTTPHeaderFields, _ what: String, stream: UInt32) {
    for i in 0..<fields.count {
        fuzzCheck(!fields.nameBytes(at: i).isEmpty, "stream \(stream): \(what) field \(i) of \(fields.count) has an empty name")
    }
}

/// What the comparison of two runs looks at.
struct Summary: Equatable {
    var stream: UInt32?
    var request: HTTPRequestHead?
    var requestTrailers: HTTPHeaderFields?
    var requestBody: Int?
    var interim: [HTTPResponseHead]
    var response: HTTPResponseHead?
    var responseTrailers: HTTPHeaderFields?
    var responseBody: Int?
}

enum Op {
    case bytes(FlowDirection, [UInt8])
    case gap(FlowDirection, Int)
    case end(FlowDirection)
}

func run(_ ops: [(Op, Timestamp)], config: UInt8, configuration: HTTPConfiguration) -> [Summary] {
    let start = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    let connection = ConnectionInfo(id: 1, client: Endpoint(address: .v4(0x0A00_0001), port: 40_000),
                                    server: Endpoint(address: .v4(0x0A00_0002), port: 80), sawHandshake: true, firstSeen: start)
    var upgradedRequest: HTTPRequest? = nil
    var upgradeResponse: HTTPResponseHead? = nil
    if config & 1 != 0 {
        upgradedRequest = HTTPRequest(head: HTTPRequestHead(method: "GET", target: "/api/items", version: .http1_1, headers: HTTPHeaderFields([
            ("Host", "api.example"), ("Origin", "https://app.example"), ("Connection", "Upgrade, HTTP2-Settings"),
            ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])), firstByte: start, lastByte: start)
        upgradeResponse = HTTPResponseHead(version: .http1_1, status: 101, reason: "Switching Protocols",
                                           headers: HTTPHeaderFields([("Connection", "Upgrade"), ("Upgrade", "h2c")]))
    }
    var summaries: [Summary] = []
    let analyzer = HTTP2ConnectionAnalyzer(connection: connection, transport: HTTPTransport(isHTTP2: true), configuration: configuration,
                                           upgradedRequest: upgradedRequest, upgradeResponse: upgradeResponse) { exchange in
        fuzzCheck(exchange.index == summaries.count, "exchange index \(exchange.index), expected \(summaries.count)")
        fuzzCheck(exchange.streamID != nil, "exchange \(exchange.index) without a stream id")
        let stream = exchange.streamID ?? 0
        if upgradedRequest != nil, exchange.index == 0 { fuzzCheck(stream == 1, "the upgraded request on stream \(stream)") }
        if let request = exchange.request {
            checkNames(request.head.headers, "request", stream: stream)
            checkNames(request.trailers, "request trailer", stream: stream)
        }
        for head in exchange.interimResponses { checkNames(head.headers, "interim response", stream: stream) }
        if let response = exchange.response {
            checkNames(response.head.headers, "response", stream: stream)
            checkNames(response.trailers, "response trailer", stream: stream)
        }
        summaries.append(Summary(stream: exchange.streamID, request: exchange.request?.head, requestTrailers: exchange.request?.trailers,
                                 requestBody: exchange.request?.body.wireLength, interim: exchange.interimResponses,
                                 response: exchange.response?.head, responseTrailers: exchange.response?.trailers,
                                 responseBody: exchange.response?.body.wireLength))
    }
    var ended = [false, false]
    var time = start
    for (op, at) in ops {
        time = at
        switch op {
        case .bytes(let direction, let bytes): bytes.withUnsafeBytes { analyzer.receive($0, direction: direction, time: time) }
        case .gap(let direction, let length): analyzer.gap(length: length, direction: direction, time: time)
        case .end(let direction):
            ended[direction.rawValue] = true
            analyzer.end(direction: direction, time: time, reason: .fin)
        }
    }
    for direction in [FlowDirection.clientToServer, .serverToClient] where !ended[direction.rawValue] {
        analyzer.end(direction: direction, time: time, reason: .endOfCapture)
    }
    _ = analyzer.statistics
    return summaries
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let config = input.u8()
    let configuration = config & 2 == 0
        ? HTTPConfiguration()
        : HTTPConfiguration(maxHeadBytes: 64 + Int(input.u8()) * 4, maxHeaderFields: 1 + Int(input.u8() % 16),
                            keptBodyBytes: Int(input.u8()), maxPendingRequests: 1 + Int(input.u8() % 4))
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    var ops: [(Op, Timestamp)] = []
    var joined: [(Op, Timestamp)] = []
    var hadGap = false
    func add(_ op: Op) {
        ops.append((op, time))
        if case .bytes(let direction, let bytes) = op, case .bytes(let previousDirection, let previous)? = joined.last?.0,
           previousDirection == direction {
            joined[joined.count - 1] = (.bytes(direction, previous + bytes), time)
        } else {
            joined.append((op, time))
        }
    }
    if config & 4 != 0 { add(.bytes(.clientToServer, HTTP2ConnectionAnalyzer.clientPreface)) }
    var ended = [false, false]
    while !input.isAtEnd {
        let op = input.u8()
        let direction: FlowDirection = op & 1 == 0 ? .clientToServer : .serverToClient
        let length = Int(input.u16())
        time = time.adding(seconds: Double(op >> 3) * 0.25)
        guard !ended[direction.rawValue] else { continue }
        switch op >> 1 & 3 {
        case 0:
            let bytes = Array(input.take(length))
            if !bytes.isEmpty { add(.bytes(direction, bytes)) }
        case 1:
            let type = input.u8(), flags = input.u8(), stream = input.u32()
            let payload = Array(input.take(length))
            let n = payload.count
            let header: [UInt8] = [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                                   UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
            add(.bytes(direction, header + payload))
        case 2:
            if length > 0 { hadGap = true; add(.gap(direction, length)) }
        default:
            ended[direction.rawValue] = true
            add(.end(direction))
        }
    }
    let summaries = run(ops, config: config, configuration: configuration)
    if !hadGap, joined.count < ops.count {
        let other = run(joined, config: config, configuration: configuration)
        fuzzCheck(other.count == summaries.count, "\(summaries.count) exchanges as segmented, \(other.count) with the runs joined")
        for (i, (a, b)) in zip(summaries, other).enumerated() {
            fuzzCheck(a == b, "exchange \(i) differs with the runs joined: \(a) / \(b)")
        }
    }
    return 0
}

runFuzzer(fuzzHTTP2)

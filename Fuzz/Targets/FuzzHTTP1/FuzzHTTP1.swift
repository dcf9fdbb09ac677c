// The HTTP/1 parser, both directions: the input is a configuration byte and a sequence of
// chunks `[op][length: u16 BE][bytes]`; op's bit 0 is the direction (client, server), bits 1–2
// the kind (0, 1: bytes; 2: a gap of `length` bytes, no bytes follow; 3: that direction ends),
// bits 3–7 a time step. Then both directions end. Caps are small when the configuration asks,
// so truncation, eviction and the decompression cap are reached.
// Checks: exchanges come in index order, each at most once; every time is normalised; kept
// bodies stay within the cap.
// fuzz-options: -dict=Fuzz/dict/http.dict -max_len=16384
import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let config = input.u8()
    let configuration = config & 1 == 0
        ? HTTPConfiguration()
        : HTTPConfiguration(maxHeadBytes: 64 + Int(input.u8()) * 4, maxHeaderFields: 1 + Int(input.u8() % 16),
                            keptBodyBytes: Int(input.u8()), decodeBodies: config & 2 == 0, maxDecodedBytes: Int(input.u16()),
                            maxPendingRequests: 1 + Int(input.u8() % 4), maxPendingRequestsTotal: 1 + Int(input.u8() % 8),
                            maxPendingRequestBytesTotal: Int(input.u16()))
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    let connection = ConnectionInfo(id: 1, client: Endpoint(address: .v4(0x0A00_0001), port: 40_000),
                                    server: Endpoint(address: .v4(0x0A00_0002), port: 80), sawHandshake: config & 4 == 0, firstSeen: time)
    var lastIndex = -1
    var count = 0
    let analyzer = HTTP1ConnectionAnalyzer(connection: connection, configuration: configuration) { exchange in
        fuzzCheck(exchange.index > lastIndex, "exchange \(exchange.index) after \(lastIndex)")
        lastIndex = exchange.index
        count += 1
        for t in [exchange.requestFirstByte, exchange.requestLastByte, exchange.responseFirstByte, exchange.responseLastByte] {
            if let t { fuzzCheck(isNormalisedTime(seconds: t.seconds, nanoseconds: t.nanoseconds), "time \(t)") }
        }
        for body in [exchange.request?.body, exchange.response?.body] {
            if let body { fuzzCheck(body.kept.count <= max(configuration.keptBodyBytes, 0), "kept \(body.kept.count) body bytes over \(configuration.keptBodyBytes)") }
        }
    }
    var ended = [false, false]
    while !input.isAtEnd {
        let op = input.u8()
        let direction: FlowDirection = op & 1 == 0 ? .clientToServer : .serverToClient
        let length = Int(input.u16())
        time = time.adding(seconds: Double(op >> 3) * 0.25)
        guard !ended[direction.rawValue] else { continue }
        switch op >> 1 & 3 {
        case 2:
            if length > 0 { analyzer.gap(length: length, direction: direction, time: time) }
        case 3:
            ended[direction.rawValue] = true
            analyzer.end(direction: direction, time: time, reason: .fin)
        default:
            let bytes = Array(input.take(length))
            if !bytes.isEmpty { bytes.withUnsafeBytes { analyzer.receive($0, direction: direction, time: time) } }
        }
    }
    for direction in [FlowDirection.clientToServer, .serverToClient] where !ended[direction.rawValue] {
        analyzer.end(direction: direction, time: time, reason: .endOfCapture)
    }
    _ = analyzer.statistics
    _ = count
    return 0
}

runFuzzer(fuzzHTTP1)

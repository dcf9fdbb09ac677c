// TCP reassembly: the input is assembler limits and a sequence of 5-byte segments
// `[op][TCP flags][stream offset: u16 BE][payload length]`; op's bits: 0–1 the connection (4, two
// of which share their addresses and ports), 2 the direction, 3 the initial sequence number
// (two per direction: a new one is a new connection), 4–7 a time step. A payload byte is its own
// sequence number's low byte, so the order of the bytes a handler gets is checkable.
// Checks: each handler gets bytes in sequence order, a gap advances the sequence by its length,
// nothing after a direction's end, each connection closed once; the statistics' delivered and
// gap bytes equal what the handlers got.
// fuzz-options: -max_len=4096
import CorscopeCapture
import CorscopeReassembly
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

final class CheckingHandler: TCPStreamHandler {
    let connection: ConnectionInfo
    var next: [UInt8?] = [nil, nil]
    var ended = [false, false]
    var closed = false
    var delivered = 0
    var gapBytes = 0
    init(_ connection: ConnectionInfo) { self.connection = connection }

    /// Bytes 0, 1, … 255 twice: any run of up to 256 consecutive values is one slice of it.
    static let counting: [UInt8] = (0..<512).map { UInt8(truncatingIfNeeded: $0) }

    /// Where `data` stops counting up from `first` (mod 256), compared 256 bytes at a time with
    /// memcmp: a byte-wise loop here was most of the target's time under the fuzzer's
    /// per-comparison instrumentation.
    static func firstMismatch(_ data: UnsafeRawBufferPointer, from first: UInt8) -> Int? {
        var offset = 0
        var value = first
        while offset < data.count {
            let count = min(256, data.count - offset)
            let equal = counting.withUnsafeBytes { pattern in
                memcmp(data.baseAddress! + offset, pattern.baseAddress! + Int(value), count) == 0
            }
            if !equal {
                for index in offset..<offset + count where data[index] != value &+ UInt8(truncatingIfNeeded: index - offset) { return index }
            }
            offset += count
            value = value &+ UInt8(truncatingIfNeeded: count)
        }
        return nil
    }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        let d = direction.rawValue
        fuzzCheck(!ended[d], "bytes after the end of direction \(direction)")
        fuzzCheck(!data.isEmpty, "an empty receive")
        if let expected = next[d], let mismatch = Self.firstMismatch(data, from: expected) {
            fuzzCheck(false, "connection \(connection.id) \(direction): byte \(mismatch) of \(data.count) is \(data[mismatch]), expected \(expected &+ UInt8(truncatingIfNeeded: mismatch))")
        }
        if let last = data.last { next[d] = last &+ 1 }
        delivered += data.count
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        let d = direction.rawValue
        fuzzCheck(!ended[d], "a gap after the end of direction \(direction)")
        fuzzCheck(length > 0, "a gap of \(length) bytes")
        if let expected = next[d] { next[d] = expected &+ UInt8(truncatingIfNeeded: length) }
        gapBytes += length
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        fuzzCheck(!ended[direction.rawValue], "direction \(direction) ended twice")
        ended[direction.rawValue] = true
    }
}

final class Factory: TCPStreamFactory {
    var handlers: [CheckingHandler] = []
    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler {
        let handler = CheckingHandler(connection)
        handlers.append(handler)
        return handler
    }
    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {
        let handler = handler as! CheckingHandler
        fuzzCheck(!handler.closed, "connection \(connection.id) closed twice")
        fuzzCheck(handler.ended[0] && handler.ended[1], "connection \(connection.id) closed before both directions ended")
        handler.closed = true
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTCPAssembler(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    var configuration = AssemblerConfiguration()
    let limits = input.u8()
    if limits & 1 != 0 { configuration.maxBufferedBytesPerConnection = 64 + Int(input.u8()) * 8 }
    if limits & 2 != 0 { configuration.maxBufferedSegmentsPerConnection = 1 + Int(input.u8() % 16) }
    if limits & 4 != 0 { configuration.maxBufferedBytesTotal = 128 + Int(input.u8()) * 8 }
    if limits & 8 != 0 { configuration.maxConnections = 1 + Int(input.u8() % 4) }
    if limits & 16 != 0 { configuration.holeTimeout = Double(input.u8() % 8) }
    if limits & 32 != 0 { configuration.idleTimeout = Double(input.u8() % 32) }
    if limits & 64 != 0 { configuration.reorderingTolerancePackets = Int(input.u8() % 4) }
    // Initial sequence numbers: [direction][variant]; the first near the wrap when asked.
    let wrap = limits & 128 != 0
    let isn: [[UInt32]] = [[wrap ? 0xFFFF_FF00 : input.u32(), input.u32()], [wrap ? 0xFFFF_FFF0 : input.u32(), input.u32()]]
    let clients = [Endpoint(address: .v4(0x0A00_0001), port: 40_000), Endpoint(address: .v4(0x0A00_0001), port: 40_001),
                   Endpoint(address: .v4(0x0A00_0001), port: 40_000), Endpoint(address: .v6(high: 0, low: 1), port: 50_000)]
    let servers = [Endpoint(address: .v4(0x0A00_0002), port: 80), Endpoint(address: .v4(0x0A00_0002), port: 80),
                   Endpoint(address: .v4(0x0A00_0002), port: 80), Endpoint(address: .v6(high: 0, low: 2), port: 8080)]
    let factory = Factory()
    let assembler = TCPAssembler(factory: factory, configuration: configuration)
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    var payload = [UInt8](repeating: 0, count: 256)
    while input.remaining >= 5 {
        let op = input.u8()
        let flags = TCPFlags(rawValue: input.u8())
        let offset = UInt32(input.u16())
        let length = Int(input.u8())
        let connection = Int(op & 3), direction = Int(op >> 2 & 1), variant = Int(op >> 3 & 1)
        time = time.adding(seconds: Double(op >> 4) * 0.5)
        let sequence = isn[direction][variant] &+ offset
        // A SYN takes one sequence number: data starts after it.
        let dataStart = flags.contains(.syn) ? sequence &+ 1 : sequence
        for i in 0..<length { payload[i] = UInt8(truncatingIfNeeded: dataStart &+ UInt32(i)) }
        let (source, destination) = direction == 0 ? (clients[connection], servers[connection]) : (servers[connection], clients[connection])
        payload.withUnsafeBytes { bytes in
            assembler.process(TCPSegment(time: time, source: source, destination: destination, sequence: sequence,
                                         acknowledgment: isn[1 - direction][variant] &+ 1, flags: flags, window: 65_535,
                                         payload: UnsafeRawBufferPointer(rebasing: bytes[0..<length])))
        }
    }
    assembler.flushAll()
    fuzzCheck(assembler.openConnections == 0, "\(assembler.openConnections) connections open after flushAll")
    let delivered = factory.handlers.reduce(0) { $0 + $1.delivered }
    let gapBytes = factory.handlers.reduce(0) { $0 + $1.gapBytes }
    for handler in factory.handlers { fuzzCheck(handler.closed, "connection \(handler.connection.id) never closed") }
    fuzzCheck(delivered == assembler.statistics.deliveredBytes, "handlers got \(delivered) bytes, statistics say \(assembler.statistics.deliveredBytes)")
    fuzzCheck(gapBytes == assembler.statistics.gapBytes, "handlers got \(gapBytes) gap bytes, statistics say \(assembler.statistics.gapBytes)")
    return 0
}

runFuzzer(fuzzTCPAssembler)

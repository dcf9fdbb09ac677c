// Sharded reading: a capture file read by the exchange pipeline on one thread and with its
// reassembly and analysis sharded over worker threads (`ExchangePipeline.Configuration.workers`),
// a differential target for the merge that puts the workers' events back in one assembler's
// order. The input is a whole capture file (pcap, pcapng, gzip'd), so that captures seed it as
// they are; its last byte configures the run: bits 0–1 the workers (2–5); bit 2: timeouts of
// milliseconds, so that idle sweeps and hole expiries close connections throughout; bit 3: the
// file read twice (connection ids go on).
// Checks: the same exchanges (their NDJSON lines, ids and order included) and the same counts.
// fuzz-options: -dict=Fuzz/dict/pcap.dict -max_len=65536
// fuzz-seeds: Fuzz/corpus/FuzzCaptureFile Captures/variants
import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import FuzzSupport

nonisolated(unsafe) let file = ScratchFile(suffix: "capture")

private func read(workers: Int, shortTimeouts: Bool, twice: Bool) -> (lines: [[UInt8]], counts: [Int]) {
    var configuration = ExchangePipeline.Configuration()
    configuration.workers = workers
    if shortTimeouts {
        configuration.assembler.idleTimeout = 0.002
        configuration.assembler.holeTimeout = 0.001
        configuration.assembler.sweepInterval = 0.001
    }
    var lines: [[UInt8]] = []
    let pipeline = ExchangePipeline(configuration: configuration) { exchange in
        var json = JSONWriter()
        ExchangeJSON.write(exchange, to: &json)
        lines.append(json.bytes)
    }
    for _ in 0..<(twice ? 2 : 1) { _ = try? pipeline.read(file: file.path) }
    let s = pipeline.statistics
    let r = s.reassembly
    return (lines, [s.exchanges, s.requests, s.responses, s.headerFields, s.bodyBytes, s.anomalousExchanges,
                    r.segments, r.payloadBytes, r.connections, r.deliveredBytes, r.gaps, r.gapBytes, r.idleConnections,
                    r.retransmittedBytes, r.lateBytes, s.capture.packets, s.capture.tcpSegments])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShardedRead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzReader(data, size)
    let configuration = input.bytes.last ?? 0
    file.write(input.bytes)
    let workers = 2 + Int(configuration & 3)
    let shortTimeouts = configuration & 4 != 0, twice = configuration & 8 != 0
    let one = read(workers: 1, shortTimeouts: shortTimeouts, twice: twice)
    let sharded = read(workers: workers, shortTimeouts: shortTimeouts, twice: twice)
    fuzzCheck(one.counts == sharded.counts, "counts on one thread \(one.counts), with \(workers) workers \(sharded.counts)")
    fuzzCheck(one.lines.count == sharded.lines.count, "\(one.lines.count) exchanges on one thread, \(sharded.lines.count) with \(workers) workers")
    if one.lines.count == sharded.lines.count, let first = one.lines.indices.first(where: { one.lines[$0] != sharded.lines[$0] }) {
        fuzzCheck(false, "exchange \(first) differs with \(workers) workers:\n\(String(decoding: one.lines[first], as: UTF8.self))\n\(String(decoding: sharded.lines[first], as: UTF8.self))")
    }
    return 0
}

runFuzzer(fuzzShardedRead)

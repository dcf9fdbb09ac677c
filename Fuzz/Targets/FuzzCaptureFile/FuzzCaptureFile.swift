// Capture file reading: the input is a whole file (pcap, pcapng, either gzip-compressed),
// read through libpcap and zlib twice — as a regular file (`CaptureFileReader(path:)`) and as a
// stream (`StreamedInput`, the route of pipes and standard input) — and every packet decoded.
// Checks: every packet's and segment's time is normalised (0 ≤ fraction < 10⁹, a year RFC 3339
// can write); both routes deliver the same packets and the same pcapng secrets (Decryption Secrets
// Blocks, found by the walker that watches libpcap's reads), and the walker fed the raw input in
// pieces of 1 to 64 bytes (sizes from the input) finds what it finds fed the whole input.
// fuzz-options: -dict=Fuzz/dict/pcap.dict -max_len=65536
// fuzz-seeds: Captures/variants ../shared/robustness
@testable import CorscopeCapture
import FuzzSupport

nonisolated(unsafe) let file = ScratchFile(suffix: "capture")

private func read(_ reader: CaptureFileReader) -> (times: [Timestamp], secrets: [CaptureSecrets]) {
    var secrets: [CaptureSecrets] = []
    reader.onSecrets = { secrets += $0 }
    let decoder = PacketDecoder(fragmentLimits: FragmentReassemblyLimits(maxDatagramSize: 70_000, maxDatagramsInProgress: 16, maxFragmentsPerDatagram: 64, timeoutSeconds: 30))
    var times: [Timestamp] = []
    _ = reader.forEachPacket { packet in
        let time = packet.time
        fuzzCheck(isNormalisedTime(seconds: time.seconds, nanoseconds: time.nanoseconds), "packet time \(time.seconds) s + \(time.nanoseconds) ns")
        fuzzCheck(packet.capturedLength == packet.data.count, "capturedLength \(packet.capturedLength) ≠ \(packet.data.count) bytes")
        times.append(time)
        decoder.decode(packet) { segment in
            fuzzCheck(isNormalisedTime(seconds: segment.time.seconds, nanoseconds: segment.time.nanoseconds), "segment time \(segment.time)")
            _ = segment.payload.reduce(0, &+)
        }
    }
    decoder.finish()
    _ = decoder.statistics
    _ = reader.bytesConsumed
    return (times, secrets)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCaptureFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzReader(data, size)
    file.write(input.bytes)
    var fromFile: (times: [Timestamp], secrets: [CaptureSecrets])? = nil
    if let reader = try? CaptureFileReader(path: file.path) {
        fromFile = read(reader)
    }
    if let stream = try? StreamedInput(path: file.path), !stream.looksLikeJSON,
       let reader = try? CaptureFileReader(stream: stream) {
        let fromStream = read(reader)
        if let fromFile {
            fuzzCheck(fromFile.times == fromStream.times, "file route read \(fromFile.times.count) packets, stream route \(fromStream.times.count)")
            fuzzCheck(fromFile.secrets == fromStream.secrets, "file route found \(fromFile.secrets.count) secrets blocks, stream route \(fromStream.secrets.count)")
        }
    }
    var whole = PcapngSecretsWalker(limit: 1 << 16)
    input.bytes.withUnsafeBytes { whole.consume($0) }
    whole.finish()
    var pieces = PcapngSecretsWalker(limit: 1 << 16)
    input.bytes.withUnsafeBytes { bytes in
        var at = 0
        while at < bytes.count {
            let step = min(bytes.count - at, Int(bytes[at] & 63) + 1)
            pieces.consume(UnsafeRawBufferPointer(rebasing: bytes[at..<at + step]))
            at += step
        }
    }
    pieces.finish()
    fuzzCheck(whole.take() == pieces.take() && whole.problem == pieces.problem,
              "the walker found different secrets fed in pieces (problems: \(whole.problem ?? "none"), \(pieces.problem ?? "none"))")
    return 0
}

runFuzzer(fuzzCaptureFile)

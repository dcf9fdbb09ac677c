// Body decoding: the input is a configuration byte (codings, caps, chunk size) and a
// gzip/deflate/zlib stream, fed to `BodyDecoder` and to `BodyAccumulator` (with a gap when
// asked) in chunks. Checks: the decoded count never passes the cap, the kept bytes never pass
// the keep limit nor the decoded count; a finished body keeps at most the keep limit.
// fuzz-options: -max_len=16384
@testable import CorscopeHTTP
import FuzzSupport

let codings: [[String]] = [
    ["gzip"], ["deflate"], ["x-gzip"], ["gzip", "gzip"], ["deflate", "gzip"], ["identity", "gzip"],
    ["gzip", "deflate", "gzip"], ["br", "gzip"], ["gzip", "gzip", "gzip", "gzip"], ["identity"],
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBodyDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let config = input.u8()
    let coding = codings[Int(config & 0x0F) % codings.count]
    let keepLimit = [0, 16, 1024, 64 * 1024][Int(config >> 4 & 3)]
    let decodeCap = config & 0x40 != 0 ? 4096 : 1 << 20
    let chunk = 1 + Int(input.u8())
    let gapAt = config & 0x80 != 0 ? Int(input.u16()) : nil
    let stream = Array(input.rest())

    if let decoder = BodyDecoder(codings: coding, keepLimit: keepLimit, decodeCap: decodeCap) {
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + chunk)
            stream[offset..<end].withUnsafeBytes { decoder.feed($0) }
            offset = end
            fuzzCheck(decoder.decodedCount <= decodeCap, "decoded \(decoder.decodedCount) bytes over a cap of \(decodeCap)")
            fuzzCheck(decoder.kept.count <= keepLimit && decoder.kept.count <= decoder.decodedCount,
                      "kept \(decoder.kept.count) of \(decoder.decodedCount) decoded, limit \(keepLimit)")
        }
    }

    let configuration = HTTPConfiguration(keptBodyBytes: keepLimit, maxDecodedBytes: decodeCap)
    var accumulator = BodyAccumulator(contentEncoding: coding, configuration: configuration, expectedLength: stream.count)
    var offset = 0
    while offset < stream.count {
        let end = min(stream.count, offset + chunk)
        if let gapAt, offset <= gapAt, gapAt < end { accumulator.noteGap(1 + gapAt % 100) }
        stream[offset..<end].withUnsafeBytes { accumulator.append($0) }
        offset = end
    }
    let body = accumulator.finish()
    fuzzCheck(body.kept.count <= keepLimit, "a finished body kept \(body.kept.count) bytes over \(keepLimit)")
    fuzzCheck(body.wireLength == stream.count, "wire length \(body.wireLength) of \(stream.count) bytes")
    if let decoded = body.decodedLength { fuzzCheck(decoded <= decodeCap, "decoded length \(decoded) over \(decodeCap)") }
    return 0
}

runFuzzer(fuzzBodyDecoder)

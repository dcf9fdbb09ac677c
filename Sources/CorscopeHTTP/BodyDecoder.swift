import CZlib

/// One zlib inflate stream. The `z_stream` lives at a fixed heap address because zlib keeps a
/// back pointer to it and rejects calls made through a moved copy.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class InflateStage {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutableRawBufferPointer
    /// `Content-Encoding: deflate` is often sent as raw deflate; that is only detectable from
    /// the first bytes, so they are kept until the stream has proven to be zlib/gzip.
    @exclusivity(unchecked) private var unconfirmedInput: [UInt8]? = nil
    @exclusivity(unchecked) private(set) var usedRawDeflate = false
    @exclusivity(unchecked) private(set) var ended = false
    @exclusivity(unchecked) private(set) var failed = false

    private static let confirmationLimit = 1024

    /// `mayBeRawDeflate` enables the raw-deflate retry (only for the `deflate` coding).
    init?(mayBeRawDeflate: Bool) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 32: zlib auto-detects a zlib or gzip header.
        guard corscope_inflateInit2(stream, 15 + 32) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        scratch = .allocate(byteCount: 16 * 1024, alignment: 8)
        if mayBeRawDeflate { unconfirmedInput = [] }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Inflates `input`, passing each decoded piece to `output`; `output` returns false to
    /// stop (the cap was reached). Returns false when output asked to stop.
    @discardableResult
    func inflate(_ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        guard !failed, input.count > 0 else { return true }
        if ended {
            // A second gzip member may follow (concatenated gzip); anything else is trailing junk.
            guard input[0] == 0x1f, inflateReset(stream) == Z_OK else { return true }
            ended = false
        }
        if unconfirmedInput != nil { unconfirmedInput!.append(contentsOf: input) }
        let result = run(input, output: output)
        // Retry only if nothing was decoded yet, so no output is ever produced twice.
        if result == .dataError, stream.pointee.total_out == 0, let saved = unconfirmedInput {
            // Not zlib/gzip: try raw deflate once, from the first byte.
            unconfirmedInput = nil
            guard inflateReset2(stream, -15) == Z_OK else { failed = true; return true }
            usedRawDeflate = true
            let retry = saved.withUnsafeBytes { run($0, output: output) }
            if retry == .dataError { failed = true }
            return retry != .stopped
        }
        if result == .dataError { failed = true }
        if unconfirmedInput != nil, stream.pointee.total_out > 0 || stream.pointee.total_in > InflateStage.confirmationLimit {
            unconfirmedInput = nil
        }
        return result != .stopped
    }

    private enum RunResult { case ok, stopped, dataError }

    private func run(_ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) -> Bool) -> RunResult {
        guard let base = input.baseAddress else { return .ok }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
        while true {
            stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(scratch.count)
            let code = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = scratch.count - Int(stream.pointee.avail_out)
            if produced > 0, !output(UnsafeRawBufferPointer(rebasing: scratch[0..<produced])) { return .stopped }
            switch code {
            case Z_STREAM_END:
                ended = true
                let rest = Int(stream.pointee.avail_in)
                if rest > 0, let next = stream.pointee.next_in, next.pointee == 0x1f, inflateReset(stream) == Z_OK {
                    ended = false
                    continue
                }
                return .ok
            case Z_OK:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return .ok }
            case Z_BUF_ERROR:
                return .ok
            default:
                return .dataError
            }
        }
    }
}

/// Content-decodes one body as it arrives, keeping the first bytes and counting the decoded
/// size up to a cap. Codings are undone in reverse order of application.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class BodyDecoder {
    /// Outermost (last applied) first.
    private let stages: [InflateStage]
    private let keepLimit: Int
    private let decodeCap: Int
    @exclusivity(unchecked) private(set) var kept: [UInt8] = []
    @exclusivity(unchecked) private(set) var decodedCount = 0
    @exclusivity(unchecked) private(set) var capReached = false

    /// Returns nil when the codings cannot all be decoded (unknown coding, or too many layers).
    init?(codings: [String], keepLimit: Int, decodeCap: Int) {
        var stages: [InflateStage] = []
        for coding in codings.reversed() {
            switch coding {
            case "identity": continue
            case "gzip", "x-gzip":
                guard let stage = InflateStage(mayBeRawDeflate: false) else { return nil }
                stages.append(stage)
            case "deflate":
                guard let stage = InflateStage(mayBeRawDeflate: true) else { return nil }
                stages.append(stage)
            default:
                return nil
            }
        }
        guard !stages.isEmpty, stages.count <= 3 else { return nil }
        self.stages = stages
        self.keepLimit = keepLimit
        self.decodeCap = decodeCap
    }

    var failed: Bool { stages.contains { $0.failed } }
    var usedRawDeflate: Bool { stages.contains { $0.usedRawDeflate } }
    /// Decoding stopped (cap or corrupt data); further input is ignored.
    var isStopped: Bool { capReached || failed }

    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !isStopped else { return }
        push(bytes, stage: 0)
    }

    private func push(_ bytes: UnsafeRawBufferPointer, stage index: Int) {
        if index == stages.count {
            accept(bytes)
            return
        }
        stages[index].inflate(bytes) { piece in
            self.push(piece, stage: index + 1)
            return !self.capReached
        }
    }

    private func accept(_ piece: UnsafeRawBufferPointer) {
        guard !capReached else { return }
        var count = piece.count
        if decodedCount + count >= decodeCap {
            count = decodeCap - decodedCount
            capReached = true
        }
        if kept.count < keepLimit {
            let take = min(count, keepLimit - kept.count)
            kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[0..<take]))
        }
        decodedCount += count
    }
}

/// Collects one message body: exact wire counts, the kept prefix, and content decoding. Public
/// for the HTTP/2 analyzer, which frames bodies its own way and decodes them like HTTP/1.
public struct BodyAccumulator {
    public private(set) var body = HTTPBody()
    private var decoder: BodyDecoder?
    private let keepLimit: Int
    /// After a gap the kept bytes would no longer be a true prefix, so keeping stops.
    private var keepingStopped = false
    /// Raw prefix kept alongside decoding, used when decoding fails before any output.
    private var rawPrefix: [UInt8] = []
    private var decodingAbandoned = false
    public private(set) var anomalies: [HTTPAnomaly] = []

    /// `expectedLength` (a Content-Length) sizes the kept buffer once instead of growing it;
    /// `keep` overrides `configuration.keptBodyBytes` (a response's, by its status).
    public init(contentEncoding: [String], configuration: HTTPConfiguration, expectedLength: Int? = nil, keep: Int? = nil) {
        keepLimit = keep ?? configuration.keptBodyBytes
        body.contentEncoding = contentEncoding
        guard !contentEncoding.isEmpty else {
            if let expectedLength { body.kept.reserveCapacity(min(expectedLength, keepLimit)) }
            return
        }
        let known: Set<String> = ["gzip", "x-gzip", "deflate", "identity"]
        let decodable = contentEncoding.filter { known.contains($0) && $0 != "identity" }
        guard configuration.decodeBodies, !decodable.isEmpty else { return }
        decoder = BodyDecoder(codings: contentEncoding, keepLimit: keepLimit, decodeCap: configuration.maxDecodedBytes)
        if decoder == nil {
            // gzip stacked with an unknown coding (or too many layers): kept raw.
            anomalies.append(.contentDecodingFailed)
        }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        body.wireLength &+= bytes.count
        if let decoder, !decodingAbandoned {
            if rawPrefix.count < keepLimit && !keepingStopped {
                rawPrefix.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<min(bytes.count, keepLimit - rawPrefix.count)]))
            }
            decoder.feed(bytes)
            return
        }
        if !keepingStopped && body.kept.count < keepLimit {
            let take = min(bytes.count, keepLimit - body.kept.count)
            body.kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<take]))
        }
    }

    public mutating func noteGap(_ length: Int) {
        body.missingBytes &+= length
        keepingStopped = true
        // A hole in compressed data cannot be decoded across; keep what was decoded before it.
        if decoder != nil { decodingAbandoned = true }
        flag(.contentGap)
    }

    private mutating func flag(_ anomaly: HTTPAnomaly) {
        if !anomalies.contains(anomaly) { anomalies.append(anomaly) }
    }

    /// The finished body and the anomalies seen while collecting it.
    public mutating func finish() -> HTTPBody {
        if let decoder {
            if decoder.failed && decoder.decodedCount == 0 {
                body.kept = rawPrefix
                body.isTruncated = body.wireLength > rawPrefix.count || body.missingBytes > 0
                flag(.contentDecodingFailed)
            } else {
                body.kept = decoder.kept
                body.decodedLength = decoder.decodedCount
                if decoder.failed { flag(.contentDecodingFailed) }
                if decoder.capReached { flag(.decompressionCapReached) }
                body.isTruncated = decoder.kept.count < decoder.decodedCount || decoder.capReached || decodingAbandoned
            }
            if decoder.usedRawDeflate { flag(.rawDeflate) }
        } else {
            body.isTruncated = body.kept.count < body.wireLength || body.missingBytes > 0
        }
        if body.isTruncated && body.kept.count >= keepLimit && keepLimit > 0 { flag(.bodyTruncated) }
        return body
    }
}

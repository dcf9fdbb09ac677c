import CZlib
import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly
import Foundation
@_exported import CorscopeTestSupport
import XCTest

/// One thing the TCP assembler can hand the analyzer.
enum StreamEvent {
    case client([UInt8])
    case server([UInt8])
    case clientGap(Int)
    case serverGap(Int)
    case clientEnd
    case serverEnd
}

/// Drives an analyzer the way the assembler would, with configurable segmenting.
struct Harness {
    var configuration = HTTPConfiguration()
    /// Splits every data event into pieces of at most this many bytes (nil: one piece).
    var segmentSize: Int? = nil
    /// Splits every data event once at this offset (if inside it).
    var splitAt: Int? = nil
    /// The timestamp of data event n is `Timestamp(seconds: 1000 + n, nanoseconds: 0)`.
    var distinctTimes = false

    static let connection = ConnectionInfo(
        id: 7,
        client: Endpoint(address: .v4(0x7F00_0001), port: 50_000),
        server: Endpoint(address: .v4(0x7F00_0001), port: 18_080),
        sawHandshake: true, firstSeen: Timestamp(seconds: 1000, nanoseconds: 0))

    @discardableResult
    func run(_ events: [StreamEvent], endBoth: Bool = true, inspect: ((HTTP1ConnectionAnalyzer) -> Void)? = nil) -> (exchanges: [HTTPExchange], statistics: HTTPStreamStatistics) {
        var exchanges: [HTTPExchange] = []
        let analyzer = HTTP1ConnectionAnalyzer(connection: Harness.connection, configuration: configuration) { exchanges.append($0) }
        var tick: Int64 = 0
        func time() -> Timestamp { distinctTimes ? Timestamp(seconds: 1000 + tick, nanoseconds: 0) : Timestamp(seconds: 1000, nanoseconds: 0) }
        func feed(_ bytes: [UInt8], _ direction: FlowDirection) {
            var pieces: [ArraySlice<UInt8>] = []
            if let size = segmentSize {
                var start = 0
                while start < bytes.count { pieces.append(bytes[start..<min(bytes.count, start + size)]); start += size }
            } else if let at = splitAt, at > 0, at < bytes.count {
                pieces = [bytes[0..<at], bytes[at...]]
            } else {
                pieces = [bytes[...]]
            }
            for piece in pieces {
                // A fresh exact-size copy per segment, so reads past the end would be caught by ASan/valgrind.
                let copy = Array(piece)
                copy.withUnsafeBytes { analyzer.receive($0, direction: direction, time: time()) }
            }
            tick += 1
        }
        for event in events {
            switch event {
            case .client(let bytes): feed(bytes, .clientToServer)
            case .server(let bytes): feed(bytes, .serverToClient)
            case .clientGap(let n): analyzer.gap(length: n, direction: .clientToServer, time: time())
            case .serverGap(let n): analyzer.gap(length: n, direction: .serverToClient, time: time())
            case .clientEnd: analyzer.end(direction: .clientToServer, time: time(), reason: .fin)
            case .serverEnd: analyzer.end(direction: .serverToClient, time: time(), reason: .fin)
            }
            inspect?(analyzer)
        }
        if endBoth {
            analyzer.end(direction: .clientToServer, time: time(), reason: .fin)
            analyzer.end(direction: .serverToClient, time: time(), reason: .fin)
        }
        return (exchanges, analyzer.statistics)
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A canonical text form of everything the parser produced, to compare feeding strategies.
func describe(_ exchanges: [HTTPExchange]) -> String {
    var out = ""
    func body(_ b: HTTPBody) -> String {
        "wire=\(b.wireLength) decoded=\(String(describing: b.decodedLength)) enc=\(b.contentEncoding) kept=\(b.kept.count):\(b.kept.hashValue) trunc=\(b.isTruncated) missing=\(b.missingBytes)"
    }
    func fields(_ f: HTTPHeaderFields) -> String {
        (0..<f.count).map { "\(Array(f.nameBytes(at: $0)))=\(Array(f.valueBytes(at: $0)))" }.joined(separator: ";")
    }
    for e in exchanges {
        out += "#\(e.index) \(e.anomalies.map(\.rawValue))\n"
        if let r = e.request {
            out += "  > \(r.head.method) \(r.head.target) \(r.head.version) [\(fields(r.head.headers))] \(body(r.body)) trailers[\(fields(r.trailers))]\n"
        }
        for i in e.interimResponses { out += "  ~ \(i.status) \(i.reason) [\(fields(i.headers))]\n" }
        if let r = e.response {
            out += "  < \(r.head.version) \(r.head.status) \(r.head.reason) [\(fields(r.head.headers))] \(body(r.body)) trailers[\(fields(r.trailers))]\n"
        }
    }
    return out
}

enum Compression {
    enum Wrapper { case gzip, zlib, raw }

    static func compress(_ input: [UInt8], wrapper: Wrapper, level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        let bits: Int32 = wrapper == .gzip ? 15 + 16 : wrapper == .zlib ? 15 : -15
        precondition(corscope_deflateInit2(&stream, level, bits) == Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var input = input
        let produced: Int = input.withUnsafeMutableBytes { inBuf in
            output.withUnsafeMutableBytes { outBuf in
                stream.next_in = inBuf.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(outBuf.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<produced])
    }

    /// Compresses `count` zero bytes without materialising them (for bomb tests).
    static func gzipZeros(count: Int) -> [UInt8] {
        var stream = z_stream()
        precondition(corscope_deflateInit2(&stream, 9, 15 + 16) == Z_OK)
        defer { deflateEnd(&stream) }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var result: [UInt8] = []
        var outBuf = [UInt8](repeating: 0, count: 1 << 16)
        var remaining = count
        zeros.withUnsafeBytes { z in
            while true {
                let n = min(remaining, z.count)
                remaining -= n
                stream.next_in = UnsafeMutablePointer(mutating: z.baseAddress!.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                let flush = remaining == 0 ? Z_FINISH : Z_NO_FLUSH
                var code: Int32 = Z_OK
                repeat {
                    let produced: Int = outBuf.withUnsafeMutableBytes { o in
                        stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.avail_out = uInt(o.count)
                        code = deflate(&stream, flush)
                        return o.count - Int(stream.avail_out)
                    }
                    result += outBuf[0..<produced]
                } while stream.avail_out == 0 || (flush == Z_FINISH && code != Z_STREAM_END)
                if remaining == 0 { break }
            }
        }
        return result
    }
}


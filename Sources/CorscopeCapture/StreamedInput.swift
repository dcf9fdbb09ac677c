import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// An input that cannot seek — standard input (`-`), a pipe, a FIFO, a process substitution —
/// read once, front to back, through zlib (gzip is decompressed, anything else passed through).
///
/// Its first bytes are read ahead, so the caller can tell a capture from a HAR before handing
/// the stream to libpcap (`CaptureFileReader(stream:)`) or to the HAR reader (`read(into:)`);
/// the reader still gets every byte. Nothing is spooled to disk and memory does not grow with
/// the input.
public final class StreamedInput {
    /// The name it was given (`-` for standard input).
    public let name: String
    private var stream: UnsafeMutablePointer<corscope_stream>?

    /// Whether `path` must be read as a stream: `-`, or anything that is not a regular file.
    public static func isStream(_ path: String) -> Bool {
        if path == "-" { return true }
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type == S_IFIFO || type == S_IFCHR || type == S_IFSOCK
    }

    /// Opens `path` (`-`: standard input). Throws `CaptureError` when it cannot be opened.
    public init(path: String) throws {
        name = path
        let fd = path == "-" ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CaptureError(kind: .unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        guard let opened = corscope_stream_open(fd) else {
            close(fd)
            throw CaptureError(kind: .unreadable, path: path, reason: "zlib cannot read the stream")
        }
        stream = opened
    }

    deinit {
        if let stream { _ = corscope_stream_close(stream) }
    }

    /// The first bytes (at most 64), decompressed.
    public var prefix: ArraySlice<UInt8> {
        guard let stream else { return [] }
        return withUnsafeBytes(of: stream.pointee.prefix) { ArraySlice($0.prefix(stream.pointee.prefix_length)) }
    }

    public var isEmpty: Bool { prefix.isEmpty }

    /// JSON (a HAR): the first byte after an optional UTF-8 byte-order mark and blanks is `{`.
    public var looksLikeJSON: Bool {
        var bytes = prefix[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        return bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } == UInt8(ascii: "{")
    }

    /// Whether zlib decompresses it (gzip) rather than passing it through.
    public var isGzipCompressed: Bool { stream.map { corscope_stream_is_gzip($0) != 0 } ?? false }

    /// Bytes delivered so far (decompressed): a progress figure without a known size.
    public var bytesDelivered: Int64 { stream.map { Int64($0.pointee.delivered) } ?? 0 }

    /// The input ended inside a gzip stream.
    public var endedEarly: Bool { stream.map { corscope_stream_ended_early($0) != 0 } ?? false }

    /// Reads up to `count` bytes; 0 at the end. Throws the system's error text.
    public func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        guard let stream else { return 0 }
        let n = buffer.withMemoryRebound(to: CChar.self, capacity: count) { corscope_stream_read(stream, $0, count) }
        if n < 0 { throw CaptureError(kind: .unreadable, path: name, reason: "read failed: \(String(cString: strerror(errno)))") }
        return n
    }

    /// Hands the stream over as a read-only FILE (closing the FILE closes the stream); the
    /// stream pointer stays valid until then, for the new owner to ask how far it got.
    func takeFILE() -> (file: UnsafeMutablePointer<FILE>, stream: UnsafeMutablePointer<corscope_stream>)? {
        guard let stream, let file = corscope_stream_fopen(stream) else { return nil }
        self.stream = nil
        return (file, stream)
    }
}

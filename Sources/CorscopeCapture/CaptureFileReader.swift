import CPcap
import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Streams the packets of a pcap or pcapng file, plain or gzip-compressed, through libpcap.
///
/// Every file is opened with nanosecond timestamp precision, so microsecond and nanosecond files
/// report times on one scale. Gzip files (recognised by their magic bytes, not their name) are
/// decompressed on the fly through zlib into libpcap: nothing is unpacked to disk and the file is
/// never held in memory as a whole.
///
/// libpcap's pcapng limits apply: every interface of a file must share one link-layer type, and a
/// file that breaks this stops with `ReadOutcome.readError` at the offending block.
public final class CaptureFileReader {
    /// The path the reader was opened with.
    public let path: String
    /// DLT_* value of every frame in the file (see `LinkType`).
    public let linkType: Int32
    /// Size of the file on disk (compressed size for gzip files).
    public let fileSize: Int64
    /// True when the file was gzip-compressed and is being decompressed on the fly.
    public let isGzipCompressed: Bool
    /// Packets delivered so far.
    public private(set) var packetsRead = 0
    /// Packets the `filter` left out so far.
    public private(set) var packetsFilteredOut = 0
    /// The compiled `setFilter` program, applied to every packet before it is delivered.
    private var filterProgram: bpf_program?

    private let handle: OpaquePointer
    /// The zlib stream libpcap reads through; owned by the cookie FILE that pcap_close closes.
    private let gzipStream: gzFile?
    /// For a streamed input (a pipe, standard input): the stream libpcap reads through, owned
    /// by the cookie FILE like `gzipStream`.
    private let stream: UnsafeMutablePointer<corscope_stream>?

    /// Opens a capture file. Throws `CaptureError` when the file cannot be read or is not a
    /// capture libpcap understands.
    /// Opens a capture read from a stream (standard input, a pipe, a FIFO), gzip-compressed or
    /// not; its size is unknown (`fileSize` 0), `bytesConsumed` counts the bytes read.
    public init(stream input: StreamedInput) throws {
        path = input.name
        guard !input.isEmpty else { throw CaptureError(kind: .notACapture, path: input.name, reason: "the input is empty") }
        fileSize = 0
        isGzipCompressed = input.isGzipCompressed
        gzipStream = nil
        guard let (file, stream) = input.takeFILE() else {
            throw CaptureError(kind: .unreadable, path: input.name, reason: "fopencookie failed")
        }
        self.stream = stream
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let opened = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            fclose(file)
            let reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw CaptureError(kind: .notACapture, path: input.name, reason: reason.isEmpty ? "unknown error" : reason)
        }
        handle = opened
        linkType = pcap_datalink(opened)
    }

    public init(path: String) throws {
        self.path = path
        stream = nil
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CaptureError(kind: .unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        var status = stat()
        let statResult = fstat(fd, &status)
        var magic: (UInt8, UInt8) = (0, 0)
        let magicCount = withUnsafeMutableBytes(of: &magic) { read(fd, $0.baseAddress, 2) }
        let readErrno = errno
        close(fd)
        guard statResult == 0, magicCount >= 0 else {
            throw CaptureError(kind: .unreadable, path: path, reason: String(cString: strerror(readErrno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CaptureError(kind: .unreadable, path: path, reason: "not a regular file")
        }
        guard status.st_size > 0 else {
            // libpcap would say "truncated dump file; tried to read 4 file header bytes, only got 0".
            throw CaptureError(kind: .notACapture, path: path, reason: "the file is empty")
        }
        fileSize = Int64(status.st_size)
        isGzipCompressed = magicCount == 2 && magic == (0x1f, 0x8b)

        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let opened: OpaquePointer?
        if isGzipCompressed {
            guard let stream = gzopen(path, "rb") else {
                throw CaptureError(kind: .unreadable, path: path, reason: "zlib cannot open the gzip stream")
            }
            // A larger buffer than zlib's 8 KiB default keeps the read-syscall count low.
            gzbuffer(stream, 256 * 1024)
            guard let file = corscope_gz_fopen_cookie(stream) else {
                gzclose_r(stream)
                throw CaptureError(kind: .unreadable, path: path, reason: "fopencookie failed")
            }
            gzipStream = stream
            // On failure libpcap closes nothing, so the FILE (and with it the zlib stream) is ours.
            opened = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer)
            if opened == nil { fclose(file) }
        } else {
            gzipStream = nil
            opened = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer)
        }
        guard let opened else {
            let reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw CaptureError(kind: .notACapture, path: path, reason: reason.isEmpty ? "unknown error" : reason)
        }
        handle = opened
        linkType = pcap_datalink(opened)
    }

    deinit {
        if filterProgram != nil { pcap_freecode(&filterProgram!) }
        pcap_close(handle)  // closes the FILE too, and through the cookie the zlib stream
    }

    /// Why `expression` is no tcpdump filter (compiled for Ethernet), or nil when it compiles:
    /// for checking a command line before any file is opened.
    public static func filterSyntaxError(_ expression: String) -> String? {
        guard let dead = pcap_open_dead(DLT_EN10MB, 65535) else { return nil }
        defer { pcap_close(dead) }
        var program = bpf_program()
        guard pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            return String(cString: pcap_geterr(dead))
        }
        pcap_freecode(&program)
        return nil
    }

    /// Keeps only the packets `expression` (tcpdump's filter syntax) matches, compiled by libpcap
    /// for this file's link type. Throws `CaptureError` with libpcap's reason when it does not
    /// compile.
    public func setFilter(_ expression: String) throws {
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError(kind: .filterRejected, path: path,
                               reason: "'\(expression)': \(String(cString: pcap_geterr(handle)))")
        }
        if filterProgram != nil { pcap_freecode(&filterProgram!) }
        filterProgram = program
    }

    /// How far into the on-disk file reading has progressed (compressed offset for gzip files),
    /// for a progress bar; compare with `fileSize`. Costs a system call: poll it, don't call it
    /// per packet.
    public var bytesConsumed: Int64 {
        if let stream { return Int64(stream.pointee.delivered) }
        if let gzipStream {
            let offset = gzoffset(gzipStream)
            return offset < 0 ? 0 : Int64(offset)
        }
        guard let file = pcap_file(handle) else { return 0 }
        let offset = ftello(file)
        return offset < 0 ? 0 : Int64(offset)
    }

    /// Calls `body` for every remaining packet, in file order, and tells how the read ended.
    ///
    /// The packet and its bytes are valid only during the call. Reading is a stream: a second
    /// call continues where the first stopped (after `body` threw, with the next packet). Nothing
    /// is allocated per packet.
    @discardableResult
    public func forEachPacket(_ body: (borrowing RawPacket) throws -> Void) rethrows -> ReadOutcome {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var bytes: UnsafePointer<UInt8>?
        let linkType = self.linkType
        while true {
            let result = pcap_next_ex(handle, &header, &bytes)
            guard result == 1, let header, let bytes else {
                if result == 0 { continue }  // live-capture timeout; never happens for files
                return finish(pcapResult: result)
            }
            if filterProgram != nil, pcap_offline_filter(&filterProgram!, header, bytes) == 0 {
                packetsFilteredOut &+= 1
                continue
            }
            let pcapHeader = header.pointee
            // With nanosecond precision libpcap stores nanoseconds in the field named tv_usec.
            let packet = RawPacket(
                time: Timestamp(captureSeconds: Int64(pcapHeader.ts.tv_sec), fraction: Int64(pcapHeader.ts.tv_usec)),
                originalLength: Int(pcapHeader.len),
                data: UnsafeRawBufferPointer(start: bytes, count: Int(pcapHeader.caplen)),
                linkType: linkType
            )
            packetsRead &+= 1
            try body(packet)
        }
    }

    /// Classifies the end of the packet stream.
    private func finish(pcapResult: Int32) -> ReadOutcome {
        let outcome: ReadOutcome
        if pcapResult == PCAP_ERROR_BREAK {
            outcome = gzipEndedEarly ? .truncated("gzip stream ends before its end marker (file cut short)") : .complete
        } else {
            let message = String(cString: pcap_geterr(handle))
            if message.contains("truncated") {
                outcome = .truncated(message)
            } else if gzipEndedEarly {
                outcome = .truncated("\(message) (gzip stream ends before its end marker)")
            } else {
                outcome = .readError(message)
            }
        }
        return outcome
    }

    /// zlib reports Z_BUF_ERROR when the input ended inside a gzip stream.
    private var gzipEndedEarly: Bool {
        if let stream { return corscope_stream_ended_early(stream) != 0 }
        guard let gzipStream else { return false }
        var code: Int32 = 0
        _ = gzerror(gzipStream, &code)
        return code == Z_BUF_ERROR
    }
}

import CPcap
import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Streams the packets of a pcap or pcapng file, plain or gzip-compressed, through libpcap.
///
/// Every file is opened with nanosecond timestamp precision, so microsecond and nanosecond files
/// report times on one scale. Every input reaches libpcap through zlib (a `corscope_stream`):
/// gzip files (recognised by their magic bytes, not their name) are decompressed on the fly,
/// others passed through; nothing is unpacked to disk and the file is never held in memory as a
/// whole. On the way, a walker sees every byte and picks up pcapng Decryption Secrets Blocks,
/// which libpcap skips, wherever they are (`onSecrets`).
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
    /// The stream libpcap reads through, owned by the cookie FILE that pcap_close closes.
    private let stream: UnsafeMutablePointer<corscope_stream>
    /// Read from a file (its progress is the offset in it), not a pipe.
    private let isFile: Bool
    private let secrets = PcapngSecretsTap()

    /// Called with the Decryption Secrets Blocks of a pcapng as reading reaches them: before the
    /// first packet that follows each (libpcap reads ahead, so a little earlier, never later).
    public var onSecrets: (([CaptureSecrets]) -> Void)?

    /// Why the walk for secrets stopped early (a broken or truncated block, secrets over 64 MiB).
    public var secretsProblem: String? { secrets.walker.problem }

    /// Opens a capture file. Throws `CaptureError` when the file cannot be read or is not a
    /// capture libpcap understands.
    /// Opens a capture read from a stream (standard input, a pipe, a FIFO), gzip-compressed or
    /// not; its size is unknown (`fileSize` 0), `bytesConsumed` counts the bytes read.
    public init(stream input: StreamedInput) throws {
        path = input.name
        guard !input.isEmpty else { throw CaptureError(kind: .notACapture, path: input.name, reason: "the input is empty") }
        fileSize = 0
        isGzipCompressed = input.isGzipCompressed
        isFile = false
        guard let (file, stream) = input.takeFILE() else {
            throw CaptureError(kind: .unreadable, path: input.name, reason: "fopencookie failed")
        }
        self.stream = stream
        (handle, linkType) = try Self.open(file, stream: stream, tap: secrets, path: input.name)
    }

    /// Hands `file` (over `stream`) to libpcap, with the secrets walker watching the bytes.
    private static func open(_ file: UnsafeMutablePointer<FILE>, stream: UnsafeMutablePointer<corscope_stream>,
                             tap: PcapngSecretsTap, path: String) throws -> (OpaquePointer, Int32) {
        stream.pointee.tap = PcapngSecretsTap.callback
        stream.pointee.tap_context = Unmanaged.passUnretained(tap).toOpaque()
        // libpcap reads a record at a time; a large buffer keeps the calls into zlib few.
        setvbuf(file, nil, _IOFBF, 256 * 1024)
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        // On failure libpcap closes nothing, so the FILE (and with it the stream) is ours.
        guard let opened = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            fclose(file)
            let reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw CaptureError(kind: .notACapture, path: path, reason: reason.isEmpty ? "unknown error" : reason)
        }
        return (opened, pcap_datalink(opened))
    }

    public init(path: String) throws {
        self.path = path
        isFile = true
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CaptureError(kind: .unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        var status = stat()
        let statResult = fstat(fd, &status)
        var magic: (UInt8, UInt8) = (0, 0)
        let magicCount = withUnsafeMutableBytes(of: &magic) { pread(fd, $0.baseAddress, 2, 0) }
        let readErrno = errno
        guard statResult == 0, magicCount >= 0 else {
            close(fd)
            throw CaptureError(kind: .unreadable, path: path, reason: String(cString: strerror(readErrno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CaptureError(kind: .unreadable, path: path, reason: "not a regular file")
        }
        guard status.st_size > 0 else {
            close(fd)
            // libpcap would say "truncated dump file; tried to read 4 file header bytes, only got 0".
            throw CaptureError(kind: .notACapture, path: path, reason: "the file is empty")
        }
        fileSize = Int64(status.st_size)
        isGzipCompressed = magicCount == 2 && magic == (0x1f, 0x8b)
        // zlib takes the descriptor (and closes it with the stream).
        guard let stream = corscope_stream_open(fd) else {
            close(fd)
            throw CaptureError(kind: .unreadable, path: path, reason: "zlib cannot read the file")
        }
        guard let file = corscope_stream_fopen(stream) else {
            _ = corscope_stream_close(stream)
            throw CaptureError(kind: .unreadable, path: path, reason: "fopencookie failed")
        }
        self.stream = stream
        (handle, linkType) = try Self.open(file, stream: stream, tap: secrets, path: path)
    }

    deinit {
        if filterProgram != nil { pcap_freecode(&filterProgram!) }
        pcap_close(handle)  // closes the FILE too, and through the cookie the stream
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

    private func deliverSecrets() {
        let found = secrets.walker.take()
        onSecrets?(found)
    }

    /// How far into the on-disk file reading has progressed (compressed offset for gzip files),
    /// for a progress bar; compare with `fileSize`. Costs a system call: poll it, don't call it
    /// per packet.
    public var bytesConsumed: Int64 {
        guard isFile else { return Int64(stream.pointee.delivered) }
        let offset = corscope_stream_offset(stream)
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
            // Secrets the read passed over go out before the packet that follows them.
            if secrets.walker.hasFound { deliverSecrets() }
            guard result == 1, let header, let bytes else {
                if result == 0 { continue }  // live-capture timeout; never happens for files
                secrets.walker.finish()
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
    private var gzipEndedEarly: Bool { corscope_stream_ended_early(stream) != 0 }
}

import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the raw evidence of a live capture in a size-bounded ring of pcap files:
/// `FILE.0`, `FILE.1`, … `FILE.<count-1>`, then `FILE.0` again (overwritten).
///
/// Files are written through libpcap's `pcap_dump` on the live handle, so they carry its link type,
/// snapshot length and nanosecond timestamps, and `CaptureFileReader` reads them back. A file is
/// flushed after every packet batch (`flush()`), so whatever is on disk is a readable capture even
/// if the process is killed.
public final class PcapRingWriter {
    /// The path the numbered files are derived from.
    public let basePath: String
    /// A file is closed and the next one started once it holds this many bytes.
    public let maximumFileBytes: Int64
    public let fileCount: Int
    /// Index of the file being written.
    public private(set) var currentIndex = 0
    /// Packets written so far, over all files.
    public private(set) var packetsWritten = 0

    private let handle: OpaquePointer
    private var dumper: OpaquePointer
    private var currentFileBytes: Int64 = 24  // the pcap file header

    /// - Parameters:
    ///   - maximumFileBytes: size of one file; the ring holds at most `fileCount` of them.
    /// - Throws: `CaptureError` when the first file cannot be created.
    public init(capture: LiveCapture, basePath: String, maximumFileBytes: Int64, fileCount: Int) throws {
        self.basePath = basePath
        self.maximumFileBytes = max(maximumFileBytes, 4096)
        self.fileCount = max(fileCount, 1)
        self.handle = capture.pcapHandle
        dumper = try Self.open(Self.path(basePath, index: 0), handle: handle)
    }

    deinit {
        pcap_dump_close(dumper)
    }

    /// The path of ring file `index`.
    public static func path(_ basePath: String, index: Int) -> String { "\(basePath).\(index)" }

    /// Every ring file path, whether written yet or not.
    public var paths: [String] { (0..<fileCount).map { Self.path(basePath, index: $0) } }

    /// Appends one packet, starting the next file of the ring first when this one is full.
    /// Returns an error message when rotation failed (the packet is then still written to the
    /// current file: the ring grows rather than losing evidence).
    @discardableResult
    public func write(_ packet: borrowing RawPacket) -> String? {
        var failure: String?
        let recordBytes = Int64(16 + packet.capturedLength)
        if currentFileBytes + recordBytes > maximumFileBytes && currentFileBytes > 24 {
            failure = rotate()
        }
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(packet.time.seconds)
        // The live handle has nanosecond precision, so pcap_dump reads nanoseconds from tv_usec.
        header.ts.tv_usec = Int(packet.time.nanoseconds)
        header.caplen = UInt32(packet.capturedLength)
        header.len = UInt32(packet.originalLength)
        let dumperPointer = UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self)
        let bytes = packet.data.baseAddress?.assumingMemoryBound(to: UInt8.self)
        pcap_dump(dumperPointer, &header, bytes)
        currentFileBytes += recordBytes
        packetsWritten += 1
        return failure
    }

    /// Pushes buffered packets to disk.
    public func flush() {
        pcap_dump_flush(dumper)
    }

    private func rotate() -> String? {
        let nextIndex = (currentIndex + 1) % fileCount
        do {
            let next = try Self.open(Self.path(basePath, index: nextIndex), handle: handle)
            pcap_dump_close(dumper)
            dumper = next
            currentIndex = nextIndex
            currentFileBytes = 24
            return nil
        } catch {
            return "\(error)"
        }
    }

    private static func open(_ path: String, handle: OpaquePointer) throws -> OpaquePointer {
        guard let dumper = pcap_dump_open(handle, path) else {
            throw CaptureError(kind: .unreadable, path: path, reason: String(cString: pcap_geterr(handle)))
        }
        return dumper
    }
}

/// One captured frame as libpcap delivered it.
///
/// `data` points into libpcap's buffer and is valid only during the callback that receives the
/// packet; copy what you keep.
public struct RawPacket {
    /// Capture time with nanosecond precision (microsecond files are scaled by libpcap).
    public var time: Timestamp
    /// Bytes present in `data` (at most the snapshot length).
    public var capturedLength: Int
    /// Length of the frame on the wire; larger than `capturedLength` when the snaplen cut it.
    public var originalLength: Int
    /// The link-layer frame, starting with the header of `linkType`.
    public var data: UnsafeRawBufferPointer
    /// DLT_* value of the frame's link-layer header (see `LinkType`).
    public var linkType: Int32

    public init(time: Timestamp, originalLength: Int, data: UnsafeRawBufferPointer, linkType: Int32) {
        self.time = time
        self.capturedLength = data.count
        self.originalLength = originalLength
        self.data = data
        self.linkType = linkType
    }

    /// True when the snapshot length cut the frame short.
    @inline(__always)
    public var isTruncatedBySnaplen: Bool { capturedLength < originalLength }
}

/// DLT_* link-layer header types the decoder understands (values from libpcap's `dlt.h`).
public enum LinkType {
    public static let null: Int32 = 0            // DLT_NULL: BSD loopback, host-order family
    public static let ethernet: Int32 = 1        // DLT_EN10MB
    public static let raw: Int32 = 12            // DLT_RAW (Linux and most systems)
    public static let rawOpenBSD: Int32 = 14     // DLT_RAW as OpenBSD numbers it
    public static let linkTypeRaw: Int32 = 101   // LINKTYPE_RAW, should libpcap not map it to DLT_RAW
    public static let loop: Int32 = 108          // DLT_LOOP: OpenBSD loopback, network-order family
    public static let linuxSLL: Int32 = 113      // DLT_LINUX_SLL: Linux cooked capture v1
    public static let ipv4: Int32 = 228          // DLT_IPV4
    public static let ipv6: Int32 = 229          // DLT_IPV6
    public static let linuxSLL2: Int32 = 276     // DLT_LINUX_SLL2: Linux cooked capture v2
}

/// How a read of a capture file ended.
public enum ReadOutcome: Equatable, Sendable {
    /// The whole file was read.
    case complete
    /// The file ends mid-record (an interrupted capture or cut copy): every whole packet before the
    /// cut was delivered. The message is libpcap's (or zlib's) wording.
    case truncated(String)
    /// Reading stopped on an error (I/O error, corrupt record, a pcapng feature libpcap refuses);
    /// every packet before it was delivered.
    case readError(String)

    /// The warning or error text, nil when the read completed.
    public var message: String? {
        switch self {
        case .complete: nil
        case .truncated(let message), .readError(let message): message
        }
    }
}

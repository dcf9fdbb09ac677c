// The HTTP/2 analyzer's own vocabulary: frame types, error codes, what it flags per stream, and
// what it counts per connection (issue #12).
import CorscopeReassembly
import CorscopeHTTP

/// HTTP/2 frame types (RFC 9113 §6). Other values are extension frames: counted and skipped.
public enum HTTP2FrameType: UInt8, Sendable, CaseIterable {
    case data = 0x0
    case headers = 0x1
    case priority = 0x2
    case rstStream = 0x3
    case settings = 0x4
    case pushPromise = 0x5
    case ping = 0x6
    case goAway = 0x7
    case windowUpdate = 0x8
    case continuation = 0x9

    public var name: String {
        switch self {
        case .data: return "DATA"
        case .headers: return "HEADERS"
        case .priority: return "PRIORITY"
        case .rstStream: return "RST_STREAM"
        case .settings: return "SETTINGS"
        case .pushPromise: return "PUSH_PROMISE"
        case .ping: return "PING"
        case .goAway: return "GOAWAY"
        case .windowUpdate: return "WINDOW_UPDATE"
        case .continuation: return "CONTINUATION"
        }
    }
}

/// HTTP/2 error codes (RFC 9113 §7), as RST_STREAM and GOAWAY carry them.
public enum HTTP2ErrorCode {
    /// `NO_ERROR`, `CANCEL`, …; an unknown code as `0x…` (RFC 9113 §7: unknown codes are not errors).
    public static func name(_ code: UInt32) -> String {
        switch code {
        case 0x0: return "NO_ERROR"
        case 0x1: return "PROTOCOL_ERROR"
        case 0x2: return "INTERNAL_ERROR"
        case 0x3: return "FLOW_CONTROL_ERROR"
        case 0x4: return "SETTINGS_TIMEOUT"
        case 0x5: return "STREAM_CLOSED"
        case 0x6: return "FRAME_SIZE_ERROR"
        case 0x7: return "REFUSED_STREAM"
        case 0x8: return "CANCEL"
        case 0x9: return "COMPRESSION_ERROR"
        case 0xa: return "CONNECT_ERROR"
        case 0xb: return "ENHANCE_YOUR_CALM"
        case 0xc: return "INADEQUATE_SECURITY"
        case 0xd: return "HTTP_1_1_REQUIRED"
        default: return "0x" + String(code, radix: 16)
        }
    }
}

/// HTTP/2 facts of one emitted exchange that the exchange model does not carry yet.
public struct HTTP2StreamDetails: Sendable, Hashable {
    public var streamID: UInt32
    public var anomalies: [HTTPAnomaly] = []
    /// The RST_STREAM error code, when the stream was reset.
    public var resetErrorCode: UInt32?
    /// Which side sent the RST_STREAM.
    public var resetBy: FlowDirection?
    /// For a pushed stream: the stream whose PUSH_PROMISE carried its request.
    public var promisedOn: UInt32?
    /// DATA payload bytes (padding excluded) per side, and padding bytes, for the stream.
    public var requestDataBytes = 0
    public var responseDataBytes = 0
    public var paddingBytes = 0

    public init(streamID: UInt32) { self.streamID = streamID }

    mutating func flag(_ anomaly: HTTPAnomaly) {
        if !anomalies.contains(anomaly) { anomalies.append(anomaly) }
    }
}

/// Counters of one HTTP/2 connection. `+=` adds them up over connections.
public struct HTTP2Statistics: Sendable, Hashable {
    /// Frames by type code (0…9 as `HTTP2FrameType`; others are extension frames), both sides.
    public var framesByType: [UInt8: Int] = [:]
    public var frames = 0
    /// Frames of a type RFC 9113 does not define (ignored, as §4.1 says).
    public var unknownFrames = 0
    /// Bytes read as HTTP/2 (preface and frames), per side.
    public var clientBytes = 0
    public var serverBytes = 0
    /// DATA payload bytes without padding, per side, and padding bytes (DATA, HEADERS, PUSH_PROMISE).
    public var clientDataBytes = 0
    public var serverDataBytes = 0
    public var paddingBytes = 0
    /// Streams seen (opened by HEADERS, or reserved by PUSH_PROMISE).
    public var streams = 0
    public var pushPromises = 0
    public var exchanges = 0
    public var requests = 0
    /// Final and interim (1xx) responses.
    public var responses = 0
    public var streamsReset = 0
    /// RST_STREAM counts by error code (codes above 0xd under 0xFFFFFFFF).
    public var resetsByErrorCode: [UInt32: Int] = [:]
    public var goAways = 0
    /// The last GOAWAY's error code and last stream id.
    public var goAwayErrorCode: UInt32?
    public var goAwayLastStreamID: UInt32?
    /// Header blocks decoded, and those that could not be (context lost, errors, cut blocks).
    public var headerBlocksDecoded = 0
    public var headerBlocksLost = 0
    /// HPACK decoding errors (a bad index, integer, Huffman string or table size): each loses the context of its side.
    public var hpackErrors = 0
    /// Header blocks decoded with a table rebuilt after a loss (see `decoded_after_hpack_reset`).
    public var headerBlocksDecodedAfterReset = 0
    public var headerFields = 0
    /// TCP gaps (`gap(length:)`) and their bytes, both sides.
    public var gaps = 0
    public var gapBytes = 0
    /// Gaps that fell inside a DATA payload (or a frame that carries no header block): frame
    /// boundaries and HPACK context survived; the bytes are missing from the body only.
    public var gapsInsidePayload = 0
    /// Times frame boundaries were lost (a gap elsewhere) and found again by the frame scan.
    public var resyncs = 0
    /// Bytes skipped while looking for a frame boundary, or in frames too large to buffer.
    public var skippedBytes = 0
    /// DATA bytes on streams the analyzer never saw opened (capture started mid-connection, or
    /// their HEADERS were lost).
    public var dataBytesOnUnknownStreams = 0
    /// Streams that produced no exchange because neither head could be decoded.
    public var streamsLost = 0
    /// Streams emitted early because the open-stream cap was reached (`stream_evicted`).
    public var streamsEvicted = 0
    /// Frames over the SETTINGS_MAX_FRAME_SIZE the receiver announced (still read, or skipped
    /// when not DATA and over the buffer cap).
    public var framesTooLarge = 0
    public var malformedFrames = 0
    /// The client did not start with the connection preface.
    public var prefaceMissing = false
    /// The TCP handshake was not captured: read from the first plausible frame header on.
    public var startedMidConnection = false
    /// HTTPAnomaly counts over emitted exchanges.
    public var anomalies: [HTTPAnomaly: Int] = [:]

    public init() {}

    public func frames(of type: HTTP2FrameType) -> Int { framesByType[type.rawValue] ?? 0 }

    public static func += (lhs: inout HTTP2Statistics, rhs: HTTP2Statistics) {
        lhs.framesByType.merge(rhs.framesByType, uniquingKeysWith: +)
        lhs.frames += rhs.frames
        lhs.unknownFrames += rhs.unknownFrames
        lhs.clientBytes += rhs.clientBytes
        lhs.serverBytes += rhs.serverBytes
        lhs.clientDataBytes += rhs.clientDataBytes
        lhs.serverDataBytes += rhs.serverDataBytes
        lhs.paddingBytes += rhs.paddingBytes
        lhs.streams += rhs.streams
        lhs.pushPromises += rhs.pushPromises
        lhs.exchanges += rhs.exchanges
        lhs.requests += rhs.requests
        lhs.responses += rhs.responses
        lhs.streamsReset += rhs.streamsReset
        lhs.resetsByErrorCode.merge(rhs.resetsByErrorCode, uniquingKeysWith: +)
        lhs.goAways += rhs.goAways
        if rhs.goAwayErrorCode != nil { lhs.goAwayErrorCode = rhs.goAwayErrorCode }
        if rhs.goAwayLastStreamID != nil { lhs.goAwayLastStreamID = rhs.goAwayLastStreamID }
        lhs.headerBlocksDecoded += rhs.headerBlocksDecoded
        lhs.headerBlocksLost += rhs.headerBlocksLost
        lhs.hpackErrors += rhs.hpackErrors
        lhs.headerBlocksDecodedAfterReset += rhs.headerBlocksDecodedAfterReset
        lhs.headerFields += rhs.headerFields
        lhs.gaps += rhs.gaps
        lhs.gapBytes += rhs.gapBytes
        lhs.gapsInsidePayload += rhs.gapsInsidePayload
        lhs.resyncs += rhs.resyncs
        lhs.skippedBytes += rhs.skippedBytes
        lhs.dataBytesOnUnknownStreams += rhs.dataBytesOnUnknownStreams
        lhs.streamsLost += rhs.streamsLost
        lhs.streamsEvicted += rhs.streamsEvicted
        lhs.framesTooLarge += rhs.framesTooLarge
        lhs.malformedFrames += rhs.malformedFrames
        lhs.prefaceMissing = lhs.prefaceMissing || rhs.prefaceMissing
        lhs.startedMidConnection = lhs.startedMidConnection || rhs.startedMidConnection
        lhs.anomalies.merge(rhs.anomalies, uniquingKeysWith: +)
    }
}

// The HTTP/2 analyzer: frames, HPACK, streams → exchanges (issue #12).
import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly

/// Turns the two byte streams of one HTTP/2 connection (prior knowledge, ALPN `h2` after TLS,
/// or an `h2c` upgrade handed over by `HTTP1ConnectionAnalyzer`) into one `HTTPExchange` per
/// stream.
///
/// ```swift
/// let analyzer = HTTP2ConnectionAnalyzer(connection: info, transport: HTTPTransport(isHTTP2: true)) { report($0) }
/// // receive / gap / end per direction, as the TCP assembler calls them
/// ```
///
/// ### Frames (RFC 9113)
/// The client side starts with the connection preface, then frames (9-byte header); the server
/// side is frames from its first byte. Frames are reassembled across `receive` calls; a
/// non-DATA frame is buffered whole (at most the SETTINGS_MAX_FRAME_SIZE its receiver
/// announced, never more than 16 MiB), DATA payloads are streamed straight into the body.
/// DATA (padding removed), HEADERS (+ CONTINUATION, priority fields, padding), PRIORITY,
/// RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY and WINDOW_UPDATE are read; other types are
/// counted and skipped (§4.1).
///
/// ### HPACK
/// One `HPACKBlockDecoder` per side (why not NIOHPACK's: see there). A side's
/// SETTINGS_HEADER_TABLE_SIZE bounds the *other*
/// side's encoder, so it sets the maximum of the decoder of the other side's header blocks: a
/// larger value at once, a smaller one when the other side acknowledges the SETTINGS (the
/// moment its encoder applies it). Dynamic table size updates inside blocks are the decoder's.
/// Every header block is decoded, also on reset or ignored streams, to keep the table in step.
///
/// ### Streams → exchanges
/// A stream becomes an exchange when both sides sent END_STREAM, when it is reset, or when the
/// connection ends (what is missing flagged). Exchanges are emitted in stream-open order (the
/// order of the HEADERS or PUSH_PROMISE that opened them), numbered from 0: a stream that
/// completes early waits for the streams opened before it. At most
/// `HTTPConfiguration.maxPendingRequests` streams (default 1,024) are open or waiting; past it
/// the oldest is emitted as it is (`stream_evicted`). The request head keeps every decoded field
/// in order, pseudo-headers included, duplicates as separate fields; 1xx heads are interim
/// responses; a HEADERS block after the final head is the trailers.
///
/// ### Leniencies (a passive reader keeps reading where an endpoint would fail the connection)
/// * **mid-connection**: a connection whose TCP handshake was not captured, or a client side that
///   does not start with the preface (`prefaceMissing`), starts by scanning for a plausible frame
///   header, and its header blocks are decoded as after an HPACK loss (hpack-rebuild), both sides.
/// * **oversized-frame**: a frame larger than the announced SETTINGS_MAX_FRAME_SIZE is still read
///   when it is DATA, skipped (and its header block lost) otherwise (`frame_too_large`).
/// * **early-table-growth**: a larger SETTINGS_HEADER_TABLE_SIZE applies before its ACK (a larger
///   maximum never changes how a conforming block decodes).
/// * **hpack-rebuild**: after the HPACK context of a side is lost (a gap, a decoding error, a block
///   that could not be read), that side's blocks are decoded with a fresh table, sized to the
///   table maximum in force. The fresh table holds exactly the newest entries of the encoder's
///   table (the ones added since), so a block that refers only to those, or to the static table,
///   decodes exactly as the endpoint decoded it; a block referring to an older entry fails
///   (index out of range) and is counted as lost, and the table starts fresh again. Decoded
///   blocks are marked `decoded_after_hpack_reset`.
/// * **payload-gap**: a gap inside a DATA payload (or inside a frame whose length was already
///   read) keeps frame boundaries and HPACK context: the bytes are missing from that body only
///   (`content_gap`). Any other gap loses frame boundaries: the side scans for a plausible frame
///   header (known type, flags, length within the limit, a known stream for DATA, and the next
///   frame header plausible too), counting the bytes skipped.
/// * **late-frames**: frames on a stream after it was reset or emitted are counted and ignored
///   (their header blocks are still decoded).
/// * **missing-pseudo-header**: a head without `:method`/`:path` or `:status` is kept, with an
///   empty method or target, or status 0 (`missing_pseudo_header`).
/// * **size-update-anywhere**: see `HPACKBlockDecoder`.
/// * Header names and values are kept as the octets HPACK carried, as HTTP/1's are: bytes that
///   are not UTF-8 stay visible byte-exact (RFC 9113 §8.2.1 forbids some of them; a passive
///   reader shows them).
///
/// ### Memory
/// Per side: one buffered frame (≤ the announced max frame size, ≤ 16 MiB) or one header block
/// (≤ 2 × `maxHeadBytes`, at least 32 KiB), the HPACK table (≤ 256 KiB); per stream: the heads
/// and `keptBodyBytes` per body; at most `maxPendingRequests` streams.
///
/// Bodies: `wireLength` counts DATA payload bytes without padding; `kept` is the first
/// `keptBodyBytes` of them, decoded by `content-encoding` (gzip, deflate) through CorscopeHTTP's
/// `BodyAccumulator`, with the same caps and anomalies as HTTP/1.
///
/// Not thread-safe: feed one connection from one thread.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class HTTP2ConnectionAnalyzer: TCPStreamHandler {
    /// `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 §3.4).
    public static let clientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// The client connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (prior knowledge
    /// detection): true when `data` starts with all 24 bytes of it.
    public static func startsWithPreface(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count >= clientPreface.count else { return false }
        for i in 0..<clientPreface.count where data[i] != clientPreface[i] { return false }
        return true
    }

    /// The largest HPACK dynamic table a decoder grows to, whatever SETTINGS announce.
    public static let maxHPACKTableSize = 256 * 1024

    public let connection: ConnectionInfo
    public let transport: HTTPTransport
    public let configuration: HTTPConfiguration
    @exclusivity(unchecked) public private(set) var statistics = HTTP2Statistics()
    /// Called for each exchange just before it is emitted, with the stream's own counts (DATA and
    /// padding bytes per side) beside what the exchange already carries (its HTTP/2 anomalies,
    /// `HTTPExchange.http2`).
    @exclusivity(unchecked) public var onStreamDetails: ((HTTPExchange, HTTP2StreamDetails) -> Void)?

    private let emit: (HTTPExchange) -> Void
    private let sides: [Side]
    @exclusivity(unchecked) private var streams: [UInt32: Stream] = [:]
    /// Stream ids in open order; `orderHead` is the first not yet emitted.
    @exclusivity(unchecked) private var order: [UInt32] = []
    @exclusivity(unchecked) private var orderHead = 0
    @exclusivity(unchecked) private var nextIndex = 0
    @exclusivity(unchecked) private var finished = false
    /// Highest stream id opened by each side (odd: client; even: server push).
    @exclusivity(unchecked) private var highestOpened: [UInt32] = [0, 0]
    /// The last 4,096 stream ids emitted, so that a late frame for one (a response after the
    /// client's RST_STREAM) is not taken for a stream whose opening was not captured.
    @exclusivity(unchecked) private var recentlyEmitted: Set<UInt32> = []
    @exclusivity(unchecked) private var recentlyEmittedOrder: [UInt32] = []
    @exclusivity(unchecked) private var recentlyEmittedNext = 0
    private static let recentlyEmittedCap = 4096
    @exclusivity(unchecked) private var serverGoAwayLastStream: UInt32?
    /// Set while the held bytes of a direction that ended are scanned one last time.
    @exclusivity(unchecked) private var scanningAtEnd = false
    private let blockLimit: Int

    /// - Parameters:
    ///   - upgradedRequest, upgradeResponse: for `h2c`, the HTTP/1.1 request that asked for the
    ///     upgrade (it is stream 1, already complete) and the `101` (its interim response).
    ///   - emit: called synchronously, in stream-open order, for every exchange.
    /// - Parameter huffmanCache: shared by the connections one thread analyses (see `HPACKHuffmanCache`).
    public init(connection: ConnectionInfo, transport: HTTPTransport, configuration: HTTPConfiguration = .init(),
                upgradedRequest: HTTPRequest? = nil, upgradeResponse: HTTPResponseHead? = nil,
                huffmanCache: HPACKHuffmanCache? = nil, emit: @escaping (HTTPExchange) -> Void) {
        self.connection = connection
        self.transport = transport
        self.configuration = configuration
        self.emit = emit
        blockLimit = max(2 * configuration.maxHeadBytes, 32 * 1024)
        let client = Side(direction: .clientToServer, state: .preface)
        let server = Side(direction: .serverToClient, state: .frames)
        for side in [client, server] { side.decoder.huffmanCache = huffmanCache }
        sides = [client, server]
        if upgradedRequest == nil && !connection.sawHandshake {
            // Picked up mid-connection: neither side's frame boundaries nor HPACK context are
            // known (see mid-connection).
            statistics.startedMidConnection = true
            for side in sides {
                side.state = .resync
                side.hpackLost = true
            }
        }
        if let upgradedRequest {
            let stream = open(1)
            stream.request = upgradedRequest
            stream.requestHeadSeen = true
            stream.requestEnded = true
            stream.requestLast = upgradedRequest.lastByte
            if let upgradeResponse { stream.interim.append(upgradeResponse) }
            statistics.requests += 1
            if upgradeResponse != nil { statistics.responses += 1 }
            // The client's first SETTINGS travelled in the request (RFC 7540 §3.2.1), and the
            // 101 acknowledged them: they apply from the server's first frame on.
            if let encoded = upgradedRequest.head.headers.first(named: "HTTP2-Settings"),
               let payload = Self.base64URLDecoded(encoded), payload.count % 6 == 0 {
                payload.withUnsafeBytes { applySettings($0, from: client, acknowledged: true) }
            }
        }
    }

    /// RFC 4648 §5 base64url without padding (HTTP2-Settings); nil on any other byte.
    static func base64URLDecoded(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"), UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="), UInt8(ascii: " "): continue
            default: return nil
            }
            buffer = (buffer << 6 | UInt32(value)) & 0xFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return bytes
    }

    /// A SETTINGS payload sent by `side`: it bounds what the other side sends (frame size, the
    /// encoder's table). The table maximum applies to the other side's decoder at once when it
    /// grows or when already acknowledged, else at the other side's ACK.
    private func applySettings(_ payload: UnsafeRawBufferPointer, from side: Side, acknowledged: Bool) {
        let peer = sides[side.direction.reversed.rawValue]
        var tableSize: Int? = nil
        var i = 0
        while i + 6 <= payload.count {
            let identifier = UInt16(payload[i]) << 8 | UInt16(payload[i + 1])
            let value = FrameHeader.uint32(payload, at: i + 2)
            switch identifier {
            case 0x1: tableSize = Int(value)
            case 0x5: peer.maxFrameSize = min(max(Int(value), 16_384), 16_777_215)
            default: break
            }
            i += 6
        }
        if let tableSize { peer.setTableMaximum(tableSize, shrinkNow: acknowledged) }
        if !acknowledged, peer.settingsToAcknowledge.count < 64 { peer.settingsToAcknowledge.append(tableSize) }
    }

    // MARK: TCPStreamHandler

    public func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        guard !finished, data.count > 0 else { return }
        let side = sides[direction.rawValue]
        if direction == .clientToServer { statistics.clientBytes += data.count } else { statistics.serverBytes += data.count }
        side.lastTime = time
        feed(side, data, time: time)
    }

    public func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        guard !finished, length > 0 else { return }
        let side = sides[direction.rawValue]
        statistics.gaps += 1
        statistics.gapBytes += length
        switch side.state {
        case .stopped:
            return
        case .data(let id, let remaining, let padding, let endStream):
            if length <= remaining + padding {
                let lostData = min(length, remaining)
                if lostData > 0, let stream = streams[id], !stream.isClosed(on: side.direction) {
                    stream.noteGap(lostData, on: side.direction)
                }
                statistics.gapsInsidePayload += 1
                let left = remaining - lostData, leftPadding = padding - (length - lostData)
                if left == 0 && leftPadding == 0 {
                    side.state = .frames
                    finishDataFrame(id, endStream: endStream, side: side, time: time)
                } else {
                    side.state = .data(stream: id, remaining: left, padding: leftPadding, endStream: endStream)
                }
                return
            }
            if remaining > 0, let stream = streams[id], !stream.isClosed(on: side.direction) {
                stream.noteGap(remaining, on: side.direction)
            }
        case .skip(let remaining):
            if length <= remaining {
                statistics.gapsInsidePayload += 1
                side.state = length == remaining ? .frames : .skip(remaining: remaining - length)
                return
            }
        case .frames where side.carry.count >= 9:
            let header = side.carry.withUnsafeBytes { FrameHeader($0, at: 0) }
            let need = 9 + header.length - side.carry.count
            if header.type != HTTP2FrameType.data.rawValue, length <= need {
                // The frame is damaged but its end is known: drop it, stay on frame boundaries.
                statistics.gapsInsidePayload += 1
                countFrame(header)
                statistics.skippedBytes += side.carry.count
                side.carry.removeAll(keepingCapacity: true)
                if header.carriesHeaderBlock { lostHeaderBlock(header, side: side, time: time) }
                side.state = length == need ? .frames : .skip(remaining: need - length)
                return
            }
        default:
            break
        }
        loseSync(side, time: time)
    }

    public func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        guard !finished else { return }
        let side = sides[direction.rawValue]
        guard !side.ended else { return }
        side.ended = true
        if let block = side.block {
            side.block = nil
            abandon(block, side: side, time: time)
        }
        if case .resync = side.state, !side.carry.isEmpty {
            // Nothing more will come: a candidate frame ending with the held bytes is one.
            scanningAtEnd = true
            let consumed = side.carry.withUnsafeBytes { run(side, $0, time: side.carryTime, unitTime: side.carryTime) }
            scanningAtEnd = false
            side.carry.removeFirst(min(consumed, side.carry.count))
        }
        if !side.carry.isEmpty {
            statistics.skippedBytes += side.carry.count
            side.carry.removeAll()
        }
        side.state = .stopped
        if sides[0].ended && sides[1].ended { finish() }
    }

    // MARK: Reading frames

    private func feed(_ side: Side, _ data: UnsafeRawBufferPointer, time: Timestamp) {
        if case .resync = side.state {
            // Scanning holds everything from the first candidate on: scan the held bytes and the
            // new ones together; a boundary found goes on as frames in the same pass.
            if side.carry.isEmpty { side.carryTime = time }
            side.carry.append(contentsOf: data)
            let consumed = side.carry.withUnsafeBytes { run(side, $0, time: time, unitTime: side.carryTime) }
            side.carry.removeFirst(min(consumed, side.carry.count))
            if case .resync = side.state, side.carry.count > Side.resyncWindow {
                let drop = side.carry.count - 64
                statistics.skippedBytes += drop
                side.carry.removeFirst(drop)
            }
            return
        }
        var offset = 0
        while offset < data.count {
            if case .resync = side.state {
                // Lost on the way (a preface that was not one): scan the rest with what is held.
                feed(side, UnsafeRawBufferPointer(rebasing: data[offset...]), time: time)
                return
            }
            if side.carry.isEmpty {
                let rest = UnsafeRawBufferPointer(rebasing: data[offset...])
                let consumed = run(side, rest, time: time, unitTime: time)
                if consumed < rest.count {
                    side.carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[consumed...]))
                    side.carryTime = time
                }
                return
            }
            // Top the held bytes up to one whole unit (frame header, or whole frame), no more.
            let want = unitSize(side)
            let take = min(max(1, want - side.carry.count), data.count - offset)
            side.carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[offset..<(offset + take)]))
            offset += take
            if side.carry.count < want { continue }
            let consumed = side.carry.withUnsafeBytes { run(side, $0, time: time, unitTime: side.carryTime) }
            side.carry.removeFirst(min(consumed, side.carry.count))
            // What is left (rarely anything) is the start of the next unit, from this segment.
            if !side.carry.isEmpty { side.carryTime = time }
        }
    }

    /// How many held bytes complete the unit the side is waiting for.
    private func unitSize(_ side: Side) -> Int {
        switch side.state {
        case .preface:
            return Self.clientPreface.count
        case .frames:
            guard side.carry.count >= 9 else { return 9 }
            let header = side.carry.withUnsafeBytes { FrameHeader($0, at: 0) }
            if header.type == HTTP2FrameType.data.rawValue { return header.flags & 0x8 != 0 && header.length > 0 ? 10 : 9 }
            if header.length > frameLimit(side) { return 9 }
            return 9 + header.length
        default:
            return side.carry.count + 1
        }
    }

    /// The largest frame the side's peer said it accepts (at least the 16 KiB default).
    private func frameLimit(_ side: Side) -> Int { max(16_384, side.maxFrameSize) }

    /// Parses from `buf`; returns how many bytes were consumed (the rest is a partial unit).
    /// `unitTime` is the time of the first byte of `buf` (held bytes arrived earlier).
    private func run(_ side: Side, _ buf: UnsafeRawBufferPointer, time: Timestamp, unitTime: Timestamp) -> Int {
        var p = 0
        let end = buf.count
        while p < end {
            let frameTime = p == 0 ? unitTime : time
            switch side.state {
            case .stopped:
                statistics.skippedBytes += end - p
                return end

            case .preface:
                let preface = Self.clientPreface
                let n = min(preface.count, end - p)
                var matches = true
                for i in 0..<n where buf[p + i] != preface[i] { matches = false; break }
                if matches {
                    if n < preface.count { return p }
                    p += n
                    side.state = .frames
                } else {
                    // Not the preface: where the frames begin is not known, nor the HPACK context.
                    statistics.prefaceMissing = true
                    side.state = .resync
                    side.hpackLost = true
                    sides[1].hpackLost = true
                    return self.run(side, UnsafeRawBufferPointer(rebasing: buf[p...]), time: time, unitTime: frameTime) + p
                }

            case .frames:
                guard end - p >= 9 else { return p }
                let header = FrameHeader(buf, at: p)
                if header.type == HTTP2FrameType.data.rawValue {
                    let padded = header.flags & 0x8 != 0 && header.length > 0
                    if padded && end - p < 10 { return p }
                    countFrame(header)
                    if header.length > frameLimit(side) { statistics.framesTooLarge += 1; streams[header.streamID]?.details.flag(.frameTooLarge) }
                    let padLength = padded ? Int(buf[p + 9]) : 0
                    var dataLength = header.length - (padded ? 1 : 0) - padLength
                    var padding = padLength
                    if dataLength < 0 {
                        // Padding longer than the payload (PROTOCOL_ERROR): all of it taken as padding.
                        statistics.malformedFrames += 1
                        streams[header.streamID]?.details.flag(.malformedFrame)
                        dataLength = 0
                        padding = header.length - (padded ? 1 : 0)
                    }
                    p += padded ? 10 : 9
                    statistics.paddingBytes += padding + (padded ? 1 : 0)
                    startDataFrame(header, side: side, time: frameTime)
                    if let stream = streams[header.streamID] { stream.details.paddingBytes += padding + (padded ? 1 : 0) }
                    let endStream = header.flags & 0x1 != 0
                    if dataLength == 0 && padding == 0 {
                        finishDataFrame(header.streamID, endStream: endStream, side: side, time: frameTime)
                    } else {
                        side.state = .data(stream: header.streamID, remaining: dataLength, padding: padding, endStream: endStream)
                    }
                    continue
                }
                if header.length > frameLimit(side) {
                    countFrame(header)
                    statistics.framesTooLarge += 1
                    streams[header.streamID]?.details.flag(.frameTooLarge)
                    if header.carriesHeaderBlock { lostHeaderBlock(header, side: side, time: frameTime) }
                    p += 9
                    side.state = header.length == 0 ? .frames : .skip(remaining: header.length)
                    continue
                }
                guard end - p >= 9 + header.length else { return p }
                countFrame(header)
                handleFrame(header, payload: UnsafeRawBufferPointer(rebasing: buf[(p + 9)..<(p + 9 + header.length)]), side: side, time: frameTime)
                p += 9 + header.length

            case .data(let id, let remaining, let padding, let endStream):
                let n = min(remaining, end - p)
                if n > 0 {
                    dataBytes(UnsafeRawBufferPointer(rebasing: buf[p..<(p + n)]), stream: id, side: side)
                    p += n
                }
                let m = min(padding, end - p)
                if n == remaining { p += m }
                let left = remaining - n, leftPadding = n == remaining ? padding - m : padding
                if left == 0 && leftPadding == 0 {
                    side.state = .frames
                    finishDataFrame(id, endStream: endStream, side: side, time: time)
                } else {
                    side.state = .data(stream: id, remaining: left, padding: leftPadding, endStream: endStream)
                }

            case .skip(let remaining):
                let n = min(remaining, end - p)
                statistics.skippedBytes += n
                p += n
                side.state = n == remaining ? .frames : .skip(remaining: remaining - n)

            case .resync:
                var q = p
                var found = false
                while q + 9 <= end {
                    if let header = plausibleHeader(buf, at: q, side: side) {
                        let next = q + 9 + header.length
                        // A candidate that ends exactly where the held bytes end is taken only at the
                        // end of the direction; before that, the bytes that follow decide (so where a
                        // segment happens to end cannot change the result).
                        if next == end {
                            if scanningAtEnd { found = true }
                            break
                        }
                        if next + 9 <= end {
                            if plausibleHeader(buf, at: next, side: side) != nil { found = true; break }
                        } else if end - q < Side.resyncWindow / 2 {
                            // Wait for the bytes that tell whether the next header is plausible.
                            break
                        } else {
                            found = true
                            break
                        }
                    }
                    q += 1
                }
                statistics.skippedBytes += q - p
                p = q
                if !found { return p }
                statistics.resyncs += 1
                side.state = .frames
            }
        }
        return p
    }

    private func countFrame(_ header: FrameHeader) {
        statistics.frames += 1
        statistics.framesByType[header.type, default: 0] += 1
        if HTTP2FrameType(rawValue: header.type) == nil { statistics.unknownFrames += 1 }
    }

    /// Whether 9 bytes at `q` look like a frame header this side could send next.
    private func plausibleHeader(_ buf: UnsafeRawBufferPointer, at q: Int, side: Side) -> FrameHeader? {
        let header = FrameHeader(buf, at: q)
        guard !header.reservedBit, header.length <= frameLimit(side), let type = HTTP2FrameType(rawValue: header.type) else { return nil }
        let id = header.streamID
        let highest = max(highestOpened[0], highestOpened[1])
        if id > highest &+ 2_000 { return nil }
        switch type {
        case .data: return header.flags & ~0x09 == 0 && id != 0 && streams[id] != nil ? header : nil
        case .headers: return header.flags & ~0x2D == 0 && id != 0 && (side.direction == .serverToClient || id % 2 == 1) ? header : nil
        case .priority: return header.flags == 0 && header.length == 5 && id != 0 ? header : nil
        case .rstStream: return header.flags == 0 && header.length == 4 && id != 0 ? header : nil
        case .settings: return header.flags & ~0x1 == 0 && id == 0 && header.length % 6 == 0 ? header : nil
        case .pushPromise: return header.flags & ~0x0C == 0 && id != 0 && side.direction == .serverToClient ? header : nil
        case .ping: return header.flags & ~0x1 == 0 && header.length == 8 && id == 0 ? header : nil
        case .goAway: return header.flags == 0 && header.length >= 8 && id == 0 ? header : nil
        case .windowUpdate: return header.flags == 0 && header.length == 4 ? header : nil
        case .continuation: return nil   // a block cannot be resumed without its start
        }
    }

    // MARK: Frames

    private func handleFrame(_ header: FrameHeader, payload: UnsafeRawBufferPointer, side: Side, time: Timestamp) {
        if let block = side.block, header.type != HTTP2FrameType.continuation.rawValue {
            // Only CONTINUATION may follow a block without END_HEADERS (§6.10).
            side.block = nil
            statistics.malformedFrames += 1
            streams[block.streamID]?.details.flag(.malformedFrame)
            abandon(block, side: side, time: time)
        }
        guard let type = HTTP2FrameType(rawValue: header.type) else { return }
        let id = header.streamID
        switch type {
        case .data:
            break   // streamed in `run`
        case .headers, .pushPromise:
            var start = 0
            var stop = payload.count
            if header.flags & 0x8 != 0 {
                guard stop >= 1 else { malformedBlock(header, side: side, time: time); return }
                let padLength = Int(payload[0])
                start = 1
                stop -= padLength
                statistics.paddingBytes += padLength + 1
                streams[id]?.details.paddingBytes += padLength + 1
            }
            var promised: UInt32? = nil
            if type == .headers {
                if header.flags & 0x20 != 0 { start += 5 }   // exclusive bit, dependency, weight
            } else {
                guard stop - start >= 4 else { malformedBlock(header, side: side, time: time); return }
                promised = FrameHeader.uint32(payload, at: start) & 0x7FFF_FFFF
                start += 4
            }
            guard id != 0, start <= stop else { malformedBlock(header, side: side, time: time); return }
            var block = HeaderBlock(streamID: id, promisedID: promised, endStream: type == .headers && header.flags & 0x1 != 0, time: time)
            if stop - start > blockLimit {
                block.tooLarge = true
            } else {
                block.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[start..<stop]))
            }
            if header.flags & 0x4 != 0 { completeBlock(block, side: side, time: time) } else { side.block = block }
        case .continuation:
            guard var block = side.block, block.streamID == id else {
                // Without the HEADERS it continues, the fragment cannot be decoded.
                statistics.malformedFrames += 1
                streams[id]?.details.flag(.malformedFrame)
                statistics.headerBlocksLost += 1
                side.hpackLost = true
                return
            }
            side.block = nil
            if block.bytes.count + payload.count > blockLimit {
                block.tooLarge = true
                block.bytes = []
            } else if !block.tooLarge {
                block.bytes.append(contentsOf: payload)
            }
            if header.flags & 0x4 != 0 { completeBlock(block, side: side, time: time) } else { side.block = block }
        case .priority, .ping, .windowUpdate:
            break
        case .rstStream:
            guard payload.count == 4, id != 0 else { statistics.malformedFrames += 1; return }
            reset(id, code: FrameHeader.uint32(payload, at: 0), by: side.direction, time: time)
        case .settings:
            if header.flags & 0x1 != 0 {
                // This side acknowledges the other side's oldest SETTINGS: its encoder now uses them.
                if !side.settingsToAcknowledge.isEmpty {
                    let size = side.settingsToAcknowledge.removeFirst()
                    if let size { side.setTableMaximum(size, shrinkNow: true) }
                }
                return
            }
            guard payload.count % 6 == 0 else { statistics.malformedFrames += 1; return }
            applySettings(payload, from: side, acknowledged: false)
        case .goAway:
            guard payload.count >= 8 else { statistics.malformedFrames += 1; return }
            let last = FrameHeader.uint32(payload, at: 0) & 0x7FFF_FFFF
            let code = FrameHeader.uint32(payload, at: 4)
            statistics.goAways += 1
            statistics.goAwayErrorCode = code
            statistics.goAwayLastStreamID = last
            if side.direction == .serverToClient { serverGoAwayLastStream = min(serverGoAwayLastStream ?? last, last) }
        }
    }

    private func malformedBlock(_ header: FrameHeader, side: Side, time: Timestamp) {
        statistics.malformedFrames += 1
        streams[header.streamID]?.details.flag(.malformedFrame)
        lostHeaderBlock(header, side: side, time: time)
    }

    /// A HEADERS, PUSH_PROMISE or CONTINUATION frame that could not be read: its block is lost,
    /// and with it the HPACK context of the side.
    private func lostHeaderBlock(_ header: FrameHeader, side: Side, time: Timestamp) {
        if let block = side.block {
            side.block = nil
            abandon(block, side: side, time: time)
            return
        }
        guard header.type != HTTP2FrameType.continuation.rawValue else {
            statistics.headerBlocksLost += 1
            side.hpackLost = true
            return
        }
        let block = HeaderBlock(streamID: header.streamID, promisedID: nil,
                                endStream: header.type == HTTP2FrameType.headers.rawValue && header.flags & 0x1 != 0, time: time)
        abandon(block, side: side, time: time)
    }

    /// A header block that will not be decoded: the stream learns its head is missing.
    private func abandon(_ block: HeaderBlock, side: Side, time: Timestamp) {
        statistics.headerBlocksLost += 1
        side.hpackLost = true
        headerBlock(block, fields: nil, tooLarge: false, afterReset: false, side: side, time: time)
    }

    private func completeBlock(_ block: HeaderBlock, side: Side, time: Timestamp) {
        if block.tooLarge {
            statistics.headerBlocksLost += 1
            side.hpackLost = true
            streams[block.streamID]?.headerTooLarge = true
            headerBlock(block, fields: nil, tooLarge: true, afterReset: false, side: side, time: time)
            return
        }
        let rebuilt = side.beginDecoding()
        let decoded: HPACKBlockDecoder.Decoded
        do {
            decoded = try block.bytes.withUnsafeBytes { bytes throws(HPACKBlockDecoder.Failure) in
                try side.decoder.decode(bytes, maxFields: configuration.maxHeaderFields, maxBytes: configuration.maxHeadBytes)
            }
        } catch {
            if !rebuilt { statistics.hpackErrors += 1 }
            statistics.headerBlocksLost += 1
            side.hpackLost = true
            headerBlock(block, fields: nil, tooLarge: false, afterReset: false, side: side, time: time)
            return
        }
        statistics.headerBlocksDecoded += 1
        if rebuilt { statistics.headerBlocksDecodedAfterReset += 1 }
        statistics.headerFields += decoded.fields.count
        headerBlock(block, fields: decoded.fields, tooLarge: decoded.tooLarge, afterReset: rebuilt, malformedField: decoded.emptyNames > 0,
                    side: side, time: time)
    }

    // MARK: Streams

    /// A header block of `side` was read (fields) or lost (nil).
    private func headerBlock(_ block: HeaderBlock, fields: HTTPHeaderFields?, tooLarge: Bool, afterReset: Bool,
                             malformedField: Bool = false, side: Side, time: Timestamp) {
        let id = block.streamID
        guard id != 0 else { return }   // a block on the connection stream: counted as malformed
        if let promised = block.promisedID {
            pushPromise(on: id, promised: promised, fields: fields, tooLarge: tooLarge, afterReset: afterReset,
                        malformedField: malformedField, time: time)
            return
        }
        let stream: Stream
        if let existing = streams[id] {
            stream = existing
        } else {
            if recentlyEmitted.contains(id) {
                // Already emitted (ended, reset or evicted): a late frame.
                statistics.anomalies[.frameAfterStreamEnd, default: 0] += 1
                return
            }
            // A stream whose opening was not captured (a gap, or a capture begun mid-connection).
            stream = open(id)
        }
        if stream.isClosed(on: side.direction) {
            stream.details.flag(.frameAfterStreamEnd)
            return
        }
        if tooLarge { stream.headerTooLarge = true }
        if fields == nil { stream.details.flag(.hpackContextLost) }
        if afterReset { stream.details.flag(.decodedAfterHPACKReset) }
        if malformedField { stream.details.flag(.malformedHeaderLine) }
        if side.direction == .clientToServer {
            if !stream.requestHeadSeen {
                stream.requestHeadSeen = true
                stream.requestFirst = time
                if let fields {
                    let head = Self.requestHead(fields, details: &stream.details)
                    stream.requestHead = head
                    stream.requestBody.start(codings: Self.codings(head.headers), configuration: configuration)
                    statistics.requests += 1
                }
            } else if let fields {
                stream.requestTrailers = fields
            }
            stream.requestLast = time
            if block.endStream { stream.requestEnded = true }
        } else {
            if !stream.finalResponseSeen {
                if let fields {
                    let head = Self.responseHead(fields, details: &stream.details)
                    statistics.responses += 1
                    if head.status >= 100 && head.status < 200 && !block.endStream {
                        if stream.interim.count < 16 { stream.interim.append(head) }
                    } else {
                        stream.finalResponseSeen = true
                        stream.responseHead = head
                        stream.responseBody.start(codings: Self.codings(head.headers), configuration: configuration,
                                                  keep: configuration.keptBodyBytes(forStatus: head.status))
                        stream.responseFirst = time
                    }
                } else {
                    // Interim or final is unknown: later DATA and END_STREAM belong to the final one.
                    stream.finalResponseSeen = true
                    stream.responseFirst = time
                }
            } else if let fields {
                stream.responseTrailers = fields
            }
            stream.responseLast = time
            if block.endStream { stream.responseEnded = true }
        }
        checkDone(stream)
    }

    private func pushPromise(on associated: UInt32, promised: UInt32, fields: HTTPHeaderFields?, tooLarge: Bool, afterReset: Bool,
                             malformedField: Bool, time: Timestamp) {
        statistics.pushPromises += 1
        guard promised != 0, streams[promised] == nil, !recentlyEmitted.contains(promised) else {
            statistics.malformedFrames += 1
            return
        }
        let stream = open(promised)
        stream.details.promisedOn = associated
        stream.details.flag(.serverPush)
        if tooLarge { stream.headerTooLarge = true }
        if afterReset { stream.details.flag(.decodedAfterHPACKReset) }
        if malformedField { stream.details.flag(.malformedHeaderLine) }
        stream.requestHeadSeen = true
        stream.requestEnded = true
        stream.requestFirst = time
        stream.requestLast = time
        if let fields {
            stream.requestHead = Self.requestHead(fields, details: &stream.details)
            statistics.requests += 1
        } else {
            stream.details.flag(.hpackContextLost)
        }
    }

    private static func requestHead(_ fields: HTTPHeaderFields, details: inout HTTP2StreamDetails) -> HTTPRequestHead {
        let method = fields.first(named: ":method")
        let target = method == "CONNECT" ? (fields.first(named: ":authority") ?? fields.first(named: ":path")) : fields.first(named: ":path")
        if method == nil || target == nil { details.flag(.missingPseudoHeader) }
        return HTTPRequestHead(method: method ?? "", target: target ?? "", version: HTTPVersion(major: 2, minor: 0), headers: fields)
    }

    private static func responseHead(_ fields: HTTPHeaderFields, details: inout HTTP2StreamDetails) -> HTTPResponseHead {
        var status = 0
        if let text = fields.first(named: ":status"), text.utf8.count == 3, let value = Int(text) {
            status = value
        } else {
            details.flag(.missingPseudoHeader)
        }
        return HTTPResponseHead(version: HTTPVersion(major: 2, minor: 0), status: status, reason: "", headers: fields)
    }

    private func startDataFrame(_ header: FrameHeader, side: Side, time: Timestamp) {
        guard let stream = streams[header.streamID] else { return }
        if stream.isClosed(on: side.direction) {
            stream.details.flag(.frameAfterStreamEnd)
            return
        }
        if side.direction == .clientToServer { stream.requestLast = time } else { stream.responseLast = time }
    }

    private func dataBytes(_ bytes: UnsafeRawBufferPointer, stream id: UInt32, side: Side) {
        if side.direction == .clientToServer { statistics.clientDataBytes += bytes.count } else { statistics.serverDataBytes += bytes.count }
        guard let stream = streams[id] else {
            statistics.dataBytesOnUnknownStreams += bytes.count
            return
        }
        guard !stream.isClosed(on: side.direction) else { return }
        if side.direction == .clientToServer {
            stream.requestBody.append(bytes, keep: configuration.keptBodyBytes)
            stream.details.requestDataBytes += bytes.count
        } else {
            stream.responseBody.append(bytes, keep: configuration.keptBodyBytes)
            stream.details.responseDataBytes += bytes.count
        }
    }

    private func finishDataFrame(_ id: UInt32, endStream: Bool, side: Side, time: Timestamp) {
        guard let stream = streams[id], !stream.isClosed(on: side.direction) else { return }
        if side.direction == .clientToServer {
            stream.requestLast = time
            if endStream { stream.requestEnded = true }
        } else {
            stream.responseLast = time
            if endStream { stream.responseEnded = true }
        }
        if endStream { checkDone(stream) }
    }

    private func reset(_ id: UInt32, code: UInt32, by direction: FlowDirection, time: Timestamp) {
        statistics.streamsReset += 1
        // Codes past HTTP_1_1_REQUIRED are counted under one key (0xFFFFFFFF): bounded by design.
        statistics.resetsByErrorCode[code <= 0xd ? code : UInt32.max, default: 0] += 1
        guard let stream = streams[id], !stream.wasReset else { return }
        stream.wasReset = true
        stream.details.flag(.streamReset)
        stream.details.resetErrorCode = code
        stream.details.resetBy = direction
        if direction == .clientToServer { stream.requestLast = time } else { stream.responseLast = time }
        checkDone(stream)
    }

    @discardableResult
    private func open(_ id: UInt32) -> Stream {
        let stream = Stream(id: id)
        streams[id] = stream
        order.append(id)
        statistics.streams += 1
        let opener = id % 2 == 1 ? 0 : 1
        highestOpened[opener] = max(highestOpened[opener], id)
        if order.count - orderHead > configuration.maxPendingRequests {
            // Too many open or waiting streams: the oldest goes out as it is.
            let oldest = order[orderHead]
            orderHead += 1
            if let evicted = streams.removeValue(forKey: oldest) {
                evicted.details.flag(.streamEvicted)
                statistics.streamsEvicted += 1
                emitStream(evicted)
            }
            emitReady()
        }
        return stream
    }

    private func checkDone(_ stream: Stream) {
        guard !stream.done else { return }
        if stream.wasReset || (stream.requestEnded && stream.responseEnded) {
            stream.done = true
            emitReady()
        }
    }

    private func emitReady() {
        while orderHead < order.count {
            let id = order[orderHead]
            if let stream = streams[id] {
                guard stream.done else { break }
                streams.removeValue(forKey: id)
                emitStream(stream)
            }
            orderHead += 1
        }
        if orderHead > 1024 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    private func emitStream(_ stream: Stream) {
        if recentlyEmittedOrder.count < Self.recentlyEmittedCap {
            recentlyEmittedOrder.append(stream.id)
        } else {
            recentlyEmitted.remove(recentlyEmittedOrder[recentlyEmittedNext])
            recentlyEmittedOrder[recentlyEmittedNext] = stream.id
            recentlyEmittedNext = (recentlyEmittedNext + 1) % Self.recentlyEmittedCap
        }
        recentlyEmitted.insert(stream.id)
        // The stream is done with: its heads and trailers are moved out, not copied, and the
        // messages are only moved on from here (each test of an optional message below reads
        // a flag: a comparison with nil copied the whole message, six times per exchange).
        let keep = configuration.keptBodyBytes
        var bodyTruncated = false
        // As HTTP/1 does: the kept prefix filled the cap and the body was longer.
        func truncated(_ body: HTTPBody) -> Bool { keep > 0 && body.isTruncated && body.kept.count >= keep }
        var request: HTTPRequest? = nil
        var hasRequest = true
        if let head = stream.requestHead.take() {
            let body = stream.requestBody.finish(codings: Self.codings(head.headers), keep: keep)
            bodyTruncated = truncated(body)
            request = HTTPRequest(head: head, body: body, trailers: stream.requestTrailers.take(),
                                  firstByte: stream.requestFirst ?? connection.firstSeen,
                                  lastByte: stream.requestLast ?? stream.requestFirst ?? connection.firstSeen)
        } else if let pushed = stream.request.take() {
            bodyTruncated = truncated(pushed.body)
            request = pushed
        } else {
            hasRequest = false
        }
        var response: HTTPResponse? = nil
        var hasResponse = false
        if let head = stream.responseHead.take() {
            hasResponse = true
            let body = stream.responseBody.finish(codings: Self.codings(head.headers), keep: keep)
            if truncated(body) { bodyTruncated = true }
            response = HTTPResponse(head: head, body: body, trailers: stream.responseTrailers.take(),
                                    firstByte: stream.responseFirst ?? connection.firstSeen,
                                    lastByte: stream.responseLast ?? stream.responseFirst ?? connection.firstSeen)
        }
        guard hasRequest || hasResponse else {
            statistics.streamsLost += 1
            return
        }
        var anomalies: [HTTPAnomaly] = []
        func flag(_ anomaly: HTTPAnomaly) { if !anomalies.contains(anomaly) { anomalies.append(anomaly) } }
        if !hasRequest { flag(.responseWithoutRequest) }
        if hasRequest && !hasResponse { flag(.requestWithoutResponse) }
        let completeResponse = hasResponse && stream.responseEnded
        if stream.requestHeadSeen && !stream.requestEnded && !(completeResponse && stream.wasReset) { flag(.incompleteMessage) }
        if hasResponse && !stream.responseEnded { flag(.incompleteMessage) }
        if stream.headerTooLarge { flag(.headerTooLarge) }
        for anomaly in stream.requestBody.anomalies + stream.responseBody.anomalies { flag(anomaly) }
        if bodyTruncated { flag(.bodyTruncated) }
        if let last = serverGoAwayLastStream, stream.id % 2 == 1, stream.id > last, !hasResponse {
            stream.details.flag(.refusedByGoAway)
        }
        // HTTP/2's own anomalies (reset, push, HPACK loss…) join the message ones on the exchange.
        for anomaly in stream.details.anomalies { flag(anomaly) }
        var exchange = HTTPExchange(connection: connection, index: nextIndex, request: request, interimResponses: stream.interim.take(),
                                    response: response, anomalies: anomalies, transport: transport, streamID: stream.id)
        if stream.details.resetErrorCode != nil || stream.details.promisedOn != nil {
            exchange.http2 = HTTP2StreamFacts(resetCode: stream.details.resetErrorCode.map(HTTP2ErrorCode.name),
                                              resetByClient: stream.details.resetBy.map { $0 == .clientToServer },
                                              promisedOn: stream.details.promisedOn)
        }
        nextIndex += 1
        statistics.exchanges += 1
        for anomaly in stream.details.anomalies { statistics.anomalies[anomaly, default: 0] += 1 }
        onStreamDetails?(exchange, stream.details)
        emit(exchange)
    }

    /// Both sides ended: every stream left goes out, in open order, with what is missing flagged.
    private func finish() {
        finished = true
        while orderHead < order.count {
            let id = order[orderHead]
            orderHead += 1
            if let stream = streams.removeValue(forKey: id) { emitStream(stream) }
        }
        order.removeAll()
        orderHead = 0
    }

    private func loseSync(_ side: Side, time: Timestamp) {
        if let block = side.block {
            side.block = nil
            abandon(block, side: side, time: time)
        }
        statistics.skippedBytes += side.carry.count
        side.carry.removeAll(keepingCapacity: true)
        side.hpackLost = true
        if case .preface = side.state { statistics.prefaceMissing = true }
        side.state = .resync
    }

    private static func codings(_ headers: HTTPHeaderFields) -> [String] {
        var codings: [String] = []
        for value in headers.values(named: "content-encoding") {
            for element in value.split(separator: ",") {
                let coding = element.trimmingCharacters(in: " \t").lowercased()
                if !coding.isEmpty { codings.append(coding) }
            }
        }
        return codings
    }
}

// MARK: - Per-side and per-stream state

/// The 9-byte frame header (RFC 9113 §4.1).
struct FrameHeader {
    var length: Int
    var type: UInt8
    var flags: UInt8
    var streamID: UInt32
    var reservedBit: Bool

    /// `buf` must hold 9 bytes at `p` (callers check).
    init(_ buf: UnsafeRawBufferPointer, at p: Int) {
        length = Int(buf[p]) << 16 | Int(buf[p + 1]) << 8 | Int(buf[p + 2])
        type = buf[p + 3]
        flags = buf[p + 4]
        let raw = FrameHeader.uint32(buf, at: p + 5)
        reservedBit = raw & 0x8000_0000 != 0
        streamID = raw & 0x7FFF_FFFF
    }

    static func uint32(_ buf: UnsafeRawBufferPointer, at p: Int) -> UInt32 {
        UInt32(buf[p]) << 24 | UInt32(buf[p + 1]) << 16 | UInt32(buf[p + 2]) << 8 | UInt32(buf[p + 3])
    }

    var carriesHeaderBlock: Bool {
        type == HTTP2FrameType.headers.rawValue || type == HTTP2FrameType.pushPromise.rawValue || type == HTTP2FrameType.continuation.rawValue
    }
}

/// A HEADERS or PUSH_PROMISE block being assembled from its CONTINUATIONs.
struct HeaderBlock {
    var streamID: UInt32
    /// Set for PUSH_PROMISE: the stream the promised request opens.
    var promisedID: UInt32?
    var endStream: Bool
    /// When the first frame of the block arrived.
    var time: Timestamp
    var bytes: [UInt8] = []
    /// Over the block cap: not kept, not decoded.
    var tooLarge = false

    init(streamID: UInt32, promisedID: UInt32?, endStream: Bool, time: Timestamp) {
        self.streamID = streamID
        self.promisedID = promisedID
        self.endStream = endStream
        self.time = time
    }
}

enum ReadState {
    /// Client side: expecting `PRI * HTTP/2.0…`.
    case preface
    /// At a frame boundary (`carry` may hold the start of a frame).
    case frames
    /// Inside a DATA frame: payload bytes, then padding.
    case data(stream: UInt32, remaining: Int, padding: Int, endStream: Bool)
    /// Payload bytes not read (a frame over the size limit, or one a gap damaged).
    case skip(remaining: Int)
    /// Frame boundaries lost: scanning for a plausible frame header.
    case resync
    case stopped
}

/// One direction of the connection: its frame reader and the HPACK decoder of its header blocks.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class Side {
    static let resyncWindow = 64 * 1024

    let direction: FlowDirection
    @exclusivity(unchecked) var state: ReadState
    @exclusivity(unchecked) var carry: [UInt8] = []
    @exclusivity(unchecked) var carryTime = Timestamp.zero
    @exclusivity(unchecked) var lastTime = Timestamp.zero
    @exclusivity(unchecked) var ended = false
    @exclusivity(unchecked) var block: HeaderBlock?
    /// SETTINGS_MAX_FRAME_SIZE announced by the other side: the largest frame this side may send.
    @exclusivity(unchecked) var maxFrameSize = 16_384
    @exclusivity(unchecked) var decoder = HPACKBlockDecoder()
    /// The context is lost: the next block starts a fresh table (see hpack-rebuild).
    @exclusivity(unchecked) var hpackLost = false
    /// Once lost, blocks are decoded with rebuilt tables (marked so) for the rest of the connection.
    @exclusivity(unchecked) var rebuilding = false
    /// The other side's SETTINGS this side has not acknowledged yet (their table size, if any).
    @exclusivity(unchecked) var settingsToAcknowledge: [Int?] = []

    init(direction: FlowDirection, state: ReadState) {
        self.direction = direction
        self.state = state
    }

    /// Sets the table maximum of this side's decoder (clamped to `maxHPACKTableSize`): a larger
    /// one always, a smaller one only when `shrinkNow` (the encoder acknowledged it).
    func setTableMaximum(_ size: Int, shrinkNow: Bool) {
        let size = min(max(0, size), HTTP2ConnectionAnalyzer.maxHPACKTableSize)
        let current = decoder.maxTableSize
        if size > current || (shrinkNow && size < current) { decoder.maxTableSize = size }
    }

    /// Called before each block; returns whether the block is decoded with a rebuilt table.
    func beginDecoding() -> Bool {
        if hpackLost {
            hpackLost = false
            rebuilding = true
            decoder = HPACKBlockDecoder(maxTableSize: max(decoder.maxTableSize, 4096), huffmanCache: decoder.huffmanCache)
        }
        return rebuilding
    }
}

/// Collects one body: exact wire counts, the kept prefix and, once the head named its
/// `content-encoding`, content decoding — through CorscopeHTTP's `BodyAccumulator`, as HTTP/1.
/// Bytes that come before any head (its HEADERS lost) are only counted and kept raw.
struct BodyCollector {
    private var accumulator: BodyAccumulator?
    private var raw = HTTPBody()
    private var rawAnomalies: [HTTPAnomaly] = []
    private var keepingStopped = false

    /// The head is known: decode what follows by its codings.
    mutating func start(codings: [String], configuration: HTTPConfiguration, keep: Int? = nil) {
        guard accumulator == nil, raw.wireLength == 0, raw.missingBytes == 0 else { return }
        accumulator = BodyAccumulator(contentEncoding: codings, configuration: configuration, keep: keep)
    }

    var anomalies: [HTTPAnomaly] { accumulator?.anomalies ?? rawAnomalies }

    mutating func append(_ bytes: UnsafeRawBufferPointer, keep: Int) {
        if accumulator != nil {
            accumulator!.append(bytes)
            return
        }
        raw.wireLength &+= bytes.count
        if !keepingStopped && raw.kept.count < keep {
            let take = min(bytes.count, keep - raw.kept.count)
            raw.kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<take]))
        }
    }

    mutating func noteGap(_ length: Int) {
        if accumulator != nil {
            accumulator!.noteGap(length)
            return
        }
        raw.missingBytes &+= length
        keepingStopped = true
        if !rawAnomalies.contains(.contentGap) { rawAnomalies.append(.contentGap) }
    }

    mutating func finish(codings: [String], keep: Int) -> HTTPBody {
        if accumulator != nil { return accumulator!.finish() }
        var finished = raw
        finished.contentEncoding = codings
        finished.isTruncated = finished.kept.count < finished.wireLength || finished.missingBytes > 0
        return finished
    }
}

extension HTTPHeaderFields {
    /// The fields, leaving none behind (moved out of a finished stream).
    mutating func take() -> HTTPHeaderFields {
        defer { self = HTTPHeaderFields() }
        return self
    }
}

extension Array {
    mutating func take() -> [Element] {
        defer { self = [] }
        return self
    }
}

/// One stream's story so far.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class Stream {
    let id: UInt32
    @exclusivity(unchecked) var details: HTTP2StreamDetails
    /// The h2c upgrade request (stream 1), given whole.
    @exclusivity(unchecked) var request: HTTPRequest?
    @exclusivity(unchecked) var requestHead: HTTPRequestHead?
    @exclusivity(unchecked) var requestHeadSeen = false
    @exclusivity(unchecked) var requestFirst: Timestamp?
    @exclusivity(unchecked) var requestLast: Timestamp?
    @exclusivity(unchecked) var requestBody = BodyCollector()
    @exclusivity(unchecked) var requestTrailers = HTTPHeaderFields()
    @exclusivity(unchecked) var requestEnded = false
    @exclusivity(unchecked) var interim: [HTTPResponseHead] = []
    @exclusivity(unchecked) var responseHead: HTTPResponseHead?
    @exclusivity(unchecked) var finalResponseSeen = false
    @exclusivity(unchecked) var responseFirst: Timestamp?
    @exclusivity(unchecked) var responseLast: Timestamp?
    @exclusivity(unchecked) var responseBody = BodyCollector()
    @exclusivity(unchecked) var responseTrailers = HTTPHeaderFields()
    @exclusivity(unchecked) var responseEnded = false
    @exclusivity(unchecked) var wasReset = false
    @exclusivity(unchecked) var headerTooLarge = false
    @exclusivity(unchecked) var done = false

    init(id: UInt32) {
        self.id = id
        details = HTTP2StreamDetails(streamID: id)
    }

    /// No more frames of `direction` belong to the stream (END_STREAM sent, or reset).
    func isClosed(on direction: FlowDirection) -> Bool {
        wasReset || (direction == .clientToServer ? requestEnded : responseEnded)
    }

    func noteGap(_ length: Int, on direction: FlowDirection) {
        if direction == .clientToServer { requestBody.noteGap(length) } else { responseBody.noteGap(length) }
    }
}

import CorscopeCapture
import CorscopeReassembly

/// A protocol oddity seen while parsing: recorded on the exchange (like Zeek's weird.log),
/// never thrown, so the rest of the stream is still analysed.
public enum HTTPAnomaly: String, Sendable, Hashable, CaseIterable, Codable {
    /// A line ended in LF without CR.
    case bareLineFeed = "bare_lf"
    /// A header value continued on the next line (RFC 9112 §5.2 obs-fold).
    case obsoleteLineFolding = "obs_fold"
    /// Whitespace between a field name and the colon.
    case whitespaceBeforeColon = "space_before_colon"
    /// A header line without a colon, or with an empty name; kept out of the fields.
    case malformedHeaderLine = "malformed_header_line"
    /// Header bytes that are not valid UTF-8 (kept byte-exact; shown as ISO-8859-1).
    case nonUTF8HeaderBytes = "non_utf8_header_bytes"
    case invalidRequestLine = "invalid_request_line"
    case invalidStatusLine = "invalid_status_line"
    /// The head exceeded the header byte or field-count cap; the rest of the stream is skipped.
    case headerTooLarge = "header_too_large"
    /// Several Content-Length fields with different values, or a value that is not a number.
    case invalidContentLength = "invalid_content_length"
    /// Both Transfer-Encoding and Content-Length (a request-smuggling signal).
    case contentLengthWithTransferEncoding = "content_length_with_transfer_encoding"
    /// A Transfer-Encoding that does not end in chunked.
    case unsupportedTransferEncoding = "unsupported_transfer_encoding"
    case invalidChunkSize = "invalid_chunk_size"
    /// A chunk's data was not followed by CRLF.
    case malformedChunkTerminator = "malformed_chunk_terminator"
    /// Bytes of this message were never captured (a TCP gap inside it).
    case contentGap = "content_gap"
    /// A gap cut the message head or framing; parsing resumed at the next message start found.
    case messageInterruptedByGap = "message_interrupted_by_gap"
    /// Bytes that could not be parsed as HTTP were skipped while looking for a message start.
    case skippedUnparsableBytes = "skipped_unparsable_bytes"
    /// A response whose request was not captured.
    case responseWithoutRequest = "response_without_request"
    /// A request that got no response before the connection ended.
    case requestWithoutResponse = "request_without_response"
    /// The stream ended before the message was complete.
    case incompleteMessage = "incomplete_message"
    /// The body was longer than the kept-body cap; counts are still exact.
    case bodyTruncated = "body_truncated"
    /// Content-Encoding could not be decoded (corrupt data or an unknown coding).
    case contentDecodingFailed = "content_decoding_failed"
    /// Decoding stopped at the decompression cap (a possible decompression bomb).
    case decompressionCapReached = "decompression_cap_reached"
    /// `Content-Encoding: deflate` was raw deflate instead of zlib-wrapped.
    case rawDeflate = "raw_deflate"
    /// 101 Switching Protocols (e.g. WebSocket), or the HTTP/2 preface (`PRI * HTTP/2.0`): the
    /// rest of the connection is not HTTP/1.
    case protocolSwitched = "protocol_switched"
    /// A successful CONNECT: the rest of the connection is a tunnel.
    case tunnelEstablished = "tunnel_established"
    /// A message after one that said `Connection: close` (on the same side).
    case dataAfterClose = "data_after_close"
    /// More than one interim (1xx) response before the final one.
    case multipleInterimResponses = "multiple_interim_responses"
    /// The first bytes of a direction were not a message start (capture began mid-stream).
    case midstreamStart = "midstream_start"
    /// Bytes were lost outside a body before this response (client side: a request may be
    /// missing; server side: a response may be), so the request it is paired with (and whether
    /// it may have a body, e.g. after a lost HEAD) is a best guess.
    case responseFramingUncertain = "response_framing_uncertain"
    /// The request was still waiting for its response when the pending-request budget (per
    /// connection or over all connections) ran out; it is reported without one, and a later
    /// response on its connection may be paired with the wrong request.
    case pendingRequestEvicted = "pending_request_evicted"

    // HTTP/2 (the analyzer in Sources/CorscopeHTTP2 names them the same way).
    /// RST_STREAM ended the stream; reset before its response, the exchange has none.
    case streamReset = "stream_reset"
    /// A header block of this stream could not be decoded (HPACK context lost after a gap, a
    /// decoding error, a block cut short): that side's head is missing.
    case hpackContextLost = "hpack_context_lost"
    /// Decoded with an HPACK table rebuilt after a loss (exact: blocks that need an entry from
    /// before the loss are not used).
    case decodedAfterHPACKReset = "decoded_after_hpack_reset"
    /// More streams were open than the per-connection cap: emitted before it ended.
    case streamEvicted = "stream_evicted"
    /// The request came from the server's PUSH_PROMISE, not from the client.
    case serverPush = "server_push"
    /// The stream's id is above the last one a GOAWAY let through: not processed by the server.
    case refusedByGoAway = "refused_by_goaway"
    /// A frame was larger than the SETTINGS_MAX_FRAME_SIZE its receiver announced.
    case frameTooLarge = "frame_too_large"
    /// A frame broke HTTP/2 framing rules (padding, CONTINUATION order).
    case malformedFrame = "malformed_frame"
    /// Frames arrived after the stream was reset or had ended on that side.
    case frameAfterStreamEnd = "frame_after_stream_end"
    /// `:method`, `:path` or `:status` was missing.
    case missingPseudoHeader = "missing_pseudo_header"
}

public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8
    public init(major: UInt8, minor: UInt8) { self.major = major; self.minor = minor }
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String {
        switch (major, minor) {
        case (1, 1): return "HTTP/1.1"
        case (1, 0): return "HTTP/1.0"
        default: return "HTTP/\(major).\(minor)"
        }
    }
}

public struct HTTPRequestHead: Sendable, Hashable {
    /// Case kept as sent: `patch` is not `PATCH` (CORS compares methods case-sensitively).
    public var method: String
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaderFields

    public init(method: String, target: String, version: HTTPVersion, headers: HTTPHeaderFields) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }
}

public struct HTTPResponseHead: Sendable, Hashable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaderFields

    public init(version: HTTPVersion, status: Int, reason: String, headers: HTTPHeaderFields) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }
}

/// A message body as framed on the wire and, when it had a Content-Encoding, decoded.
public struct HTTPBody: Sendable, Hashable {
    /// Body bytes on the wire after transfer decoding (de-chunked), before content decoding.
    public var wireLength: Int = 0
    /// Bytes after content decoding, when a Content-Encoding was decoded (nil otherwise).
    public var decodedLength: Int?
    /// The Content-Encoding codings, in the order they were applied.
    public var contentEncoding: [String] = []
    /// The first bytes of the (decoded when possible) body, up to the kept-body cap.
    public var kept: [UInt8] = []
    /// `kept` holds less than the whole body.
    public var isTruncated: Bool = false
    /// Bytes of the body that were never captured.
    public var missingBytes: Int = 0

    public init() {}
}

public struct HTTPRequest: Sendable, Hashable {
    public var head: HTTPRequestHead
    public var body: HTTPBody
    public var trailers: HTTPHeaderFields
    public var firstByte: Timestamp
    public var lastByte: Timestamp

    public init(head: HTTPRequestHead, body: HTTPBody = HTTPBody(), trailers: HTTPHeaderFields = HTTPHeaderFields(), firstByte: Timestamp, lastByte: Timestamp) {
        self.head = head
        self.body = body
        self.trailers = trailers
        self.firstByte = firstByte
        self.lastByte = lastByte
    }
}

public struct HTTPResponse: Sendable, Hashable {
    public var head: HTTPResponseHead
    public var body: HTTPBody
    public var trailers: HTTPHeaderFields
    public var firstByte: Timestamp
    public var lastByte: Timestamp

    public init(head: HTTPResponseHead, body: HTTPBody = HTTPBody(), trailers: HTTPHeaderFields = HTTPHeaderFields(), firstByte: Timestamp, lastByte: Timestamp) {
        self.head = head
        self.body = body
        self.trailers = trailers
        self.firstByte = firstByte
        self.lastByte = lastByte
    }
}

/// Which tool wrote a HAR file: each shows the browser's traffic its own way.
public enum HARDialect: String, Sendable, Hashable, CaseIterable {
    /// Chrome or Edge DevTools ("WebInspector"): `_resourceType`, `_initiator`; an entry whose
    /// headers DevTools did not get as sent (no extra-info event) shows only the provisional
    /// ones, without `Host`, `Cookie` or `Origin`; Chrome ≥ 130 strips credentials by default.
    case chromeDevTools = "chrome-devtools"
    /// chrome-har (sitespeed.io, browsertime, pagexray): built from DevTools protocol events,
    /// with provisional headers where no extra-info event came; `_initiator` as a URL string.
    case chromeHAR = "chrome-har"
    /// Another recorder of Chromium's DevTools protocol events (`log.browser` is Chrome/Chromium).
    case chromiumProtocol = "chromium-protocol"
    /// WebPageTest: the wire's headers, start lines mixed into the header list.
    case webPageTest = "webpagetest"
    /// Firefox DevTools: the wire's headers; `connection` is the server port.
    case firefox
    /// Safari's Web Inspector ("WebKit Web Inspector").
    case safari
    case internetExplorer = "internet-explorer"
    /// Proxies: they saw the wire, so their headers are the ones sent.
    case charles
    case mitmproxy
    case fiddler
    case proxyman
    case other

    /// Recognised from `log.creator` (and `log.browser` for protocol recorders).
    public init(creator: String?, browser: String?) {
        let name = (creator ?? "").lowercased()
        if name.contains("webkit") { self = .safari }
        else if name.contains("webinspector") || name.contains("devtools") { self = .chromeDevTools }
        else if name.contains("chrome-har") { self = .chromeHAR }
        else if name.contains("webpagetest") { self = .webPageTest }
        else if name.contains("firefox") { self = .firefox }
        else if name.contains("internet explorer") { self = .internetExplorer }
        else if name.contains("charles") { self = .charles }
        else if name.contains("mitmproxy") { self = .mitmproxy }
        else if name.contains("fiddler") { self = .fiddler }
        else if name.contains("proxyman") { self = .proxyman }
        else if (browser ?? "").lowercased().contains("chrom") { self = .chromiumProtocol }
        else { self = .other }
    }

    /// Whether an entry may show the headers the browser had before sending (Chrome's
    /// "provisional headers") instead of the wire's.
    public var mayShowProvisionalHeaders: Bool {
        self == .chromeDevTools || self == .chromeHAR || self == .chromiumProtocol
    }
}

/// A header restored because the input could not show it, with the reason.
public struct InferredHeader: Sendable, Hashable {
    public var name: String
    public var because: String

    public init(name: String, because: String) {
        self.name = name
        self.because = because
    }
}

/// What a HAR file says about an entry beyond the HTTP messages: the browser's own evidence
/// (Chrome's `_resourceType`, `_initiator`, `_error`, cookies arrays) that the rule engine uses.
public struct HAREvidence: Sendable, Hashable {
    /// The HAR file and the entry's position in `log.entries`, from 0.
    public var file: String
    public var entryIndex: Int
    /// The request's full URL (`request.url`).
    public var url: String
    public var pageref: String?
    /// The URL of the page the entry belongs to (`log.pages[].title` when it is a URL, or the
    /// initiator's URL), when known.
    public var pageURL: String?
    /// Chrome's `_resourceType` (`fetch`, `xhr`, `preflight`, `document`, …).
    public var resourceType: String?
    /// Chrome's `_initiator.type` (`script`, `parser`, `preflight`, …) and its URL.
    public var initiatorType: String?
    public var initiatorURL: String?
    /// The browser's error for the entry (`_error`, e.g. `net::ERR_FAILED`), or a status of 0.
    public var error: String?
    /// `serverIPAddress` and the port from the URL.
    public var serverAddress: String?
    /// Names of the cookies the HAR lists for the request (`request.cookies`).
    public var requestCookieNames: [String]
    /// The export stripped `Cookie`/`Authorization`/`Set-Cookie` (Chrome ≥ 130 by default): the
    /// credentials mode becomes a stated guess.
    public var isSanitized: Bool
    /// The tool that wrote the HAR (`log.creator.name` and `version`).
    public var creator: String?
    /// The tool that wrote the HAR, as far as `log.creator`/`log.browser` tell.
    public var dialect: HARDialect = .other
    /// Chrome's `_fromCache` (`memory` or `disk`): the browser answered the entry from its own
    /// HTTP cache, so nothing went on the wire for it.
    public var fromCache: String? = nil
    /// Request headers that the HAR does not show but the browser certainly sent, restored for
    /// the rules (appended after the HAR's own fields) and marked as inferred in every output.
    public var inferredRequestHeaders: [InferredHeader] = []

    public init(file: String, entryIndex: Int, url: String, pageref: String? = nil, pageURL: String? = nil,
                resourceType: String? = nil, initiatorType: String? = nil, initiatorURL: String? = nil,
                error: String? = nil, serverAddress: String? = nil, requestCookieNames: [String] = [],
                isSanitized: Bool = false, creator: String? = nil) {
        self.file = file
        self.entryIndex = entryIndex
        self.url = url
        self.pageref = pageref
        self.pageURL = pageURL
        self.resourceType = resourceType
        self.initiatorType = initiatorType
        self.initiatorURL = initiatorURL
        self.error = error
        self.serverAddress = serverAddress
        self.requestCookieNames = requestCookieNames
        self.isSanitized = isSanitized
        self.creator = creator
    }
}

/// One request and its response on one connection. Either side may be missing: a response
/// whose request was not captured is still reported.
///
/// Exchanges read from a HAR file carry `har`; their `connection` is synthetic (one per HAR
/// connection id, or per entry) and its endpoints are placeholders: outputs print them as null.
///
/// A value type with its fields in one shared, copy-on-write box: every stage after the parser
/// copies exchanges (batches, verdicts, pairing, report examples), and a copy is then one
/// reference instead of some twenty.
public struct HTTPExchange: Sendable {
    /// Immutable: reads of `let` fields need no exclusivity bookkeeping, and exchanges are read
    /// far more often than changed (a change builds a new box).
    ///
    /// One exception: `connection` is changed in place when no other exchange shares the box (a
    /// sharded read renumbers the connection of every exchange it merges); unchecked, as a box
    /// shared by nobody is touched by one thread.
    private final class Storage: @unchecked Sendable {
        @exclusivity(unchecked) var connection: ConnectionInfo
        let har: HAREvidence?
        let index: Int
        let request: HTTPRequest?
        let interimResponses: [HTTPResponseHead]
        let response: HTTPResponse?
        let anomalies: [HTTPAnomaly]
        let transport: HTTPTransport
        let streamID: UInt32?
        let http2: HTTP2StreamFacts?

        init(connection: ConnectionInfo, har: HAREvidence?, index: Int, request: HTTPRequest?, interimResponses: [HTTPResponseHead], response: HTTPResponse?, anomalies: [HTTPAnomaly], transport: HTTPTransport, streamID: UInt32?, http2: HTTP2StreamFacts?) {
            self.connection = connection
            self.har = har
            self.index = index
            self.request = request
            self.interimResponses = interimResponses
            self.response = response
            self.anomalies = anomalies
            self.transport = transport
            self.streamID = streamID
            self.http2 = http2
        }
    }

    private var storage: Storage

    public var connection: ConnectionInfo {
        _read { yield storage.connection }
        _modify {
            if isKnownUniquelyReferenced(&storage) {
                yield &storage.connection
                return
            }
            var value = storage.connection
            yield &value
            storage = Storage(connection: value, har: storage.har, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    /// Set for exchanges read from a HAR file.
    public var har: HAREvidence? {
        _read { yield storage.har }
        _modify {
            var value = storage.har
            yield &value
            storage = Storage(connection: storage.connection, har: value, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    /// Position of this exchange on its connection, from 0.
    public var index: Int {
        _read { yield storage.index }
        _modify {
            var value = storage.index
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: value, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    public var request: HTTPRequest? {
        _read { yield storage.request }
        _modify {
            var value = storage.request
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: value, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    /// Interim (1xx) responses that came before the final one, e.g. `100 Continue`.
    public var interimResponses: [HTTPResponseHead] {
        _read { yield storage.interimResponses }
        _modify {
            var value = storage.interimResponses
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: storage.request, interimResponses: value, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    public var response: HTTPResponse? {
        _read { yield storage.response }
        _modify {
            var value = storage.response
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: value, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    /// Anomalies in the order first seen, each once.
    public var anomalies: [HTTPAnomaly] {
        _read { yield storage.anomalies }
        _modify {
            var value = storage.anomalies
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: value, transport: storage.transport, streamID: storage.streamID, http2: storage.http2)
        }
    }

    /// TLS or plain, HTTP/1.x or HTTP/2 (`HTTPTransport.plain` for HAR entries: their URL says).
    public var transport: HTTPTransport {
        _read { yield storage.transport }
        _modify {
            var value = storage.transport
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: value, streamID: storage.streamID, http2: storage.http2)
        }
    }

    /// The HTTP/2 stream the exchange travelled on; nil for HTTP/1.x.
    public var streamID: UInt32? {
        _read { yield storage.streamID }
        _modify {
            var value = storage.streamID
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: value, http2: storage.http2)
        }
    }

    /// HTTP/2's facts about the stream (reset code, pushed-by), when there are any.
    public var http2: HTTP2StreamFacts? {
        _read { yield storage.http2 }
        _modify {
            var value = storage.http2
            yield &value
            storage = Storage(connection: storage.connection, har: storage.har, index: storage.index, request: storage.request, interimResponses: storage.interimResponses, response: storage.response, anomalies: storage.anomalies, transport: storage.transport, streamID: storage.streamID, http2: value)
        }
    }

    // Projections that copy one field instead of the whole request or response: reading
    // `exchange.request?.head` copies the request first (bodies and trailers included).

    public var requestHead: HTTPRequestHead? { storage.request?.head }
    public var responseHead: HTTPResponseHead? { storage.response?.head }
    public var requestFirstByte: Timestamp? { storage.request?.firstByte }
    public var requestLastByte: Timestamp? { storage.request?.lastByte }
    public var responseFirstByte: Timestamp? { storage.response?.firstByte }
    public var responseLastByte: Timestamp? { storage.response?.lastByte }
    /// Field and body byte counts of each message, for statistics.
    public struct MessageSizes: Sendable {
        public var fields: Int
        public var bodyBytes: Int
        public var decodedBodyBytes: Int
    }

    public var requestSizes: MessageSizes? {
        guard let request = storage.request else { return nil }
        return MessageSizes(fields: request.head.headers.count + request.trailers.count, bodyBytes: request.body.wireLength,
                            decodedBodyBytes: request.body.decodedLength ?? request.body.wireLength)
    }

    public var responseSizes: MessageSizes? {
        guard let response = storage.response else { return nil }
        return MessageSizes(fields: response.head.headers.count + response.trailers.count, bodyBytes: response.body.wireLength,
                            decodedBodyBytes: response.body.decodedLength ?? response.body.wireLength)
    }

    public var isFromHAR: Bool {
        if case .some = storage.har { return true }
        return false
    }

    public init(connection: ConnectionInfo, index: Int, request: HTTPRequest?, interimResponses: [HTTPResponseHead] = [], response: HTTPResponse?,
                anomalies: [HTTPAnomaly] = [], har: HAREvidence? = nil, transport: HTTPTransport = .plain, streamID: UInt32? = nil) {
        storage = Storage(connection: connection, har: har, index: index, request: request,
                          interimResponses: interimResponses, response: response, anomalies: anomalies,
                          transport: transport, streamID: streamID, http2: nil)
    }

    public mutating func flag(_ anomaly: HTTPAnomaly) { anomalies.appendOnce(anomaly) }

    /// When the exchange began: its request's first byte, else its response's, else the
    /// connection's first packet.
    public var startTime: Timestamp { requestFirstByte ?? responseFirstByte ?? connection.firstSeen }

    /// `"<connection>.<index>"`, or `"<connection>.s<stream>"` for HTTP/2: unique within one run.
    public var id: String {
        if let streamID { return "\(connection.id).s\(streamID)" }
        return "\(connection.id).\(index)"
    }

    /// The host (and port) the request was for: HTTP/2's `:authority`, else `Host`, else the
    /// server's address. The one place that derives it.
    public var requestAuthority: String? {
        if let har = storage.har { return HTTPURL.authority(of: har.url) }
        guard let head = storage.request?.head else { return nil }
        if let absolute = HTTPURL.authority(of: head.target) { return absolute }
        return head.headers.first(named: ":authority") ?? head.headers.first(named: "Host") ?? storage.connection.server.description
    }

    /// The request URL's scheme, lower-cased (`http`, `https`, `ws`, `wss`): a HAR entry's or an
    /// absolute-form target's own, else the transport's (`https` when decrypted from TLS). No URL
    /// is built for it.
    public var requestScheme: String {
        let absolute = storage.har?.url ?? storage.request.flatMap { $0.head.target.hasPrefix("/") ? nil : $0.head.target }
        guard let url = absolute, let end = url.utf8.prefix(6).firstIndex(of: UInt8(ascii: ":")),
              url.utf8[end...].starts(with: "://".utf8) else { return storage.transport.scheme }
        return String(url[..<end]).lowercased()  // `*` and a CONNECT's host:port fall back above
    }

    /// The request's absolute URL: a HAR entry's own; an absolute-form target as sent; else the
    /// transport's scheme (`https` when decrypted from TLS), the authority and the target. The
    /// one place that derives it.
    public var requestURL: String? {
        if let har = storage.har { return har.url }
        guard let head = storage.request?.head else { return nil }
        if HTTPURL.authority(of: head.target) != nil { return head.target }
        let authority = head.headers.first(named: ":authority") ?? head.headers.first(named: "Host") ?? storage.connection.server.description
        let path = head.target.hasPrefix("/") ? head.target : "/" + head.target
        return storage.transport.scheme + "://" + authority + path
    }

    /// Bytes of either message that were never captured.
    public var missingBytes: Int { (request?.body.missingBytes ?? 0) + (response?.body.missingBytes ?? 0) }
}

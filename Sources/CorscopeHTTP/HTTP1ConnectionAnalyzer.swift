import CorscopeCapture
import CorscopeReassembly

/// Turns the two byte streams of one TCP connection into `HTTPExchange`s.
///
/// One incremental parser runs per direction; a FIFO of request heads pairs each final
/// response with its request and tells the response parser whether a body can follow (HEAD,
/// CONNECT). Exchanges are emitted in order, numbered 0, 1, 2… per connection, as soon as the
/// response (and its request) is complete; what is left is emitted once both directions end
/// (`request_without_response`; a response with no captured request has `request == nil`
/// and `response_without_request`).
///
/// ```swift
/// let analyzer = HTTP1ConnectionAnalyzer(connection: info) { exchange in report(exchange) }
/// assembler.handler = analyzer   // receive / gap / end, per direction
/// totals += analyzer.statistics
/// ```
///
/// ### Framing (RFC 9112 §6.3)
/// * No body: responses to HEAD, 1xx, 204, 304; 2xx to CONNECT is a tunnel
///   (`tunnel_established`, both directions stop). 1xx other than 101 are interim responses.
/// * Transfer-Encoding wins over Content-Length; both present is flagged
///   (`content_length_with_transfer_encoding`). A final coding other than chunked reads
///   until close (`unsupported_transfer_encoding`).
/// * Repeated or list-valued Content-Length values that agree are one value; disagreeing or
///   non-numeric ones are flagged `invalid_content_length` and then mean "no body" for a
///   request (resync skips any body bytes that follow) and "until close" for a response.
/// * A response without either reads until the connection closes.
///
/// ### Gaps, resync and mid-stream starts
/// * A gap inside a Content-Length or chunk-data body is counted in `HTTPBody.missingBytes`
///   (`content_gap`) and parsing continues. So is a gap inside a close-delimited body: its
///   end is the connection close, which a hole cannot move, and resyncing inside it could
///   only find false message starts in the body text.
/// * A gap anywhere else (head, chunk framing, between messages) ends the message in
///   progress (`message_interrupted_by_gap`; a head cut short still reports its complete
///   lines) and the parser scans for the next plausible start line: `METHOD SP target SP
///   HTTP/1.x` with an upper-case token method, or `HTTP/1.x NNN`. Bytes skipped on the way
///   are counted (`skipped_unparsable_bytes` on the next message). A direction whose first
///   bytes are not a message start is handled the same way (`midstream_start`).
/// * After a client-side gap outside a body, whole requests may be lost, so later responses
///   may pair with the wrong request and a lost HEAD/CONNECT makes response framing a guess.
///   Those exchanges carry `response_framing_uncertain` until every captured request is
///   answered; if a guessed framing was wrong, the response parser's resync recovers.
///
/// ### Protocol switches and caps
/// * A request with `Upgrade` (or CONNECT) pauses the client parser, holding its next bytes,
///   until the response decides: 101 (`protocol_switched`) or 2xx to CONNECT stops both
///   parsers and counts the rest as non-HTTP bytes; any other response resumes parsing of
///   the held bytes.
/// * `onProtocolSwitch` may take the connection over after a 101 (an `h2c` upgrade to the HTTP/2
///   analyzer): the upgrade exchange is then the new handler's (not emitted here), and every
///   later byte of both directions — the client bytes held since the upgrade request, the
///   server bytes after the 101 head — goes to that handler, gaps and ends too. When it returns
///   nil (WebSocket, anything it does not analyse), the switch is handled as above.
/// * A head over `maxHeadBytes` or `maxHeaderFields` is reported with the lines that fit
///   (`header_too_large`) and the rest of that direction is skipped and counted.
/// * Memory per connection is bounded by the caps: held bytes ≤ head cap + one segment per
///   direction, kept body bytes, at most `maxPendingRequests` waiting requests, 16 interim
///   responses per exchange. Over all the connections sharing a `PendingRequestBudget`,
///   waiting complete requests are capped in count and bytes; past the cap the oldest of them
///   is emitted without a response (`pending_request_evicted`, `request_without_response`).
///
/// Not thread-safe: feed one connection from one thread.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class HTTP1ConnectionAnalyzer: TCPStreamHandler {
    public let connection: ConnectionInfo
    public let configuration: HTTPConfiguration
    private let emit: (HTTPExchange) -> Void

    @exclusivity(unchecked) private var requestParser: HTTP1MessageParser<HTTP1ConnectionAnalyzer>!
    @exclusivity(unchecked) private var responseParser: HTTP1MessageParser<HTTP1ConnectionAnalyzer>!
    @exclusivity(unchecked) private var queue = RequestQueue()
    @exclusivity(unchecked) private var pendingInterim: [HTTPResponseHead] = []
    @exclusivity(unchecked) private var pendingInterimAnomalies: [HTTPAnomaly] = []
    @exclusivity(unchecked) private var nextIndex = 0
    @exclusivity(unchecked) private var clientEnded = false
    @exclusivity(unchecked) private var serverEnded = false
    @exclusivity(unchecked) private var finished = false
    /// A gap outside a body may have swallowed requests or responses (see the type comment):
    /// final responses from this ordinal on may be paired with the wrong request.
    @exclusivity(unchecked) private var uncertainFromResponse: Int? = nil
    @exclusivity(unchecked) private var requestHeadsAnnounced = 0
    /// A request or response said `Connection: close`: a later message from the same side
    /// is data after close (RFC 9112 §9.6).
    @exclusivity(unchecked) private var clientSaidClose = false
    @exclusivity(unchecked) private var serverSaidClose = false
    @exclusivity(unchecked) private var finalResponses = 0
    @exclusivity(unchecked) private var requestCount = 0
    @exclusivity(unchecked) private var responseCount = 0
    /// Shared with the other connections of the pipeline (or this connection's own).
    public let budget: PendingRequestBudget
    @exclusivity(unchecked) private var owner: PendingRequestOwner!
    /// What this connection has counted in `budget` so far.
    @exclusivity(unchecked) private var budgetCount = 0
    @exclusivity(unchecked) private var budgetBytes = 0
    @exclusivity(unchecked) private var pendingRequestsEvicted = 0

    /// Asked once per `101 Switching Protocols` whose request is known (and complete): return a
    /// handler to hand the rest of the connection to (for `Upgrade: h2c`, an HTTP/2 analyzer
    /// built with the request and the 101), or nil to flag `protocol_switched` and stop as
    /// before. `isH2CUpgrade(request:response:)` tells the h2c case.
    @exclusivity(unchecked) public var onProtocolSwitch: ((_ request: HTTPRequest, _ response: HTTPResponseHead) -> (any TCPStreamHandler)?)?
    /// The handler the connection was handed to, once `onProtocolSwitch` returned one.
    @exclusivity(unchecked) public private(set) var protocolSwitchHandler: (any TCPStreamHandler)?

    /// Whether a 101 switched the connection to HTTP/2 cleartext (RFC 7540 §3.2): the request
    /// asked for `Upgrade: h2c` and the response names `h2c` in its `Upgrade`.
    public static func isH2CUpgrade(request: HTTPRequest, response: HTTPResponseHead) -> Bool {
        response.status == 101
            && request.head.headers.listContains("h2c", inFieldsNamed: "Upgrade")
            && response.headers.listContains("h2c", inFieldsNamed: "Upgrade")
    }

    /// - Parameters:
    ///   - connection: The connection the bytes belong to; copied into every exchange.
    ///   - configuration: Caps and decoding switches.
    ///   - budget: The pending-request budget shared by every connection of one pipeline; nil:
    ///     one of this connection's own, with the configuration's caps.
    ///   - emit: Called synchronously, in index order, for every exchange. (An eviction by the
    ///     shared budget emits this connection's oldest waiting request while another
    ///     connection's bytes are being analysed.)
    public init(connection: ConnectionInfo, configuration: HTTPConfiguration = .init(), budget: PendingRequestBudget? = nil,
                emit: @escaping (HTTPExchange) -> Void) {
        self.connection = connection
        self.configuration = configuration
        self.budget = budget ?? PendingRequestBudget(configuration: configuration)
        self.emit = emit
        requestParser = HTTP1MessageParser(role: .request, configuration: configuration, delegate: self)
        responseParser = HTTP1MessageParser(role: .response, configuration: configuration, delegate: self)
        owner = PendingRequestOwner(self)
    }

    deinit {
        budget.adjust(count: -budgetCount, bytes: -budgetBytes)
    }

    /// Counters so far for this connection.
    public var statistics: HTTPStreamStatistics {
        var s = HTTPStreamStatistics()
        s.requestBytesParsed = requestParser.bytesParsed
        s.responseBytesParsed = responseParser.bytesParsed
        s.skippedBytes = requestParser.skippedBytes + responseParser.skippedBytes
        s.gapBytes = requestParser.gapBytes + responseParser.gapBytes
        s.headerFields = requestParser.headerFields + responseParser.headerFields
        s.bodyWireBytes = requestParser.bodyWireBytes + responseParser.bodyWireBytes
        s.requests = requestCount
        s.responses = responseCount
        s.exchanges = nextIndex
        s.pendingRequestsEvicted = pendingRequestsEvicted
        return s
    }

    /// Bytes currently buffered by the parsers (partial heads, held bytes), for memory
    /// accounting; bounded by `maxHeadBytes` plus one segment per direction.
    public var heldBytes: Int { requestParser.heldBytes + responseParser.heldBytes }

    // MARK: TCPStreamHandler

    public func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        if let handler = protocolSwitchHandler {
            handler.receive(data, direction: direction, time: time)
            return
        }
        parser(for: direction).receive(data, time: time)
        budget.enforce()
    }

    public func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        if let handler = protocolSwitchHandler {
            handler.gap(length: length, direction: direction, time: time)
            return
        }
        parser(for: direction).gap(length: length, time: time)
        budget.enforce()
    }

    public func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        guard !finished else { return }
        if let handler = protocolSwitchHandler {
            let ended = direction == .clientToServer ? clientEnded : serverEnded
            if !ended { handler.end(direction: direction, time: time, reason: reason) }
        }
        parser(for: direction).end(time: time)
        if direction == .clientToServer { clientEnded = true } else { serverEnded = true }
        if clientEnded && serverEnded { finish(time: time) }
        syncBudget()
        budget.enforce()
    }

    // MARK: Pending-request budget

    /// Brings the shared budget up to date with this connection's queue.
    private func syncBudget() {
        let count = queue.chargedCount, bytes = queue.chargedBytes
        if count != budgetCount || bytes != budgetBytes {
            budget.adjust(count: count - budgetCount, bytes: bytes - budgetBytes)
            budgetCount = count
            budgetBytes = bytes
        }
    }

    func holdsPendingRequest(serial: Int) -> Bool { queue.holdsCompleted(serial: serial) }

    /// The budget ran out and this connection holds the oldest waiting request (`serial`):
    /// report it without a response. Returns false when it is no longer waiting.
    func evictPendingRequest(serial: Int) -> Bool {
        guard !finished, queue.holdsCompleted(serial: serial), queue.frontIsCompleteRequest,
              var oldest = queue.popOldest() else { return false }
        // Its response, if it ever comes, will be paired with the next request.
        if oldest.response == nil { oldest.anomalies.appendOnce(.requestWithoutResponse) }
        oldest.anomalies.appendOnce(.pendingRequestEvicted)
        if uncertainFromResponse == nil { uncertainFromResponse = finalResponses }
        pendingRequestsEvicted += 1
        syncBudget()
        emitExchange(oldest)
        emitReady()
        syncBudget()
        return true
    }

    @inline(__always)
    private func parser(for direction: FlowDirection) -> HTTP1MessageParser<HTTP1ConnectionAnalyzer> {
        direction == .clientToServer ? requestParser : responseParser
    }

    // MARK: Pairing

    private func emitReady() {
        while let ready = queue.popReadyFront() { emitExchange(ready) }
    }

    private func emitExchange(_ pending: consuming PendingExchange) {
        // Taken out of the pending exchange: moved, not copied.
        var pending = pending
        emitExchange(request: pending.request.take(), interim: pending.interimResponses, response: pending.response.take(), anomalies: pending.anomalies)
    }

    private func emitExchange(request: consuming HTTPRequest?, interim: [HTTPResponseHead], response: consuming HTTPResponse?, anomalies: [HTTPAnomaly]) {
        var exchange = HTTPExchange(
            connection: connection, index: nextIndex, request: request,
            interimResponses: interim, response: response, anomalies: anomalies)
        if interim.count > 1 { exchange.flag(.multipleInterimResponses) }
        nextIndex += 1
        emit(exchange)
    }

    /// Both directions ended: finish held bytes and emit everything left.
    private func finish(time: Timestamp) {
        if requestParser.isPaused {
            // No response decided the switch; the held bytes are most likely more HTTP. Each
            // new pause needs a whole upgrade request parsed, so this loop always ends.
            while requestParser.isPaused { requestParser.resume(time: time) }
            requestParser.end(time: time)
        }
        finished = true
        var rest = queue.popAll()
        if !pendingInterim.isEmpty {
            if let i = rest.firstIndex(where: { $0.response == nil }) {
                rest[i].interimResponses += pendingInterim
            } else {
                var orphan = PendingExchange(methodKind: RequestMethodKind(), request: nil, requestDone: true)
                orphan.interimResponses = pendingInterim
                orphan.anomalies = [.responseWithoutRequest]
                rest.append(orphan)
            }
            pendingInterim = []
        }
        for var pending in rest {
            if pending.request != nil && pending.response == nil && !pending.anomalies.contains(.protocolSwitched) {
                pending.anomalies.appendOnce(.requestWithoutResponse)
            }
            emitExchange(pending)
        }
    }
}

extension HTTP1ConnectionAnalyzer: HTTP1MessageParserDelegate {
    func parserDidParseRequestHead(_ kind: RequestMethodKind) {
        queue.appendRequestHead(kind)
        requestHeadsAnnounced += 1
        if queue.pendingCount > configuration.maxPendingRequests, var oldest = queue.popOldest() {
            // Dropping the oldest keeps memory bounded; its response, if it ever comes, will
            // be paired with the next request, so pairing is no longer certain.
            if oldest.response == nil { oldest.anomalies.appendOnce(.requestWithoutResponse) }
            oldest.anomalies.appendOnce(.pendingRequestEvicted)
            if uncertainFromResponse == nil { uncertainFromResponse = finalResponses }
            pendingRequestsEvicted += 1
            emitExchange(oldest)
            syncBudget()
        }
    }

    func requestForNextResponse() -> RequestMethodKind? {
        queue.nextUnanswered
    }

    func parserDidComplete(_ message: consuming HTTP1Message, role: HTTP1Role) {
        switch role {
        case .request:
            requestCount += 1
            guard let head = message.requestHead.take() else { return }
            var anomalies = message.anomalies
            // HTTP/2 with prior knowledge: the server answers in frames, not HTTP/1.
            if message.disposition == .switchedProtocols { responseParser.stop() }
            if clientSaidClose { anomalies.appendOnce(.dataAfterClose) }
            if head.headers.listContains("close", inFieldsNamed: "Connection") { clientSaidClose = true }
            let request = HTTPRequest(head: head, body: message.takeBody(), trailers: message.takeTrailers(), firstByte: message.firstByte, lastByte: message.lastByte)
            // Not announced (cannot happen with the parser as written): announced now, kept anyway.
            // (Asked first, so that the request is handed over once, moved, never copied.)
            if !queue.awaitsRequest() { queue.appendRequestHead(message.methodKind) }
            _ = queue.completeRequest(request, anomalies: anomalies)
            budget.remember(owner, serial: queue.completedSerials - 1)
            emitReady()
            syncBudget()
        case .response:
            responseCount += 1
            guard let head = message.responseHead.take() else { return }
            if message.disposition == .interim {
                // A server could send 1xx forever; keep the first few (memory stays bounded).
                if pendingInterim.count < 16 { pendingInterim.append(head) }
                pendingInterimAnomalies.append(contentsOf: message.anomalies)
                return
            }
            let afterClose = serverSaidClose
            if head.headers.listContains("close", inFieldsNamed: "Connection") { serverSaidClose = true }
            let response = HTTPResponse(head: head, body: message.takeBody(), trailers: message.takeTrailers(), firstByte: message.firstByte, lastByte: message.lastByte)
            let uncertain = uncertainFromResponse.map { finalResponses >= $0 } ?? false
            if pendingInterim.isEmpty && !uncertain && !afterClose, var front = queue.takeFrontToAnswer() {
                if message.disposition == .switchedProtocols, let request = front.request,
                   let handler = onProtocolSwitch?(request, head) {
                    // The new protocol's handler owns the upgrade exchange and every later byte.
                    finalResponses += 1
                    pendingInterimAnomalies = []
                    handOff(to: handler)
                    syncBudget()
                    return
                }
                // Common case: nothing else to merge; emit straight away.
                for anomaly in message.anomalies { front.anomalies.appendOnce(anomaly) }
                emitExchange(request: front.request, interim: front.interim, response: response, anomalies: front.anomalies)
            } else {
                var extra = pendingInterimAnomalies
                if uncertain { extra.append(.responseFramingUncertain) }
                if afterClose { extra.append(.dataAfterClose) }
                queue.answer(with: response, interim: pendingInterim, anomalies: message.anomalies, extra: extra)
            }
            finalResponses += 1
            pendingInterim = []
            pendingInterimAnomalies = []
            // Once every captured request is answered, later pairs start from a clean slate.
            if !queue.hasUnansweredRequest && !requestParser.isPaused { uncertainFromResponse = nil }
            emitReady()
            syncBudget()
            switch message.disposition {
            case .switchedProtocols, .tunnel:
                requestParser.stop()
            case .normal, .interim:
                if requestParser.isPaused && !queue.hasUnansweredRequest {
                    requestParser.resume(time: message.lastByte)
                }
            }
        }
    }

    /// Routes both directions to `handler`: what the client parser held since the upgrade
    /// request now, the rest of the server's segment as the response parser returns, then every
    /// later `receive`, `gap` and `end`.
    private func handOff(to handler: any TCPStreamHandler) {
        protocolSwitchHandler = handler
        requestParser.handOff = { bytes, time in handler.receive(bytes, direction: .clientToServer, time: time) }
        responseParser.handOff = { bytes, time in handler.receive(bytes, direction: .serverToClient, time: time) }
        requestParser.stop()
        if clientEnded { handler.end(direction: .clientToServer, time: requestParser.lastTime, reason: .fin) }
    }

    func parserMayHaveLostMessages(role: HTTP1Role) {
        guard uncertainFromResponse == nil else { return }
        switch role {
        case .request:
            uncertainFromResponse = requestHeadsAnnounced
        case .response:
            // A lost response leaves its request first in line: the next response would be
            // paired with it.
            uncertainFromResponse = finalResponses
        }
    }
}

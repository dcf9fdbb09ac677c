import CorscopeCapture
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import CorscopeTLS

/// The first handler of every connection, and the hand-off between analyzers (Zeek's protocol
/// detection): TLS record headers in the first bytes send the connection to the TLS stage, whose
/// plaintext comes back here to be dispatched again; the HTTP/2 connection preface sends it to
/// the HTTP/2 analyzer; anything else goes to the HTTP/1.x analyzer, which hands the connection
/// to HTTP/2 after an `Upgrade: h2c` 101. The decision is made once, on the first bytes.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class ConnectionDispatcher: TCPStreamHandler {
    /// Everything an analyzer needs that is the same for all connections of a pipeline.
    struct Context {
        var http: HTTPConfiguration
        var budget: PendingRequestBudget
        var tlsKeys: TLSKeyStore
        var tls: TLSConfiguration
        /// Hold a TLS connection's end while its key may still come (`watch` follows a key log the
        /// browser appends to; a short connection can close before its line is read).
        var holdEndsForLateKeys: Bool
        /// HPACK's repeated Huffman strings, for every HTTP/2 connection of this context's thread.
        var huffmanCache = HPACKHuffmanCache()
    }

    enum Route {
        case undecided
        case http1(HTTP1ConnectionAnalyzer)
        case http2(HTTP2ConnectionAnalyzer)
        case tls(TLSConnectionDecryptor)
    }

    let connection: ConnectionInfo
    private let context: Context
    /// TLS facts when this dispatcher sits behind the TLS stage (the plaintext of a decrypted
    /// connection): its exchanges are `https`, and TLS is not looked for again.
    private let transport: HTTPTransport
    private let emit: (HTTPExchange) -> Void
    @exclusivity(unchecked) private(set) var route: Route = .undecided
    /// The plaintext dispatcher behind a TLS stage (set when the TLS stage first has plaintext).
    @exclusivity(unchecked) private(set) var decrypted: ConnectionDispatcher?
    /// HTTP/2 reached through an h2c upgrade from HTTP/1.1 (the HTTP/1 analyzer stays in `route`).
    @exclusivity(unchecked) private(set) var upgradedToHTTP2: HTTP2ConnectionAnalyzer?
    /// Ends held back while the TLS stage waits for this connection's key (see
    /// `Context.holdEndsForLateKeys`); `releaseHeldEnds` passes them on.
    @exclusivity(unchecked) private var heldEnds: [(direction: FlowDirection, time: Timestamp, reason: StreamEndReason)] = []

    var hasHeldEnds: Bool { !heldEnds.isEmpty }

    init(connection: ConnectionInfo, context: Context, transport: HTTPTransport = .plain, emit: @escaping (HTTPExchange) -> Void) {
        self.connection = connection
        self.context = context
        self.transport = transport
        self.emit = emit
    }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        if case .undecided = route { decide(data, direction: direction) }
        handler.receive(data, direction: direction, time: time)
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        // A connection whose first bytes were lost: HTTP/1's resync finds the next message start.
        if case .undecided = route { route = .http1(makeHTTP1()) }
        handler.gap(length: length, direction: direction, time: time)
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        if case .undecided = route { route = .http1(makeHTTP1()) }
        if context.holdEndsForLateKeys, case .tls(let decryptor) = route, Self.mayBeWaitingForKey(decryptor) {
            heldEnds.append((direction, time, reason))
            return
        }
        handler.end(direction: direction, time: time, reason: reason)
    }

    /// Passes the held ends on: the TLS stage looks for the key once more, decrypts what it
    /// buffered if the key came, and ends the connection either way.
    func releaseHeldEnds() {
        let ends = heldEnds
        heldEnds = []
        for end in ends { handler.end(direction: end.direction, time: end.time, reason: end.reason) }
    }

    /// The handshake was read but nothing decrypted yet: a key may still come.
    static func mayBeWaitingForKey(_ decryptor: TLSConnectionDecryptor) -> Bool {
        decryptor.state == .decrypting && decryptor.plaintextHandler == nil && decryptor.session.cipherSuite != nil
    }

    private var handler: any TCPStreamHandler {
        switch route {
        case .undecided: preconditionFailure("decided before use")
        case .http1(let analyzer): return analyzer
        case .http2(let analyzer): return analyzer
        case .tls(let decryptor): return decryptor
        }
    }

    private func decide(_ data: UnsafeRawBufferPointer, direction: FlowDirection) {
        if transport.tls == nil, TLSConnectionDecryptor.startsWithTLSRecord(data) {
            route = .tls(TLSConnectionDecryptor(connection: connection, keys: context.tlsKeys, configuration: context.tls) { [unowned self] session in
                let plaintext = ConnectionDispatcher(connection: connection, context: context,
                                                     transport: HTTPTransport(tls: Self.facts(of: session)), emit: emit)
                decrypted = plaintext
                return plaintext
            })
        } else if direction == .clientToServer, HTTP2ConnectionAnalyzer.startsWithPreface(data) {
            route = .http2(makeHTTP2())
        } else if direction == .serverToClient, Self.startsWithSettingsFrame(data) {
            // A server that speaks first with SETTINGS (HTTP/2 by prior knowledge: nghttpd, Go's
            // h2c servers) before the client's preface; no HTTP/1 server speaks first.
            route = .http2(makeHTTP2())
        } else if transport.tls?.alpn == "h2" {
            // ALPN said HTTP/2; a capture that starts after the preface still speaks it.
            route = .http2(makeHTTP2())
        } else {
            route = .http1(makeHTTP1())
        }
    }

    private func makeHTTP1() -> HTTP1ConnectionAnalyzer {
        let analyzer = HTTP1ConnectionAnalyzer(connection: connection, configuration: context.http, budget: context.budget) { [unowned self] exchange in
            deliver(exchange)
        }
        analyzer.onProtocolSwitch = { [unowned self] request, response in
            guard HTTP1ConnectionAnalyzer.isH2CUpgrade(request: request, response: response) else { return nil }
            let http2 = makeHTTP2(upgradedRequest: request, upgradeResponse: response)
            upgradedToHTTP2 = http2
            return http2
        }
        return analyzer
    }

    private func makeHTTP2(upgradedRequest: HTTPRequest? = nil, upgradeResponse: HTTPResponseHead? = nil) -> HTTP2ConnectionAnalyzer {
        var transport = transport
        transport.isHTTP2 = true
        return HTTP2ConnectionAnalyzer(connection: connection, transport: transport, configuration: context.http,
                                       upgradedRequest: upgradedRequest, upgradeResponse: upgradeResponse,
                                       huffmanCache: context.huffmanCache) { [unowned self] exchange in
            emit(exchange)
        }
    }

    /// HTTP/1 exchanges behind TLS carry the TLS facts (the analyzer knows nothing of TLS).
    private func deliver(_ exchange: HTTPExchange) {
        guard transport != .plain else { return emit(exchange) }
        var exchange = exchange
        exchange.transport = transport
        emit(exchange)
    }

    /// An HTTP/2 SETTINGS frame header on stream 0: length a multiple of 6 (at most a few
    /// dozen settings), type 4, flags 0 (an ACK would not come first).
    static func startsWithSettingsFrame(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count >= 9 else { return false }
        let length = Int(data[0]) << 16 | Int(data[1]) << 8 | Int(data[2])
        return length % 6 == 0 && length <= 6 * 64 && data[3] == 4 && data[4] == 0
            && data[5] & 0x7F == 0 && data[6] == 0 && data[7] == 0 && data[8] == 0
    }

    static func facts(of session: TLSSession) -> HTTPTransport.TLS {
        HTTPTransport.TLS(version: session.version ?? "TLS", cipherSuite: session.cipherSuite ?? "unknown",
                          serverName: session.serverName, alpn: session.selectedProtocol)
    }
}

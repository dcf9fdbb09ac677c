import CorscopeCapture
import CorscopeHAR
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import CorscopeTLS
#if canImport(Glibc)
import Glibc
#endif

/// Capture file → decoded segments → TCP reassembly → HTTP/1.x exchanges, streaming: memory
/// grows with open connections, never with the file.
public final class ExchangePipeline {
    public struct Configuration: Sendable {
        public var assembler = AssemblerConfiguration()
        public var http = HTTPConfiguration()
        /// How HAR files read alongside the captures are read (the entry size cap).
        public var har = HARReaderConfiguration()
        /// A tcpdump-syntax filter every capture's packets go through first (nil: all packets).
        public var packetFilter: String?
        /// TLS secrets (key logs given by the user; a pcapng's own Decryption Secrets Blocks are
        /// added as each file is read).
        public var tlsKeys = TLSKeyStore()
        public var tls = TLSConfiguration()
        /// Seconds a closed TLS connection waits for its key before it is judged without one
        /// (0: no wait, for files whose key logs were all read first). `watch` waits while it
        /// follows a key log the browser is still appending to.
        public var lateKeyWait: Double = 0
        /// Threads that reassemble and analyse connections, each its own share (by a hash of
        /// the connection's addresses and ports), while the calling thread reads and decodes
        /// packets. 1: everything on the calling thread. The exchanges, their order and ids are
        /// the same either way (`ShardedCaptureRead`).
        public var workers = 1
        public init() {}
    }

    /// What reading one file gave: how it ended, and its counts.
    public struct FileResult: Sendable {
        public var path: String
        public var outcome: ReadOutcome
        public var statistics: PipelineStatistics
    }

    public let configuration: Configuration
    private let onExchange: (HTTPExchange) -> Void
    /// Totals over every file read so far.
    public private(set) var statistics = PipelineStatistics()
    private var nextConnectionID = 0
    /// Requests waiting for a response, over every connection of every file this pipeline reads.
    public let pendingRequests: PendingRequestBudget

    /// A connection id no capture read by this pipeline uses (for exchanges from other
    /// sources, such as HAR files, read in the same run).
    public func allocateConnectionID() -> Int {
        defer { nextConnectionID += 1 }
        return nextConnectionID
    }

    public init(configuration: Configuration = .init(), onExchange: @escaping (HTTPExchange) -> Void) {
        self.configuration = configuration
        self.onExchange = onExchange
        pendingRequests = PendingRequestBudget(configuration: configuration.http)
    }

    /// Reads one capture file to its end and flushes every connection in it.
    ///
    /// - Parameter progress: called now and then with (bytes of the file consumed, file size).
    /// - Throws: `CaptureError` when the file cannot be opened or is not a capture; a truncated
    ///   file is not an error: its outcome says so, and everything before the cut was analysed.
    public func read(file path: String, progress: ((Int64, Int64) -> Void)? = nil) throws -> FileResult {
        try read(try CaptureFileReader(path: path), progress: progress)
    }

    /// Reads a capture from a stream (standard input, a pipe): like `read(file:)`, with the
    /// size reported as 0 (unknown) and the bytes counted as they come.
    public func read(stream: StreamedInput, progress: ((Int64, Int64) -> Void)? = nil) throws -> FileResult {
        try read(try CaptureFileReader(stream: stream), progress: progress)
    }

    private func read(_ reader: CaptureFileReader, progress: ((Int64, Int64) -> Void)?) throws -> FileResult {
        let path = reader.path
        if let filter = configuration.packetFilter { try reader.setFilter(filter) }
        let reassembly = configuration.workers > 1
            ? Reassembly.sharded(ShardedCaptureRead(workers: configuration.workers, configuration: configuration,
                                                    firstConnectionID: nextConnectionID, deliver: onExchange))
            : Reassembly.here(ExchangeSink(configuration: configuration, budget: pendingRequests, onExchange: onExchange),
                              configuration: configuration, firstConnectionID: nextConnectionID)
        // A pcapng's own secrets (editcap --inject-secrets, Wireshark) join the user's key logs
        // as the read reaches them, from files and streams alike; connections waiting for a key
        // try again with their next record or at their end.
        var keyLogProblems = BoundedNotes()
        let keys = configuration.tlsKeys
        reader.onSecrets = { found in
            for secrets in found where secrets.type == CaptureSecrets.tlsKeyLog {
                for problem in keys.add(keyLog: secrets.data, source: "\(path) (Decryption Secrets Block)") {
                    keyLogProblems.note(problem.description)
                }
            }
            // Records that waited for these keys are read now, not at their connection's next record.
            reassembly.recheckKeys()
        }
        let decoder = PacketDecoder()
        var packetsSinceProgress = 0
        let outcome = reader.forEachPacket { packet in
            decoder.decode(packet) { segment in reassembly.process(segment) }
            reassembly.packetDone()
            if let progress {
                packetsSinceProgress += 1
                if packetsSinceProgress == 8192 {
                    packetsSinceProgress = 0
                    progress(reader.bytesConsumed, reader.fileSize)
                }
            }
        }
        reader.onSecrets = nil
        if let problem = reader.secretsProblem { keyLogProblems.note("\(path): decryption secrets: \(problem)") }
        // Fragments still waiting for the rest of their datagram are dropped and counted.
        decoder.finish()
        let finished = reassembly.finish()
        nextConnectionID = finished.nextConnectionID

        var fileStatistics = finished.sink
        fileStatistics.keyLogProblems.add(keyLogProblems)
        fileStatistics.capture = decoder.statistics
        fileStatistics.capture.filteredOut = reader.packetsFilteredOut
        fileStatistics.reassembly = finished.reassembly
        fileStatistics.fileBytes = reader.fileSize > 0 ? reader.fileSize : reader.bytesConsumed
        statistics.add(fileStatistics)
        return FileResult(path: path, outcome: outcome, statistics: fileStatistics)
    }
}

/// Where a capture's segments are reassembled and analysed: on the reading thread, or sharded
/// over worker threads (`ShardedCaptureRead`); the read loop is the same for both.
private enum Reassembly {
    case here(ExchangeSink, TCPAssembler)
    case sharded(ShardedCaptureRead)

    static func here(_ sink: ExchangeSink, configuration: ExchangePipeline.Configuration, firstConnectionID: Int) -> Reassembly {
        .here(sink, TCPAssembler(factory: sink, configuration: configuration.assembler, firstConnectionID: firstConnectionID))
    }

    func process(_ segment: TCPSegment) {
        switch self {
        case .here(_, let assembler): assembler.process(segment)
        case .sharded(let shards): shards.process(segment)
        }
    }

    func packetDone() {
        if case .sharded(let shards) = self { shards.packetDone() }
    }

    func recheckKeys() {
        switch self {
        case .here(let sink, _): sink.recheckKeys()
        case .sharded(let shards): shards.recheckKeys()
        }
    }

    /// Ends every connection; what the sinks and assemblers counted, and the next connection id.
    func finish() -> (sink: PipelineStatistics, reassembly: AssemblerStatistics, nextConnectionID: Int) {
        switch self {
        case .here(let sink, let assembler):
            assembler.flushAll()
            sink.releaseParked(all: true)
            return (sink.statistics, assembler.statistics, assembler.nextConnectionID)
        case .sharded(let shards):
            let (sink, reassembly) = shards.finish()
            return (sink, reassembly, shards.nextConnectionID)
        }
    }
}

/// Makes one handler per connection (a `ConnectionDispatcher`: TLS, HTTP/2 or HTTP/1.x, found
/// from the first bytes) and counts what they emit and what they could not analyse.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class ExchangeSink: TCPStreamFactory {
    private let context: ConnectionDispatcher.Context
    private let onExchange: (HTTPExchange) -> Void
    @exclusivity(unchecked) var statistics = PipelineStatistics()
    /// Connections whose protocol switched after a 101 (or a tunnel, or the HTTP/2 preface),
    /// and to what; only those few are remembered.
    @exclusivity(unchecked) private var switched: [Int: NotAnalysedTraffic.Kind] = [:]

    init(configuration: ExchangePipeline.Configuration, budget: PendingRequestBudget? = nil, onExchange: @escaping (HTTPExchange) -> Void) {
        context = ConnectionDispatcher.Context(http: configuration.http, budget: budget ?? PendingRequestBudget(configuration: configuration.http),
                                               tlsKeys: configuration.tlsKeys, tls: configuration.tls,
                                               holdEndsForLateKeys: configuration.lateKeyWait > 0)
        lateKeyWait = configuration.lateKeyWait
        self.onExchange = onExchange
    }

    var budget: PendingRequestBudget { context.budget }

    /// The connections open now, by id: new keys (a pcapng's secrets block) are tried on them.
    @exclusivity(unchecked) private var open: [Int: ConnectionDispatcher] = [:]

    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler {
        let dispatcher = ConnectionDispatcher(connection: connection, context: context) { [unowned self] exchange in
            statistics.count(exchange)
            if exchange.anomalies.contains(.protocolSwitched) { switched[exchange.connection.id] = Self.switchedKind(exchange) }
            onExchange(exchange)
        }
        open[connection.id] = dispatcher
        return dispatcher
    }

    /// Retries, in connection order, the TLS records that wait for a key.
    func recheckKeys() {
        for id in open.keys.sorted() {
            if case .tls(let decryptor) = open[id]?.route { decryptor.recheckKeys() }
        }
    }

    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {
        open[connection.id] = nil
        guard let dispatcher = handler as? ConnectionDispatcher else { return }
        if dispatcher.hasHeldEnds {
            parked.append((dispatcher, connection, Self.wallClock()))
            if parked.count > Self.maximumParked { releaseParked(count: 1) }
            return
        }
        account(dispatcher, connection: connection)
    }

    /// TLS connections that ended while their key may still come, oldest first.
    @exclusivity(unchecked) private var parked: [(dispatcher: ConnectionDispatcher, connection: ConnectionInfo, since: Double)] = []
    private let lateKeyWait: Double
    /// Each parked connection holds at most `TLSConfiguration.maximumBufferedCiphertextBytes`.
    static let maximumParked = 256

    /// Judges the parked connections that waited `lateKeyWait` seconds (all of them with `all`):
    /// decrypted if their key came meanwhile, else listed as having no key.
    func releaseParked(all: Bool = false) {
        let now = Self.wallClock()
        let due = all ? parked.count : parked.prefix { now - $0.since >= lateKeyWait }.count
        releaseParked(count: due)
    }

    private func releaseParked(count: Int) {
        let due = parked.prefix(count)
        parked.removeFirst(count)
        for (dispatcher, connection, _) in due {
            dispatcher.releaseHeldEnds()
            account(dispatcher, connection: connection)
        }
    }

    private static func wallClock() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Adds a closed connection's counts, and what of it was not analysed, to the statistics.
    private func account(_ dispatcher: ConnectionDispatcher, connection: ConnectionInfo) {
        let server = connection.server.description
        switch dispatcher.route {
        case .undecided:
            break
        case .tls(let decryptor):
            statistics.tls.add(decryptor)
            if let plaintext = dispatcher.decrypted { account(plaintext, connection: connection) }
            let session = decryptor.session
            let kind: NotAnalysedTraffic.Kind?
            switch decryptor.state {
            case .decrypting: kind = dispatcher.decrypted == nil ? .tlsWithoutApplicationData : nil
            case .noKey: kind = .tls
            case .unsupportedSuite: kind = .tlsUnsupportedSuite
            case .handshakeNotCaptured: kind = .tlsHandshakeNotCaptured
            case .notTLS: kind = .nonHTTP
            }
            if let kind, decryptor.statistics.undecryptedBytes > 0 || dispatcher.decrypted == nil {
                statistics.notAnalysed.add(NotAnalysedTraffic(
                    kind: kind, server: server, connections: 1, bytes: decryptor.statistics.undecryptedBytes,
                    serverNames: session.serverName.map { [$0] } ?? [],
                    protocols: session.selectedProtocol.map { [$0] } ?? session.offeredProtocols,
                    versions: session.version.map { [$0] } ?? []))
            }
        case .http2(let analyzer):
            account(analyzer, server: server)
        case .http1(let analyzer):
            let switchedTo = switched.removeValue(forKey: connection.id)
            let http = analyzer.statistics
            statistics.http += http
            if let upgraded = dispatcher.upgradedToHTTP2 {
                account(upgraded, server: server)
            } else if let switchedTo, http.skippedBytes > 0 {
                statistics.notAnalysed.add(NotAnalysedTraffic(
                    kind: switchedTo, server: server, connections: 1, bytes: http.skippedBytes,
                    serverNames: [], protocols: [], versions: []))
            } else if http.exchanges == 0, http.skippedBytes > 0 {
                statistics.notAnalysed.add(NotAnalysedTraffic(
                    kind: .nonHTTP, server: server, connections: 1, bytes: http.skippedBytes,
                    serverNames: [], protocols: [], versions: []))
            }
        }
    }

    private func account(_ analyzer: HTTP2ConnectionAnalyzer, server: String) {
        let http2 = analyzer.statistics
        statistics.http2 += http2
        // Frames skipped while resynchronising, and DATA of streams whose heads were lost (DATA
        // on a stream already closed, as after a browser's RST_STREAM, is no loss).
        let headsLost = http2.headerBlocksLost > 0 || http2.prefaceMissing || http2.streamsLost > 0
        let notAnalysed = http2.skippedBytes + (headsLost ? http2.dataBytesOnUnknownStreams : 0)
        if notAnalysed > 0 || http2.headerBlocksLost > 0 {
            statistics.notAnalysed.add(NotAnalysedTraffic(
                kind: .http2, server: server, connections: 1, bytes: notAnalysed,
                serverNames: [], protocols: [], versions: []))
        }
    }

    /// What a connection became: the request's `Upgrade` (websocket, h2c), the HTTP/2 preface
    /// (PRI), or a CONNECT tunnel.
    static func switchedKind(_ exchange: HTTPExchange) -> NotAnalysedTraffic.Kind {
        guard let head = exchange.requestHead else { return .tunnel }
        if head.method == "PRI" { return .http2 }
        let upgrade = (head.headers.first(named: "Upgrade") ?? "").lowercased()
        if upgrade.contains("websocket") { return .websocket }
        if upgrade.contains("h2c") { return .http2 }
        return .tunnel
    }
}

import CorscopeCapture
import CorscopeHAR
import CorscopeHTTP
import CorscopeReassembly

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
        let sink = ExchangeSink(configuration: configuration.http, budget: pendingRequests, onExchange: onExchange)
        let assembler = TCPAssembler(factory: sink, configuration: configuration.assembler,
                                     firstConnectionID: nextConnectionID)
        let decoder = PacketDecoder()
        var packetsSinceProgress = 0
        let outcome = reader.forEachPacket { packet in
            decoder.decode(packet) { segment in assembler.process(segment) }
            if let progress {
                packetsSinceProgress += 1
                if packetsSinceProgress == 8192 {
                    packetsSinceProgress = 0
                    progress(reader.bytesConsumed, reader.fileSize)
                }
            }
        }
        assembler.flushAll()
        nextConnectionID = assembler.nextConnectionID

        var fileStatistics = sink.statistics
        fileStatistics.capture = decoder.statistics
        fileStatistics.capture.filteredOut = reader.packetsFilteredOut
        fileStatistics.reassembly = assembler.statistics
        fileStatistics.fileBytes = reader.fileSize > 0 ? reader.fileSize : reader.bytesConsumed
        statistics.add(fileStatistics)
        return FileResult(path: path, outcome: outcome, statistics: fileStatistics)
    }
}

/// Makes one handler per connection (a `ConnectionDispatcher`: HTTP/1.x analysis, or TLS
/// counted apart) and counts what they emit and what they could not analyse.
final class ExchangeSink: TCPStreamFactory {
    private let configuration: HTTPConfiguration
    private let onExchange: (HTTPExchange) -> Void
    /// Shared by every connection's analyzer: pending requests are capped over all of them.
    let budget: PendingRequestBudget
    var statistics = PipelineStatistics()
    /// Connections whose protocol switched after a 101 (or a tunnel, or the HTTP/2 preface),
    /// and to what; only those few are remembered.
    private var switched: [Int: NotAnalysedTraffic.Kind] = [:]

    init(configuration: HTTPConfiguration, budget: PendingRequestBudget? = nil, onExchange: @escaping (HTTPExchange) -> Void) {
        self.configuration = configuration
        self.budget = budget ?? PendingRequestBudget(configuration: configuration)
        self.onExchange = onExchange
    }

    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler {
        ConnectionDispatcher(http: HTTP1ConnectionAnalyzer(connection: connection, configuration: configuration, budget: budget) { [unowned self] exchange in
            statistics.count(exchange)
            if exchange.anomalies.contains(.protocolSwitched) { switched[exchange.connection.id] = Self.switchedKind(exchange) }
            onExchange(exchange)
        })
    }

    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {
        guard let dispatcher = handler as? ConnectionDispatcher else { return }
        let switchedTo = switched.removeValue(forKey: connection.id)
        if let hello = dispatcher.clientHello {
            statistics.notAnalysed.add(NotAnalysedTraffic(
                kind: .tls, server: connection.server.description, connections: 1, bytes: dispatcher.tlsBytes,
                serverNames: hello.serverName.map { [$0] } ?? [], protocols: hello.protocols, versions: hello.version.map { [$0] } ?? []))
            return
        }
        let http = dispatcher.http.statistics
        statistics.http += http
        if let switchedTo, http.skippedBytes > 0 {
            statistics.notAnalysed.add(NotAnalysedTraffic(
                kind: switchedTo, server: connection.server.description, connections: 1, bytes: http.skippedBytes,
                serverNames: [], protocols: [], versions: []))
        } else if http.exchanges == 0, http.skippedBytes > 0 {
            statistics.notAnalysed.add(NotAnalysedTraffic(
                kind: .nonHTTP, server: connection.server.description, connections: 1, bytes: http.skippedBytes,
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

import CorscopeCapture
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import CorscopeTLS

/// Everything the pipeline counted, stage by stage: what `exchanges --stats` prints.
public struct PipelineStatistics: Sendable {
    public var fileBytes: Int64 = 0
    public var capture = CaptureStatistics()
    public var reassembly = AssemblerStatistics()
    public var http = HTTPStreamStatistics()
    public var exchanges = 0
    public var requests = 0
    public var responses = 0
    public var headerFields = 0
    public var bodyBytes = 0
    public var decodedBodyBytes = 0
    /// Exchanges flagged with each anomaly.
    public var anomalies: [HTTPAnomaly: Int] = [:]
    /// Exchanges with at least one anomaly.
    public var anomalousExchanges = 0
    /// Connections seen but not analysed (TLS, HTTP/2, WebSocket frames, other protocols).
    public var notAnalysed = NotAnalysedTally()
    public var tls = TLSTotals()
    public var http2 = HTTP2Statistics()
    /// Key log lines that could not be read (user key logs and pcapng secrets blocks).
    public var keyLogProblems = BoundedNotes()

    public init() {}

    mutating func count(_ exchange: HTTPExchange) {
        exchanges += 1
        if let request = exchange.requestSizes {
            requests += 1
            headerFields += request.fields
            bodyBytes += request.bodyBytes
            decodedBodyBytes += request.decodedBodyBytes
        }
        for interim in exchange.interimResponses { headerFields += interim.headers.count }
        if let response = exchange.responseSizes {
            responses += 1
            headerFields += response.fields
            bodyBytes += response.bodyBytes
            decodedBodyBytes += response.decodedBodyBytes
        }
        for anomaly in exchange.anomalies { anomalies[anomaly, default: 0] += 1 }
        if !exchange.anomalies.isEmpty { anomalousExchanges += 1 }
    }

    mutating func add(_ other: PipelineStatistics) {
        fileBytes += other.fileBytes
        capture.add(other.capture)
        reassembly.add(other.reassembly)
        http += other.http
        exchanges += other.exchanges
        requests += other.requests
        responses += other.responses
        headerFields += other.headerFields
        bodyBytes += other.bodyBytes
        decodedBodyBytes += other.decodedBodyBytes
        for (anomaly, count) in other.anomalies { anomalies[anomaly, default: 0] += count }
        anomalousExchanges += other.anomalousExchanges
        notAnalysed.add(other.notAnalysed)
        tls.add(other.tls)
        http2 += other.http2
        keyLogProblems.add(other.keyLogProblems)
    }
}

/// A few texts worth showing (problems, warnings), the rest counted: memory stays bounded
/// however many there are.
public struct BoundedNotes: Sendable, Equatable {
    public static let capacity = 20
    public private(set) var items: [String] = []
    /// Notes beyond `capacity`, counted only.
    public private(set) var omitted = 0

    public init() {}

    public var isEmpty: Bool { items.isEmpty }

    public mutating func note(_ text: String) {
        if items.count < Self.capacity { items.append(text) } else { omitted += 1 }
    }

    public mutating func add(_ other: BoundedNotes) {
        for item in other.items { note(item) }
        omitted += other.omitted
    }

    /// Every kept note, then "… and N more" when some were only counted.
    public var lines: [String] { items + (omitted > 0 ? ["… and \(omitted) more"] : []) }
}

/// The TLS stage's counts over every connection of a run.
public struct TLSTotals: Sendable, Equatable {
    /// Connections that started with TLS records.
    public var connections = 0
    /// Of them, connections whose plaintext reached an HTTP analyzer.
    public var decryptedConnections = 0
    public var records = 0
    public var decryptedRecords = 0
    public var plaintextBytes = 0
    /// Bytes of records that could not be decrypted (no key, unsupported suite, no handshake).
    public var undecryptedBytes = 0
    /// Bytes lost in TCP gaps inside TLS.
    public var lostBytes = 0
    public var resyncedRecords = 0
    public var authenticationFailures = 0

    public init() {}

    mutating func add(_ decryptor: TLSConnectionDecryptor) {
        let s = decryptor.statistics
        connections += 1
        if decryptor.plaintextHandler != nil { decryptedConnections += 1 }
        records += s.records
        decryptedRecords += s.decryptedRecords
        plaintextBytes += s.plaintextBytesFromClient + s.plaintextBytesFromServer
        undecryptedBytes += s.undecryptedBytes
        lostBytes += s.lostBytes
        resyncedRecords += s.resyncedRecords
        authenticationFailures += s.authenticationFailures
    }

    mutating func add(_ other: TLSTotals) {
        connections += other.connections
        decryptedConnections += other.decryptedConnections
        records += other.records
        decryptedRecords += other.decryptedRecords
        plaintextBytes += other.plaintextBytes
        undecryptedBytes += other.undecryptedBytes
        lostBytes += other.lostBytes
        resyncedRecords += other.resyncedRecords
        authenticationFailures += other.authenticationFailures
    }
}

import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly

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
    }
}

/// Counters of one connection's HTTP analysis; the pipeline adds them up with `+=`.
public struct HTTPStreamStatistics: Sendable, Hashable {
    /// Bytes parsed as HTTP (heads, framing and bodies) from the client.
    public var requestBytesParsed: Int = 0
    /// Bytes parsed as HTTP from the server.
    public var responseBytesParsed: Int = 0
    /// Bytes that were not parsed as HTTP: skipped while resynchronising, after a protocol
    /// switch or tunnel, or after a head over the size cap.
    public var skippedBytes: Int = 0
    /// Bytes reported missing by the TCP assembler (`gap(length:)`), both directions.
    public var gapBytes: Int = 0
    /// Header and trailer fields parsed.
    public var headerFields: Int = 0
    /// Body bytes on the wire after de-chunking, both directions.
    public var bodyWireBytes: Int = 0
    public var requests: Int = 0
    /// Final and interim responses.
    public var responses: Int = 0
    public var exchanges: Int = 0
    /// Requests reported without a response because the pending-request budget ran out
    /// (`pending_request_evicted`).
    public var pendingRequestsEvicted: Int = 0

    public init() {}

    public static func += (lhs: inout HTTPStreamStatistics, rhs: HTTPStreamStatistics) {
        lhs.requestBytesParsed += rhs.requestBytesParsed
        lhs.responseBytesParsed += rhs.responseBytesParsed
        lhs.skippedBytes += rhs.skippedBytes
        lhs.gapBytes += rhs.gapBytes
        lhs.headerFields += rhs.headerFields
        lhs.bodyWireBytes += rhs.bodyWireBytes
        lhs.requests += rhs.requests
        lhs.responses += rhs.responses
        lhs.exchanges += rhs.exchanges
        lhs.pendingRequestsEvicted += rhs.pendingRequestsEvicted
    }
}

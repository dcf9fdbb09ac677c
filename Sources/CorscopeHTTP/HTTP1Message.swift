import CorscopeCapture

/// What a response's framing depends on from the request it answers (RFC 9112 §6.3).
struct RequestMethodKind: Hashable, Sendable {
    var isHEAD = false
    var isCONNECT = false
    /// The request asked for a protocol switch (`Upgrade` field): the client's next bytes may
    /// not be HTTP, so its parser pauses until the response decides.
    var requestsUpgrade = false
}

/// How a message's body is delimited.
enum BodyFraming: Equatable {
    case none
    case length(Int)
    case chunked
    case untilClose
}

/// One parsed message, before it is paired into an `HTTPExchange`. It holds the public
/// message itself, so pairing moves it instead of rebuilding it.
struct HTTP1Message {
    enum Disposition {
        case normal
        /// 1xx other than 101: another response follows for the same request.
        case interim
        /// 101: the rest of the connection is another protocol.
        case switchedProtocols
        /// 2xx to CONNECT: the rest of the connection is a tunnel.
        case tunnel
    }

    /// Exactly one of the two is set, by the parser's role.
    var request: HTTPRequest?
    var response: HTTPResponse?
    var anomalies: [HTTPAnomaly] = []
    var disposition: Disposition = .normal
    var methodKind = RequestMethodKind()

    mutating func flag(_ anomaly: HTTPAnomaly) {
        if !anomalies.contains(anomaly) { anomalies.append(anomaly) }
    }

    var headers: HTTPHeaderFields { request?.head.headers ?? response?.head.headers ?? HTTPHeaderFields() }

    var lastByte: Timestamp { request?.lastByte ?? response?.lastByte ?? .zero }

    /// Sets what is known only at the end: body, trailers, time of the last byte.
    mutating func finish(body: HTTPBody?, lastByte: Timestamp) {
        if request != nil {
            if let body { request!.body = body }
            request!.lastByte = lastByte
        } else if response != nil {
            if let body { response!.body = body }
            response!.lastByte = lastByte
        }
    }

    mutating func setTrailers(_ trailers: HTTPHeaderFields) {
        if request != nil { request!.trailers = trailers } else if response != nil { response!.trailers = trailers }
    }
}

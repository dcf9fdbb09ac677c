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

/// One parsed message, before it is paired into an `HTTPExchange`. The head is stored in its
/// final public form, so pairing moves it instead of rebuilding it.
struct HTTP1Message {
    enum Disposition {
        case normal
        /// 1xx other than 101: another response follows for the same request.
        case interim
        /// 101, or the HTTP/2 preface on a request: the rest of the connection is another protocol.
        case switchedProtocols
        /// 2xx to CONNECT: the rest of the connection is a tunnel.
        case tunnel
    }

    /// Exactly one of the two heads is set, by the parser's role.
    var requestHead: HTTPRequestHead?
    var responseHead: HTTPResponseHead?
    var trailers = HTTPHeaderFields()
    var body = HTTPBody()
    var firstByte: Timestamp
    var lastByte: Timestamp
    var anomalies: [HTTPAnomaly] = []
    var disposition: Disposition = .normal
    var methodKind = RequestMethodKind()

    mutating func flag(_ anomaly: HTTPAnomaly) { anomalies.appendOnce(anomaly) }

    /// Moves the body out (no reference-count traffic for its arrays).
    mutating func takeBody() -> HTTPBody {
        var taken = HTTPBody()
        swap(&taken, &body)
        return taken
    }

    mutating func takeTrailers() -> HTTPHeaderFields {
        var taken = HTTPHeaderFields()
        swap(&taken, &trailers)
        return taken
    }

    var headers: HTTPHeaderFields { requestHead?.headers ?? responseHead?.headers ?? HTTPHeaderFields() }
}

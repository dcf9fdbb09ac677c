/// What carried an exchange below HTTP: plain TCP or TLS, and HTTP/1.x or HTTP/2. The same for
/// every exchange of a connection (the stream id is the exchange's own, see
/// `HTTPExchange.streamID`).
///
/// The HTTP stage's own type: the TLS stage describes a session its way, and the exchange stage
/// copies what outputs show into this one.
public struct HTTPTransport: Sendable, Hashable {
    /// What TLS negotiated for the connection, as the handshake showed it.
    public struct TLS: Sendable, Hashable {
        /// `TLS 1.2`, `TLS 1.3`.
        public var version: String
        /// The IANA name of the negotiated suite (`TLS_AES_128_GCM_SHA256`).
        public var cipherSuite: String
        /// The server name the client sent (SNI); none for an IP literal (RFC 6066).
        public var serverName: String?
        /// The protocol ALPN selected (`h2`, `http/1.1`), when the server selected one.
        public var alpn: String?

        public init(version: String, cipherSuite: String, serverName: String? = nil, alpn: String? = nil) {
            self.version = version
            self.cipherSuite = cipherSuite
            self.serverName = serverName
            self.alpn = alpn
        }
    }

    /// Set when the exchange was decrypted from TLS: its URL's scheme is then `https`.
    public var tls: TLS?
    /// HTTP/2 framing (by ALPN `h2`, prior knowledge, or an `h2c` upgrade).
    public var isHTTP2: Bool

    public init(tls: TLS? = nil, isHTTP2: Bool = false) {
        self.tls = tls
        self.isHTTP2 = isHTTP2
    }

    /// Plain HTTP/1.x over TCP.
    public static let plain = HTTPTransport()

    /// `https` over TLS, else `http`.
    public var scheme: String { tls == nil ? "http" : "https" }
}

/// Small readings of absolute URLs shared by every stage after HTTP.
public enum HTTPURL {
    /// `https://app.example:8443/x?y` → `app.example:8443`; nil when `url` is not absolute
    /// (`http`, `https`, `ws`, `wss`).
    public static func authority(of url: String) -> String? {
        // Origin-form targets (`/path`), nearly every request: no search.
        guard url.utf8.first != UInt8(ascii: "/"), let schemeEnd = schemeSeparator(in: url) else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard ["http", "https", "ws", "wss"].contains(scheme) else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<end]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        return String(authority)
    }

    /// Where the first `://` is, found on the UTF-8 bytes (`String.firstRange(of:)` goes through
    /// the generic searcher of _StringProcessing: microseconds per URL, and HAR exchanges and
    /// every redacted URL ask).
    public static func schemeSeparator(in url: String) -> Range<String.Index>? {
        let utf8 = url.utf8
        var i = utf8.startIndex
        while let colon = utf8[i...].firstIndex(of: UInt8(ascii: ":")) {
            let first = utf8.index(after: colon)
            guard first != utf8.endIndex else { return nil }
            let second = utf8.index(after: first)
            if utf8[first] == UInt8(ascii: "/"), second != utf8.endIndex, utf8[second] == UInt8(ascii: "/") {
                return colon..<utf8.index(after: second)
            }
            i = first
        }
        return nil
    }

    /// The explicit port of an absolute URL (`scheme://[userinfo@]host[:port]`), else the
    /// default port of `http`, `ws` (80) or `https`, `wss` (443); nil for other URLs. Read on the
    /// UTF-8 bytes: the delimiters are ASCII code points (as in the URL standard), not Characters.
    public static func port(of url: String) -> Int? {
        let utf8 = url.utf8
        guard let schemeEnd = utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var i = utf8.index(after: schemeEnd)
        for _ in 0..<2 {
            guard i != utf8.endIndex, utf8[i] == UInt8(ascii: "/") else { return nil }
            i = utf8.index(after: i)
        }
        var close: String.Index? = nil, colon: String.Index? = nil
        while i != utf8.endIndex {
            let byte = utf8[i]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { break }
            if byte == UInt8(ascii: "@") { close = nil; colon = nil }  // userinfo ends: the host starts
            else if byte == UInt8(ascii: "]") { close = i; colon = nil }
            else if byte == UInt8(ascii: ":") { colon = i }
            i = utf8.index(after: i)
        }
        // After an IPv6 literal only a colon right behind `]` starts the port.
        if let close {
            if let colon, utf8.index(after: close) == colon,
               let port = Int(url[utf8.index(after: colon)..<i]), (0...65535).contains(port) { return port }
        } else if let colon, let port = Int(url[utf8.index(after: colon)..<i]), (0...65535).contains(port) {
            return port
        }
        switch url[..<schemeEnd].lowercased() {
        case "http", "ws": return 80
        case "https", "wss": return 443
        default: return nil
        }
    }

    /// `https://app.example:8443/page?x` → `https://app.example:8443` (lower-cased).
    public static func origin(of url: String) -> String? {
        guard let schemeEnd = schemeSeparator(in: url) else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        return String(url[..<end]).lowercased()
    }
}

/// What HTTP/2 says about one exchange's stream beyond its messages: how it was reset, or which
/// stream's PUSH_PROMISE carried its request.
public struct HTTP2StreamFacts: Sendable, Hashable {
    /// The RST_STREAM error code's name (`CANCEL`, `REFUSED_STREAM`, …), when the stream was reset.
    public var resetCode: String?
    /// Whether the client sent the RST_STREAM (a browser abandoning the load) or the server.
    public var resetByClient: Bool?
    /// For a pushed response: the stream whose PUSH_PROMISE carried the request.
    public var promisedOn: UInt32?

    public init(resetCode: String? = nil, resetByClient: Bool? = nil, promisedOn: UInt32? = nil) {
        self.resetCode = resetCode
        self.resetByClient = resetByClient
        self.promisedOn = promisedOn
    }
}

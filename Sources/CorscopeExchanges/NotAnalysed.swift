import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly

/// Traffic the pipeline saw but could not judge, per server endpoint: what a user must be told
/// instead of "no CORS problem" (Zeek's "not analysed" connections).
public struct NotAnalysedTraffic: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// TLS whose keys no key log held (or no key log was given).
        case tls
        /// TLS with a cipher suite corscope does not decrypt.
        case tlsUnsupportedSuite = "tls-unsupported-suite"
        /// TLS picked up after its handshake: the keys cannot be matched to the connection.
        case tlsHandshakeNotCaptured = "tls-handshake-not-captured"
        /// TLS that never carried application data (a handshake left unanswered or unfinished,
        /// a connection opened ahead of need and closed unused).
        case tlsWithoutApplicationData = "tls-without-application-data"
        /// HTTP/2 frames that could not be analysed (after a gap lost the HPACK context).
        case http2
        /// A WebSocket after its handshake (the handshake itself is judged).
        case websocket
        /// A tunnel (CONNECT) or another protocol after a 101.
        case tunnel
        /// TCP that never parsed as HTTP/1.x (another protocol, or a capture starting mid-body).
        case nonHTTP = "non-http"

        public var title: String {
            switch self {
            case .tls: return "TLS without a key (give the browser's key log: --tls-keylog)"
            case .tlsUnsupportedSuite: return "TLS with a cipher suite corscope does not decrypt"
            case .tlsHandshakeNotCaptured: return "TLS whose handshake was not captured"
            case .tlsWithoutApplicationData: return "TLS without application data (handshake only)"
            case .http2: return "HTTP/2 frames not analysed (HPACK context lost to a gap)"
            case .websocket: return "WebSocket frames after the handshake"
            case .tunnel: return "tunnel or other protocol after an upgrade"
            case .nonHTTP: return "TCP that is not HTTP/1.x"
            }
        }
    }

    public var kind: Kind
    /// `addr:port` of the server side.
    public var server: String
    public var connections: Int
    /// Bytes not analysed (both directions).
    public var bytes: Int
    /// TLS server names (SNI) seen, at most a few.
    public var serverNames: [String]
    /// TLS ALPN protocols offered, or the upgrade token.
    public var protocols: [String]
    /// The highest TLS version the client offered (`TLS 1.3`).
    public var versions: [String]

    public init(kind: Kind, server: String, connections: Int, bytes: Int, serverNames: [String], protocols: [String], versions: [String]) {
        self.kind = kind
        self.server = server
        self.connections = connections
        self.bytes = bytes
        self.serverNames = serverNames
        self.protocols = protocols
        self.versions = versions
    }
}

/// The not-analysed traffic of a run, bounded: at most `capacity` endpoints are kept apart, the
/// rest are added up under "(other servers)".
public struct NotAnalysedTally: Sendable {
    static let capacity = 1000
    static let otherServers = "(other servers)"
    private var byKey: [String: NotAnalysedTraffic] = [:]

    public init() {}

    public var isEmpty: Bool { byKey.isEmpty }

    /// Sorted by bytes, largest first.
    public var traffic: [NotAnalysedTraffic] {
        byKey.values.sorted { ($0.bytes, $1.server, $1.kind.rawValue) > ($1.bytes, $0.server, $0.kind.rawValue) }
    }

    mutating func add(_ item: NotAnalysedTraffic) {
        var item = item
        var key = item.kind.rawValue + " " + item.server
        if byKey[key] == nil && byKey.count >= Self.capacity {
            item.server = Self.otherServers
            key = item.kind.rawValue + " " + item.server
        }
        guard var existing = byKey[key] else {
            byKey[key] = item
            return
        }
        existing.connections += item.connections
        existing.bytes += item.bytes
        for (list, new) in [(\NotAnalysedTraffic.serverNames, item.serverNames), (\.protocols, item.protocols), (\.versions, item.versions)] {
            for value in new where !existing[keyPath: list].contains(value) && existing[keyPath: list].count < 5 {
                existing[keyPath: list].append(value)
            }
        }
        byKey[key] = existing
    }

    mutating func add(_ other: NotAnalysedTally) {
        for item in other.byKey.values { add(item) }
    }
}

import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly

/// Traffic the pipeline saw but could not judge, per server endpoint: what a user must be told
/// instead of "no CORS problem" (Zeek's "not analysed" connections).
public struct NotAnalysedTraffic: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// TLS: encrypted, not decrypted (no key log support yet).
        case tls
        /// HTTP/2 (prior knowledge, or `Upgrade: h2c` after a 101): not parsed yet.
        case http2
        /// A WebSocket after its handshake (the handshake itself is judged).
        case websocket
        /// A tunnel (CONNECT) or another protocol after a 101.
        case tunnel
        /// TCP that never parsed as HTTP/1.x (another protocol, or a capture starting mid-body).
        case nonHTTP = "non-http"

        public var title: String {
            switch self {
            case .tls: return "TLS (encrypted; not decrypted)"
            case .http2: return "HTTP/2 (not parsed)"
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

/// The first handler of every connection: TLS record headers in the first bytes make it a TLS
/// connection, counted (with what its ClientHello says) and not parsed; anything else goes to
/// the HTTP/1.x analyzer. The hand-off happens once, on the first bytes (Zeek's protocol
/// detection); the TLS stage of a later release takes TLS connections from here.
final class ConnectionDispatcher: TCPStreamHandler {
    let http: HTTP1ConnectionAnalyzer
    private var decided = false
    /// Non-nil for a TLS connection.
    private(set) var clientHello: TLSClientHelloReader?
    private(set) var tlsBytes = 0

    init(http: HTTP1ConnectionAnalyzer) { self.http = http }

    var isTLS: Bool { clientHello != nil }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        if !decided {
            decided = true
            if Self.startsWithTLSRecord(data) { clientHello = TLSClientHelloReader() }
        }
        if let reader = clientHello {
            tlsBytes += data.count
            if direction == .clientToServer { reader.feed(data) }
            return
        }
        http.receive(data, direction: direction, time: time)
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        if isTLS {
            tlsBytes += length
            return
        }
        decided = true
        http.gap(length: length, direction: direction, time: time)
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        http.end(direction: direction, time: time, reason: reason)
    }

    /// A TLS record header: content type 20–23 (change cipher spec, alert, handshake, data) and
    /// major version 3 with a minor version up to 4. No HTTP/1.x message starts so.
    static func startsWithTLSRecord(_ data: UnsafeRawBufferPointer) -> Bool {
        data.count >= 3 && (0x14...0x17).contains(data[0]) && data[1] == 0x03 && data[2] <= 0x04
    }
}

/// Reads the server name (SNI), the ALPN offer and the highest offered version from a TLS
/// ClientHello, from the first client bytes of a connection (at most 16 KiB are kept).
final class TLSClientHelloReader {
    private var bytes: [UInt8] = []
    private static let limit = 16 * 1024
    private(set) var serverName: String?
    private(set) var protocols: [String] = []
    private(set) var version: String?
    private var parsed = false

    func feed(_ data: UnsafeRawBufferPointer) {
        guard !parsed, bytes.count < Self.limit else { return }
        bytes.append(contentsOf: data.prefix(Self.limit - bytes.count))
        parse()
    }

    private func parse() {
        // Record: type 22 (handshake), version, length; handshake: type 1 (ClientHello), length.
        guard bytes.count >= 9, bytes[0] == 0x16, bytes[5] == 0x01 else {
            if bytes.count >= 6 { parsed = true }
            return
        }
        let recordLength = Int(bytes[3]) << 8 | Int(bytes[4])
        guard bytes.count >= 5 + recordLength else { return }
        parsed = true
        var reader = ByteReader(bytes[9..<(5 + recordLength)])
        guard let legacyVersion = reader.u16(), reader.skip(32),  // random
              let sessionLength = reader.u8(), reader.skip(Int(sessionLength)),
              let suitesLength = reader.u16(), reader.skip(Int(suitesLength)),
              let compressionLength = reader.u8(), reader.skip(Int(compressionLength)) else { return }
        var highest = legacyVersion
        if let extensionsLength = reader.u16(), var extensions = reader.take(Int(extensionsLength)) {
            while let type = extensions.u16(), let length = extensions.u16(), var body = extensions.take(Int(length)) {
                switch type {
                case 0x0000:  // server_name: list length, then (type, length, name)
                    _ = body.u16()
                    if body.u8() == 0, let nameLength = body.u16(), let name = body.take(Int(nameLength)) {
                        serverName = String(decoding: name.rest, as: UTF8.self)
                    }
                case 0x0010:  // application_layer_protocol_negotiation
                    _ = body.u16()
                    while let protocolLength = body.u8(), let name = body.take(Int(protocolLength)) {
                        protocols.append(String(decoding: name.rest, as: UTF8.self))
                    }
                case 0x002b:  // supported_versions
                    if let listLength = body.u8(), var list = body.take(Int(listLength)) {
                        // GREASE values (0x?a?a) are not versions.
                        while let offered = list.u16() {
                            if offered & 0x0f0f != 0x0a0a { highest = max(highest, offered) }
                        }
                    }
                default:
                    break
                }
            }
        }
        version = Self.name(of: highest)
    }

    static func name(of version: UInt16) -> String {
        switch version {
        case 0x0300: return "SSL 3.0"
        case 0x0301: return "TLS 1.0"
        case 0x0302: return "TLS 1.1"
        case 0x0303: return "TLS 1.2"
        case 0x0304: return "TLS 1.3"
        default: return "0x" + String(version, radix: 16)
        }
    }
}

/// Big-endian reads over a byte slice that fail instead of trapping.
struct ByteReader {
    private(set) var rest: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    mutating func u8() -> UInt8? {
        guard let first = rest.first else { return nil }
        rest = rest.dropFirst()
        return first
    }

    mutating func u16() -> UInt16? {
        guard rest.count >= 2 else { return nil }
        defer { rest = rest.dropFirst(2) }
        return UInt16(rest[rest.startIndex]) << 8 | UInt16(rest[rest.startIndex + 1])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard rest.count >= count else { return false }
        rest = rest.dropFirst(count)
        return true
    }

    mutating func take(_ count: Int) -> ByteReader? {
        guard rest.count >= count else { return nil }
        defer { rest = rest.dropFirst(count) }
        return ByteReader(rest.prefix(count))
    }
}

/// Handshake message types this stage reads (RFC 8446 §4, RFC 5246 §7.4).
enum HandshakeType {
    static let clientHello: UInt8 = 1
    static let serverHello: UInt8 = 2
    static let newSessionTicket: UInt8 = 4
    static let encryptedExtensions: UInt8 = 8
    static let certificate: UInt8 = 11
    static let serverHelloDone: UInt8 = 14
    static let finished: UInt8 = 20
    static let keyUpdate: UInt8 = 24

    /// The messages whose bodies are read; the others are only noticed.
    static let read: Set<UInt8> = [clientHello, serverHello, newSessionTicket, encryptedExtensions, finished, keyUpdate]
}

/// One handshake message; `body` is nil for a message that was skipped without being kept
/// (a type not read, such as a certificate chain, or one over the length cap).
struct HandshakeMessage: Equatable {
    var type: UInt8
    var body: [UInt8]?
}

/// Reassembles one direction's handshake messages across records (a message may span records,
/// a record may hold several messages), keeping only the bodies it will read and only up to
/// `maximumLength`.
struct HandshakeReassembler {
    let maximumLength: Int
    private var pending: [UInt8] = []
    /// Bytes of the current skipped message still to come.
    private var skipRemaining = 0

    init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    /// A gap: a partial message is lost.
    mutating func reset() {
        pending.removeAll()
        skipRemaining = 0
    }

    mutating func append(_ content: [UInt8]) -> [HandshakeMessage] {
        var messages: [HandshakeMessage] = []
        var index = 0
        if skipRemaining > 0 {
            let skipped = min(skipRemaining, content.count)
            skipRemaining -= skipped
            index = skipped
        }
        while index < content.count {
            // Complete the 4-byte header first (it may span records too).
            if pending.count < 4 {
                let take = min(4 - pending.count, content.count - index)
                pending += content[index..<index + take]
                index += take
                if pending.count < 4 { break }
            }
            let type = pending[0]
            let length = Int(pending[1]) << 16 | Int(pending[2]) << 8 | Int(pending[3])
            if !HandshakeType.read.contains(type) || length > maximumLength {
                messages.append(HandshakeMessage(type: type, body: nil))
                pending.removeAll(keepingCapacity: true)
                let skipped = min(length, content.count - index)
                index += skipped
                skipRemaining = length - skipped
                continue
            }
            let take = min(4 + length - pending.count, content.count - index)
            pending += content[index..<index + take]
            index += take
            if pending.count == 4 + length {
                messages.append(HandshakeMessage(type: type, body: Array(pending[4...])))
                pending.removeAll(keepingCapacity: true)
            }
        }
        return messages
    }
}

// MARK: Messages

/// The hello retry request's special ServerHello.random: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
let helloRetryRequestRandom: [UInt8] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
]

enum ExtensionType {
    static let serverName: UInt16 = 0
    static let applicationLayerProtocolNegotiation: UInt16 = 16
    static let sessionTicket: UInt16 = 35
    static let preSharedKey: UInt16 = 41
    static let supportedVersions: UInt16 = 43
}

/// GREASE values (RFC 8701) are 0x?A?A with both bytes equal; never a real version.
private func isGREASE(_ value: UInt16) -> Bool { value & 0x0F0F == 0x0A0A && value >> 8 == value & 0xFF }

struct ClientHello: Equatable {
    var legacyVersion: UInt16
    var random: [UInt8]
    var sessionID: [UInt8]
    var serverName: String?
    var offeredProtocols: [String] = []
    var supportedVersions: [UInt16] = []
    /// The session_ticket extension's content (RFC 5077), when the client presents a ticket.
    var sessionTicket: [UInt8]?
    var offersPreSharedKey = false

    /// The highest version offered: supported_versions when present, else the legacy field.
    var highestVersion: UInt16 {
        supportedVersions.filter { !isGREASE($0) && TLSVersion.name($0) != nil }.max() ?? legacyVersion
    }

    init?(body: [UInt8]) {
        var reader = ByteReader(body)
        guard let version = reader.uint16(), let random = reader.bytes(32), let sessionID = reader.vector8(),
              reader.vector16() != nil /* cipher suites */, reader.vector8() != nil /* compression */ else { return nil }
        legacyVersion = version
        self.random = Array(random)
        self.sessionID = Array(sessionID)
        // Extensions are optional in a TLS 1.2 ClientHello.
        guard !reader.isAtEnd else { return }
        guard let extensions = parseExtensions(&reader) else { return nil }
        for (type, data) in extensions {
            var content = ByteReader(data)
            switch type {
            case ExtensionType.serverName:
                serverName = Self.hostName(&content)
            case ExtensionType.applicationLayerProtocolNegotiation:
                offeredProtocols = parseProtocolNames(&content) ?? []
            case ExtensionType.supportedVersions:
                if let list = content.vector8() {
                    var versions = ByteReader(list)
                    while let version = versions.uint16() { supportedVersions.append(version) }
                }
            case ExtensionType.sessionTicket:
                if !data.isEmpty { sessionTicket = Array(data) }
            case ExtensionType.preSharedKey:
                offersPreSharedKey = true
            default:
                break
            }
        }
    }

    /// server_name_list: the first host_name entry (RFC 6066 §3).
    private static func hostName(_ content: inout ByteReader) -> String? {
        guard let list = content.vector16() else { return nil }
        var names = ByteReader(list)
        while let nameType = names.uint8(), let name = names.vector16() {
            if nameType == 0 { return String(decoding: name, as: UTF8.self) }
        }
        return nil
    }
}

struct ServerHello: Equatable {
    var legacyVersion: UInt16
    var random: [UInt8]
    var sessionID: [UInt8]
    var cipherSuite: UInt16
    var selectedVersion: UInt16?
    var selectedProtocol: String?
    var acceptsPreSharedKey = false

    var version: UInt16 { selectedVersion ?? legacyVersion }
    var isHelloRetryRequest: Bool { random == helloRetryRequestRandom }

    init?(body: [UInt8]) {
        var reader = ByteReader(body)
        guard let version = reader.uint16(), let random = reader.bytes(32), let sessionID = reader.vector8(),
              let suite = reader.uint16(), reader.uint8() != nil /* compression */ else { return nil }
        legacyVersion = version
        self.random = Array(random)
        self.sessionID = Array(sessionID)
        cipherSuite = suite
        guard !reader.isAtEnd else { return }
        guard let extensions = parseExtensions(&reader) else { return nil }
        for (type, data) in extensions {
            var content = ByteReader(data)
            switch type {
            case ExtensionType.supportedVersions:
                selectedVersion = content.uint16()
            case ExtensionType.applicationLayerProtocolNegotiation:
                selectedProtocol = parseProtocolNames(&content)?.first
            case ExtensionType.preSharedKey:
                acceptsPreSharedKey = true
            default:
                break
            }
        }
    }
}

/// TLS 1.3 EncryptedExtensions: only ALPN matters here.
struct EncryptedExtensions: Equatable {
    var selectedProtocol: String?

    init?(body: [UInt8]) {
        var reader = ByteReader(body)
        guard let extensions = parseExtensions(&reader) else { return nil }
        for (type, data) in extensions where type == ExtensionType.applicationLayerProtocolNegotiation {
            var content = ByteReader(data)
            selectedProtocol = parseProtocolNames(&content)?.first
        }
    }
}

/// TLS 1.2 NewSessionTicket (RFC 5077 §3.3): lifetime hint, ticket.
struct TLS12NewSessionTicket: Equatable {
    var ticket: [UInt8]

    init?(body: [UInt8]) {
        var reader = ByteReader(body)
        guard reader.uint32() != nil, let ticket = reader.vector16() else { return nil }
        self.ticket = Array(ticket)
    }
}

/// `Extension extensions<0..2^16-1>`: (type, data) pairs; nil when the lengths do not add up.
private func parseExtensions(_ reader: inout ByteReader) -> [(UInt16, ArraySlice<UInt8>)]? {
    guard let block = reader.vector16() else { return nil }
    var list = ByteReader(block)
    var extensions: [(UInt16, ArraySlice<UInt8>)] = []
    while !list.isAtEnd {
        guard let type = list.uint16(), let data = list.vector16() else { return nil }
        extensions.append((type, data))
    }
    return extensions
}

/// ProtocolNameList (RFC 7301 §3.1).
private func parseProtocolNames(_ content: inout ByteReader) -> [String]? {
    guard let list = content.vector16() else { return nil }
    var names = ByteReader(list)
    var protocols: [String] = []
    while !names.isAtEnd {
        guard let name = names.vector8() else { return nil }
        protocols.append(String(decoding: name, as: UTF8.self))
    }
    return protocols
}

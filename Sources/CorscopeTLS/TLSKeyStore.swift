import Foundation

/// A malformed line of an NSS key log: where it was, and why it was not used.
public struct TLSKeyLogProblem: Sendable, Equatable, CustomStringConvertible {
    /// The file (or "pcapng DSB", or whatever the caller named the text).
    public var source: String
    /// 1-based line number.
    public var line: Int
    public var reason: String

    public init(source: String, line: Int, reason: String) {
        self.source = source
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(source):\(line): \(reason)" }
}

/// Why a key log file could not be read at all.
public struct TLSKeyLogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot read the TLS key log \(path): \(reason)" }
}

/// The secrets a key log gave for one client random (one TLS connection).
struct TLSSecrets: Sendable, Equatable {
    /// TLS 1.2 (and earlier): `CLIENT_RANDOM`, the 48-byte master secret.
    var masterSecret: [UInt8]?
    /// TLS 1.3: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    var clientHandshakeTrafficSecret: [UInt8]?
    var serverHandshakeTrafficSecret: [UInt8]?
    /// TLS 1.3: `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`.
    var clientTrafficSecret0: [UInt8]?
    var serverTrafficSecret0: [UInt8]?
}

/// NSS key log (SSLKEYLOGFILE) secrets, by client random.
///
/// Thread-safe: `watch` appends what a browser writes to its key log while the capture thread
/// reads. Besides the key log's lines it remembers, for TLS 1.2 resumption, which master secret
/// a session id or session ticket stands for (learned from the connections that set them up),
/// so that an abbreviated handshake decrypts even when only the first connection's line exists.
public final class TLSKeyStore: @unchecked Sendable {
    private let lock = NSLock()
    private var byClientRandom: [[UInt8]: TLSSecrets] = [:]
    private var masterSecretBySessionID: [[UInt8]: [UInt8]] = [:]
    private var masterSecretByTicket: [[UInt8]: [UInt8]] = [:]
    /// Resumption entries kept at most (oldest dropped first is not worth the bookkeeping: past
    /// the cap new ones are not remembered); bounds memory on a capture of many connections.
    private let maximumResumptionEntries = 65_536

    public init() {}

    /// The number of distinct client randoms with at least one secret.
    public var clientRandomCount: Int {
        lock.lock(); defer { lock.unlock() }
        return byClientRandom.count
    }

    /// Parses NSS key log text (`CLIENT_RANDOM`, `CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET`,
    /// `CLIENT_/SERVER_TRAFFIC_SECRET_0`; comments, blank lines and unknown labels such as
    /// `EXPORTER_SECRET` or `RSA` are ignored) and returns the malformed lines with their 1-based
    /// line number. May be called again with more text (a followed file, a pcapng Decryption
    /// Secrets Block's TLSK payload): `firstLineNumber` continues the numbering. A later line
    /// for the same client random and label replaces the earlier one.
    @discardableResult
    public func add(keyLog text: [UInt8], source: String, firstLineNumber: Int = 1) -> [TLSKeyLogProblem] {
        var problems: [TLSKeyLogProblem] = []
        var parsed: [(clientRandom: [UInt8], label: KeyLogLabel, secret: [UInt8])] = []
        var lineNumber = firstLineNumber
        // A byte order mark (an editor's) would hide the first line's label.
        var lineStart = firstLineNumber == 1 && text.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        // A final line without a newline counts as a line too.
        for index in 0...text.count where index == text.count || text[index] == UInt8(ascii: "\n") {
            defer { lineNumber += 1; lineStart = index + 1 }
            if index == text.count && lineStart == index { break }
            switch KeyLogLine.parse(text[lineStart..<index]) {
            case .ignored: break
            case .secret(let label, let clientRandom, let secret): parsed.append((clientRandom, label, secret))
            case .malformed(let reason): problems.append(TLSKeyLogProblem(source: source, line: lineNumber, reason: reason))
            }
        }
        guard !parsed.isEmpty else { return problems }
        lock.lock(); defer { lock.unlock() }
        for entry in parsed {
            var secrets = byClientRandom[entry.clientRandom] ?? TLSSecrets()
            switch entry.label {
            case .clientRandom: secrets.masterSecret = entry.secret
            case .clientHandshakeTrafficSecret: secrets.clientHandshakeTrafficSecret = entry.secret
            case .serverHandshakeTrafficSecret: secrets.serverHandshakeTrafficSecret = entry.secret
            case .clientTrafficSecret0: secrets.clientTrafficSecret0 = entry.secret
            case .serverTrafficSecret0: secrets.serverTrafficSecret0 = entry.secret
            }
            byClientRandom[entry.clientRandom] = secrets
        }
        return problems
    }

    /// Reads a key log file whole and adds it (see `add(keyLog:source:firstLineNumber:)`).
    /// - Throws: `TLSKeyLogError` when the file cannot be read.
    public func add(contentsOfFile path: String) throws -> [TLSKeyLogProblem] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            let reason: String
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                reason = "no such file"
            } else if isDirectory.boolValue {
                reason = "it is a directory"
            } else if !FileManager.default.isReadableFile(atPath: path) {
                reason = "permission denied"
            } else {
                reason = (error as NSError).localizedDescription
            }
            throw TLSKeyLogError(path: path, reason: reason)
        }
        return add(keyLog: [UInt8](data), source: path)
    }

    // MARK: Used by the connections

    func secrets(forClientRandom clientRandom: [UInt8]) -> TLSSecrets? {
        lock.lock(); defer { lock.unlock() }
        return byClientRandom[clientRandom]
    }

    /// A full TLS 1.2 handshake's session id (from the ServerHello) and master secret.
    func remember(sessionID: [UInt8], masterSecret: [UInt8]) {
        guard !sessionID.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        if masterSecretBySessionID.count < maximumResumptionEntries || masterSecretBySessionID[sessionID] != nil {
            masterSecretBySessionID[sessionID] = masterSecret
        }
    }

    /// A TLS 1.2 NewSessionTicket's ticket and the master secret of the session it stands for.
    func remember(ticket: [UInt8], masterSecret: [UInt8]) {
        guard !ticket.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        if masterSecretByTicket.count < maximumResumptionEntries || masterSecretByTicket[ticket] != nil {
            masterSecretByTicket[ticket] = masterSecret
        }
    }

    func masterSecret(forSessionID sessionID: [UInt8]) -> [UInt8]? {
        guard !sessionID.isEmpty else { return nil }
        lock.lock(); defer { lock.unlock() }
        return masterSecretBySessionID[sessionID]
    }

    func masterSecret(forTicket ticket: [UInt8]) -> [UInt8]? {
        guard !ticket.isEmpty else { return nil }
        lock.lock(); defer { lock.unlock() }
        return masterSecretByTicket[ticket]
    }
}

/// The key log labels this module uses.
enum KeyLogLabel: String, CaseIterable {
    case clientRandom = "CLIENT_RANDOM"
    case clientHandshakeTrafficSecret = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
    case serverHandshakeTrafficSecret = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
    case clientTrafficSecret0 = "CLIENT_TRAFFIC_SECRET_0"
    case serverTrafficSecret0 = "SERVER_TRAFFIC_SECRET_0"
}

/// One line of an NSS key log: `LABEL <client random, 64 hex digits> <secret, hex>`.
enum KeyLogLine: Equatable {
    case ignored
    case secret(KeyLogLabel, clientRandom: [UInt8], secret: [UInt8])
    case malformed(String)

    static func parse(_ line: ArraySlice<UInt8>) -> KeyLogLine {
        let fields = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
        guard let first = fields.first, first.first != UInt8(ascii: "#") else { return .ignored }
        // Unknown labels (EXPORTER_SECRET, EARLY_EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET,
        // RSA, later additions) are someone else's business, whatever follows them.
        guard let label = KeyLogLabel(rawValue: String(decoding: first, as: UTF8.self)) else { return .ignored }
        guard fields.count == 3 else {
            return .malformed("\(label.rawValue) needs a client random and a secret (found \(fields.count - 1) field\(fields.count == 2 ? "" : "s"))")
        }
        guard let clientRandom = Hex.decode(fields[1]) else {
            return .malformed("the client random is not hexadecimal")
        }
        guard clientRandom.count == 32 else {
            return .malformed("the client random has \(clientRandom.count) bytes, not 32")
        }
        guard let secret = Hex.decode(fields[2]) else {
            return .malformed("the secret is not hexadecimal")
        }
        switch label {
        case .clientRandom:
            guard secret.count == 48 else { return .malformed("the master secret has \(secret.count) bytes, not 48") }
        default:
            // SHA-256 or SHA-384 sized: the only hashes of TLS 1.3's suites.
            guard secret.count == 32 || secret.count == 48 else {
                return .malformed("the secret has \(secret.count) bytes, not 32 or 48")
            }
        }
        return .secret(label, clientRandom: clientRandom, secret: secret)
    }
}

enum Hex {
    /// Bytes from hexadecimal digits (either case); nil for an odd count or another character.
    static func decode<S: Collection>(_ digits: S) -> [UInt8]? where S.Element == UInt8 {
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var high: UInt8?
        for digit in digits {
            guard let value = nibble(digit) else { return nil }
            if let pending = high {
                bytes.append(pending << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes
    }

    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

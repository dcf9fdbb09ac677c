// The TLS stage: between TCP reassembly and the HTTP analyzers (see README "Architecture").
// What one connection's TLS was (`TLSSession`), how far its decryption got
// (`TLSDecryptionState`), what it counted (`TLSStatistics`) and the limits it keeps
// (`TLSConfiguration`). The work itself is in `TLSConnectionDecryptor`.
import CorscopeReassembly

/// Everything known about one TLS connection, whether or not it could be decrypted.
public struct TLSSession: Sendable, Equatable {
    /// The server name the client asked for (SNI); nil when it sent none (an IP literal).
    public var serverName: String?
    /// The application protocols the client offered (ALPN), in its order.
    public var offeredProtocols: [String]
    /// The protocol the server chose: from the ServerHello in TLS 1.2, from EncryptedExtensions
    /// in TLS 1.3 (so only known once the server's handshake was decrypted).
    public var selectedProtocol: String?
    /// "TLS 1.2" / "TLS 1.3" as negotiated; before the ServerHello, the highest the client offered.
    public var version: String?
    /// The IANA name of the negotiated suite ("TLS_AES_128_GCM_SHA256",
    /// "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), or "0xC0FF" for a suite this module does not name.
    public var cipherSuite: String?
    /// An abbreviated handshake: TLS 1.2 session id or ticket resumption, or TLS 1.3 PSK.
    public var resumed: Bool

    public init(serverName: String? = nil, offeredProtocols: [String] = [], selectedProtocol: String? = nil,
                version: String? = nil, cipherSuite: String? = nil, resumed: Bool = false) {
        self.serverName = serverName
        self.offeredProtocols = offeredProtocols
        self.selectedProtocol = selectedProtocol
        self.version = version
        self.cipherSuite = cipherSuite
        self.resumed = resumed
    }
}

/// How far decrypting one connection got. A connection starts `.decrypting` (also while its
/// records wait for a key) and leaves it only for a reason it cannot recover from.
public enum TLSDecryptionState: Sendable, Equatable {
    /// Decrypting, or still able to: the handshake was read and the keys are there or may come.
    case decrypting
    /// The key log has no secret for this connection's client random: none came before the
    /// connection ended, or before `TLSConfiguration.maximumBufferedCiphertextBytes` filled up.
    case noKey
    /// The server chose a suite this module does not decrypt (its IANA name): CBC, RC4, CCM, NULL.
    case unsupportedSuite(String)
    /// The capture started after the hellos (or lost them): there is no client random to look
    /// a key up by, or no ServerHello to tell the version and suite.
    case handshakeNotCaptured
    /// The bytes are not TLS records.
    case notTLS
}

/// What one connection's TLS stage counted. Byte counts are of the TCP stream (record headers
/// included) unless they say plaintext.
public struct TLSStatistics: Sendable, Equatable {
    /// Bytes received from TCP (both directions), TLS or not.
    public var receivedBytes = 0
    /// Complete records read (both directions), plaintext or protected.
    public var records = 0
    /// Protected records whose AEAD tag verified.
    public var decryptedRecords = 0
    /// application_data plaintext passed downstream, client to server.
    public var plaintextBytesFromClient = 0
    /// application_data plaintext passed downstream, server to client.
    public var plaintextBytesFromServer = 0
    /// Bytes of protected records that were never decrypted: no key, unsupported suite, failed
    /// authentication, dropped past the buffering cap, waiting when the connection ended.
    public var undecryptedBytes = 0
    /// Gaps reported by TCP reassembly (holes in the byte stream).
    public var gaps = 0
    /// Bytes of the TLS stream lost: the gaps' lengths, the partial records they cut, and what
    /// was skipped to find the next record header.
    public var lostBytes = 0
    /// Times the record layer found the record boundary again after a gap or garbage.
    public var resyncedRecords = 0
    /// Records whose AEAD tag did not verify with any key and sequence number tried.
    public var authenticationFailures = 0
    /// Alert records (plaintext or decrypted); an alert ends nothing by itself.
    public var alerts = 0
    /// Decrypted TLS 1.3 KeyUpdate messages (each moved a direction to its next secret).
    public var keyUpdates = 0
    /// The leniencies this connection needed (see `TLSLeniency`).
    public var leniencies: Set<TLSLeniency> = []

    public init() {}

    /// application_data plaintext passed downstream in `direction`.
    public func plaintextBytes(_ direction: FlowDirection) -> Int {
        direction == .clientToServer ? plaintextBytesFromClient : plaintextBytesFromServer
    }
}

/// The limits one connection's TLS stage keeps, so that hostile or broken input costs bounded memory.
public struct TLSConfiguration: Sendable, Hashable {
    /// Protected records kept per connection (both directions) while waiting for the key log to
    /// get this connection's secrets (`watch` follows a key log the browser appends to). Past it
    /// the waiting records are dropped and counted, and the state becomes `.noKey`.
    public var maximumBufferedCiphertextBytes = 1 << 20
    /// The largest record fragment accepted: 2^14 + 2048 (RFC 5246 §6.2.3, the ciphertext bound).
    /// A header announcing more is not a record: the record layer resynchronises.
    public var maximumRecordLength = 16_384 + 2_048
    /// The largest handshake message read (ClientHello, ServerHello, EncryptedExtensions,
    /// NewSessionTicket); larger messages of the types not read (certificates) are skipped
    /// without being kept.
    public var maximumHandshakeMessageLength = 65_536
    /// After a loss, how far from each guess of the number of records lost the sequence numbers
    /// are tried (AEAD tags make trial safe; each try costs one record's decryption). The guesses:
    /// the lost bytes at the size of the largest record seen, at the largest size allowed, and
    /// none. Only the first few records after a loss are searched so.
    public var maximumRecordsLostInGap = 32

    public init() {}
}

/// Where the TLS stage accepts what a strict peer would not, or guesses where the capture lost
/// something; each has a name so a report (or a test) can say which were needed.
public enum TLSLeniency: String, Sendable, Hashable, CaseIterable {
    /// A record header's version is any of 3.0–3.4, not only the one negotiated.
    case anyRecordVersion
    /// After a gap (or bytes that are no record header) the record boundary was found again by
    /// header plausibility, confirmed by a tag that verified.
    case resynchronised
    /// A protected record verified only with a later sequence number than expected: the records
    /// between were lost (or failed); the sequence number follows the one that verified.
    case sequenceNumbersSkipped
    /// A protected record whose tag verified with no key and sequence number tried was skipped
    /// (counted in `authenticationFailures`), and the next one was tried with the following
    /// sequence numbers.
    case failedRecordSkipped
    /// TLS 1.3: the key log had the application traffic secrets but not the handshake ones; the
    /// handshake records were skipped (so the ALPN choice is unknown) and the application
    /// records decrypted.
    case handshakeSecretsMissing
    /// TLS 1.3: a direction moved to its application keys on a record that did not verify with
    /// the handshake keys but did with the application ones (its Finished was not seen).
    case finishedNotSeen
    /// TLS 1.3: after a loss, a record verified only with the next generation's secret: a
    /// KeyUpdate was in what was lost (counted in `keyUpdates` too).
    case keyUpdateNotSeen
    /// TLS 1.2: the master secret came from the session this connection resumed (session id or
    /// ticket of an earlier connection), not from a CLIENT_RANDOM line of its own.
    case masterSecretFromResumedSession
    /// TLS 1.2: protected data came from a side whose ChangeCipherSpec was lost in a gap; the
    /// side was taken to have changed keys.
    case changeCipherSpecNotSeen
    /// Client records that need the ServerHello (its version and suite) arrived before it and
    /// were held until it came.
    case clientRecordsBeforeServerHello
}

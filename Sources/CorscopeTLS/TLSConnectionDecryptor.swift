import CorscopeCapture
import CorscopeReassembly

/// One connection's TLS: fed reassembled TCP bytes (it is a `TCPStreamHandler`), it reads the
/// handshake, derives keys from the key store, decrypts the protected records, and feeds the
/// application_data plaintext — in order, per direction, with the capture time of the record
/// that completed it — to a downstream `TCPStreamHandler` that it creates once, when it first
/// has plaintext (by then ALPN is known), through `makePlaintextHandler(session)`.
///
/// - Lost ciphertext becomes `gap(length:)` downstream (the ciphertext bytes lost, said before
///   the next plaintext of that direction); `end` is passed on once a handler exists.
/// - Decrypted handshake messages (TLS 1.3 NewSessionTicket, KeyUpdate, Finished) and alerts
///   are consumed; an alert ends nothing by itself.
/// - Records that need a secret the key store does not have yet wait, in order, up to
///   `TLSConfiguration.maximumBufferedCiphertextBytes` per connection; the store is asked again
///   on each new record (and when a direction ends). Past the cap, or at the end, `.noKey`.
/// - Every length from the wire is checked; memory is bounded by one record and one handshake
///   message per direction plus the waiting records. Where it accepts what a strict peer would
///   not, it says so in `statistics.leniencies` (see `TLSLeniency`).
///
/// Not supported: renegotiation (TLS 1.2 keys change once), TLS 1.3 0-RTT early data, CBC/RC4/
/// CCM suites (see `CipherSuite`), SSLv2-format ClientHellos, RSA pre-master secrets in the
/// key log (the `RSA` label: only master secrets and TLS 1.3 traffic secrets are used).
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class TLSConnectionDecryptor: TCPStreamHandler {
    public let connection: ConnectionInfo
    private let keys: TLSKeyStore
    private let configuration: TLSConfiguration
    private let makePlaintextHandler: (TLSSession) -> any TCPStreamHandler

    /// What the handshake said so far.
    @exclusivity(unchecked) public private(set) var session = TLSSession()
    @exclusivity(unchecked) public private(set) var state: TLSDecryptionState = .decrypting
    @exclusivity(unchecked) public private(set) var statistics = TLSStatistics()
    /// The downstream handler, once there was plaintext.
    @exclusivity(unchecked) public private(set) var plaintextHandler: (any TCPStreamHandler)?

    @exclusivity(unchecked) private var directions: [DirectionState]
    @exclusivity(unchecked) private var facts = HandshakeFacts()
    /// Protected records waiting for a key or the ServerHello, both directions.
    @exclusivity(unchecked) private var bufferedBytes = 0
    @exclusivity(unchecked) private var sawRecord = false
    @exclusivity(unchecked) private var isRetryingWaiting = false

    public init(connection: ConnectionInfo, keys: TLSKeyStore, configuration: TLSConfiguration = .init(),
                makePlaintextHandler: @escaping (TLSSession) -> any TCPStreamHandler) {
        self.connection = connection
        self.keys = keys
        self.configuration = configuration
        self.makePlaintextHandler = makePlaintextHandler
        directions = [DirectionState(configuration), DirectionState(configuration)]
    }

    /// The ClientHello's random (what the key log is keyed by), once read.
    var clientRandomForTests: [UInt8]? { facts.clientHello?.random }
    /// Protected bytes waiting for a key or the ServerHello.
    var bufferedCiphertextBytesForTests: Int { bufferedBytes }

    /// TLS record header test for protocol detection: content type 20–23, version 3.x (x ≤ 4),
    /// and, when 5 bytes are there, a length no record may exceed (2^14 + 2048).
    public static func startsWithTLSRecord(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count >= 3 else { return false }
        let length = data.count >= RecordHeader.length ? Int(data[3]) << 8 | Int(data[4]) : 0
        return RecordHeader.isPlausible(data[0], data[1], data[2], fragmentLength: length,
                                        maximumLength: TLSConfiguration().maximumRecordLength, strict: false)
    }

    /// Tries the records that wait for a secret again. New records and the end of a direction
    /// do this by themselves; call it after adding key log lines (`watch` following a key log)
    /// so that a connection that went quiet while waiting is decrypted without waiting for more.
    public func recheckKeys() {
        guard bufferedBytes > 0 else { return }
        retryWaiting()
    }

    // MARK: TCPStreamHandler

    public func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        statistics.receivedBytes += data.count
        guard state != .notTLS, !data.isEmpty else { return }
        directions[direction.rawValue].reader.append(data)
        readRecords(direction, time: time)
    }

    public func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        statistics.gaps += 1
        guard state != .notTLS else { return }
        let partial = directions[direction.rawValue].reader.discardForGap()
        lose(partial + max(0, length), direction, time: time)
    }

    public func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        let index = direction.rawValue
        guard !directions[index].ended else { return }
        directions[index].ended = true
        // A record cut by the end of the stream was received but can never be read.
        statistics.undecryptedBytes += directions[index].reader.discardRemainder()
        if bufferedBytes > 0 { retryWaiting() }
        giveUpWaiting(direction)
        directions[index].endedAt = (time, reason)
        if let handler = plaintextHandler { passEnd(direction, to: handler) }
        if directions.allSatisfy(\.ended), state == .decrypting {
            if !sawRecord {
                if statistics.receivedBytes > 0 { state = .notTLS }
            } else if facts.clientHello == nil || (facts.serverHello == nil && directions[1].records > 0) {
                state = .handshakeNotCaptured
            }
        }
    }

    /// Says downstream that `direction` ended (after the ciphertext lost at its end, if any).
    private func passEnd(_ direction: FlowDirection, to handler: any TCPStreamHandler) {
        let index = direction.rawValue
        guard let (time, reason) = directions[index].endedAt else { return }
        if directions[index].unreportedLostBytes > 0 {
            handler.gap(length: directions[index].unreportedLostBytes, direction: direction, time: time)
            directions[index].unreportedLostBytes = 0
        }
        handler.end(direction: direction, time: time, reason: reason)
    }

    // MARK: Records

    private func readRecords(_ direction: FlowDirection, time: Timestamp) {
        let index = direction.rawValue
        while true {
            let next = directions[index].reader.next()
            let skipped = directions[index].reader.takeSkippedBytes()
            if skipped > 0 { lose(skipped, direction, time: time) }
            switch next {
            case .needMoreBytes:
                return
            case .notARecordHeader:
                guard sawRecord || !connection.sawHandshake else {
                    state = .notTLS
                    _ = directions[index].reader.discardRemainder()
                    return
                }
                // Mid-stream (a capture that began inside the connection, or bytes that are no
                // record): look for the next record header.
                directions[index].reader.startResynchronising()
            case .record(let record, let afterResync):
                if bufferedBytes > 0 { retryWaiting() }
                let outcome = directions[index].waiting.isEmpty
                    ? process(record, direction, time: time, resyncCandidate: afterResync)
                    : .wait
                switch outcome {
                case .rejected:
                    directions[index].reader.rejectLastRecord()
                    directions[index].rejectedCandidates += 1
                    if directions[index].rejectedCandidates > Self.maximumRejectedCandidates {
                        directions[index].abandoned = true
                    }
                    continue
                case .done:
                    break
                case .wait:
                    wait(record, direction, time: time)
                }
                sawRecord = true
                statistics.records += 1
                directions[index].records += 1
                if afterResync {
                    directions[index].rejectedCandidates = 0
                }
            }
        }
    }

    /// Records after a loss that are tried with the whole window of sequence numbers.
    private static let recordsSearchedAfterLoss: UInt64 = 8

    /// Bounds the trial decryptions one resynchronisation may cost (each candidate may be tried
    /// with `maximumRecordsLostInGap` sequence numbers): past it, the direction stops decrypting.
    private static let maximumRejectedCandidates = 16

    /// Ciphertext lost (a gap, a cut record, bytes skipped looking for a header): counted, said
    /// downstream before the next plaintext, in order with the records still waiting.
    private func lose(_ count: Int, _ direction: FlowDirection, time: Timestamp) {
        guard count > 0 else { return }
        statistics.lostBytes += count
        let index = direction.rawValue
        if directions[index].waiting.isEmpty {
            applyLoss(count, direction)
        } else {
            directions[index].waiting.append(.loss(count))
        }
    }

    private func applyLoss(_ count: Int, _ direction: FlowDirection) {
        let index = direction.rawValue
        directions[index].unreportedLostBytes += count
        directions[index].handshake.reset()
        let earlier = directions[index].loss
        directions[index].loss = LossEstimate(bytes: (earlier?.bytes ?? 0) + count, recordsSince: earlier?.recordsSince ?? 0)
    }

    /// The sequence numbers to try on `record`, most likely first: `next` when nothing was lost;
    /// after a loss, around the number of records the lost bytes held (at the size of the
    /// largest record seen, which is what bulk transfers send), from the fewest records they
    /// can have held (at the largest size allowed), and right after `next` — each within
    /// `maximumRecordsLostInGap`. TLS 1.2 GCM senders (OpenSSL, BoringSSL, NSS, Go) put the
    /// sequence number in the explicit nonce: that one is tried first.
    private func sequenceNumberCandidates(_ direction: FlowDirection, record: TLSRecord, after next: UInt64,
                                          layout: RecordProtection.Layout) -> [UInt64] {
        let index = direction.rawValue
        guard let loss = directions[index].loss else { return [next] }
        var candidates: [UInt64] = []
        var seen = Set<UInt64>()
        func add(_ sequenceNumber: UInt64) {
            if seen.insert(sequenceNumber).inserted { candidates.append(sequenceNumber) }
        }
        if layout == .tls12, facts.suite?.aead != .chaCha20Poly1305, record.fragment.count >= 8 {
            let explicit = record.fragment.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if explicit >= next { add(explicit) }
        }
        let base = next &+ loss.recordsSince
        // Past a few records that verified with none of them, the search is not worth its cost
        // (a lost KeyUpdate of TLS 1.2's renegotiation, a key that is wrong): one guess each.
        guard loss.recordsSince <= Self.recordsSearchedAfterLoss else { add(base); return candidates }
        let window = max(0, configuration.maximumRecordsLostInGap)
        let estimate = loss.bytes / max(1, directions[index].largestRecord)
        let fewest = loss.bytes / (configuration.maximumRecordLength + RecordHeader.length)
        for distance in 0...window {
            add(base &+ UInt64(estimate + distance))
            if distance <= estimate { add(base &+ UInt64(estimate - distance)) }
        }
        for offset in 0...window { add(base &+ UInt64(fewest + offset)) }
        for offset in 0...window { add(base &+ UInt64(offset)) }
        return candidates
    }

    private enum Outcome {
        case done
        /// A resynchronisation candidate that no key and sequence number verified: not a record.
        case rejected
        /// Needs what is not there yet (the ServerHello, a secret): nothing was changed.
        case wait
    }

    /// Handles one record. Returns `.wait` before changing anything when the record cannot be
    /// handled yet, so that it can be handled later exactly as now.
    private func process(_ record: TLSRecord, _ direction: FlowDirection, time: Timestamp, resyncCandidate: Bool) -> Outcome {
        let index = direction.rawValue
        if directions[index].abandoned {
            statistics.undecryptedBytes += record.count
            return .done
        }
        if record.version >> 8 == 3, record.version & 0xFF != 1, record.version & 0xFF != 3 {
            statistics.leniencies.insert(.anyRecordVersion)
        }
        switch directions[index].epoch {
        case .plaintext:
            return processPlaintext(record, direction, time: time)
        case .tls12, .tls13Handshake, .tls13Application:
            if record.contentType == ContentType.changeCipherSpec && facts.isTLS13 {
                return .done  // middlebox compatibility (RFC 8446 §D.4): not protected, no sequence number
            }
            if facts.isTLS13 && record.contentType != ContentType.applicationData {
                // TLS 1.3 protects only application_data records; a plaintext alert can still come.
                if record.contentType == ContentType.alert { statistics.alerts += 1 }
                return .done
            }
            return decrypt(record, direction, time: time, resyncCandidate: resyncCandidate)
        }
    }

    private func processPlaintext(_ record: TLSRecord, _ direction: FlowDirection, time: Timestamp) -> Outcome {
        let index = direction.rawValue
        switch record.contentType {
        case ContentType.handshake:
            for message in directions[index].handshake.append(Array(record.fragment)) {
                handlePlaintextHandshake(message, direction)
            }
            if facts.serverHello != nil, bufferedBytes > 0 { retryWaiting() }
            return .done
        case ContentType.alert:
            statistics.alerts += 1
            return .done
        case ContentType.changeCipherSpec:
            guard facts.serverHello != nil else {
                // The client's CCS before the ServerHello was read: the server's bytes are late.
                if direction == .clientToServer, facts.clientHello != nil { return waitForServerHello() }
                return .done
            }
            if facts.isTLS13 { return .done }
            if direction == .serverToClient, !facts.sawServerHelloDone {
                // The server changed keys without ending a full hello flight (ServerHelloDone):
                // an abbreviated handshake. (Not "no Certificate": anonymous and PSK suites send none.)
                session.resumed = true
            }
            directions[index].epoch = .tls12
            _ = installKeys(direction)
            return .done
        default:  // application_data in the clear
            if facts.clientHello == nil || (direction == .serverToClient && facts.serverHello == nil) {
                if state == .decrypting { state = .handshakeNotCaptured }
                statistics.undecryptedBytes += record.count
                return .done
            }
            if facts.serverHello == nil { return waitForServerHello() }
            if !facts.isTLS13, directions[index].loss != nil {
                // TLS 1.2 data after a loss, before any ChangeCipherSpec from this side: the CCS
                // (and maybe the Finished) was in what was lost.
                statistics.leniencies.insert(.changeCipherSpecNotSeen)
                directions[index].epoch = .tls12
                return decrypt(record, direction, time: time, resyncCandidate: false)
            }
            statistics.undecryptedBytes += record.count
            return .done
        }
    }

    private func waitForServerHello() -> Outcome {
        statistics.leniencies.insert(.clientRecordsBeforeServerHello)
        return .wait
    }

    // MARK: Decryption

    private func decrypt(_ record: TLSRecord, _ direction: FlowDirection, time: Timestamp, resyncCandidate: Bool) -> Outcome {
        let index = direction.rawValue
        if state != .decrypting {
            statistics.undecryptedBytes += record.count
            return .done
        }
        if directions[index].protection == nil && !installKeys(direction) {
            if directions[index].epoch == .tls13Handshake, applicationKeysWithoutHandshakeSecrets(direction) {
                // Leniency handshakeSecretsMissing: try the application keys on every handshake record.
                return decryptSkippingHandshake(record, direction, time: time, resyncCandidate: resyncCandidate)
            }
            return .wait
        }
        guard var protection = directions[index].protection else { return .wait }
        let expected = protection.nextSequenceNumber
        let loss = directions[index].loss
        directions[index].largestRecord = max(directions[index].largestRecord, record.count)
        var opened: (RecordProtection.Opened, UInt64)?
        for sequenceNumber in sequenceNumberCandidates(direction, record: record, after: expected, layout: protection.layout) {
            if let result = protection.open(record, sequenceNumber: sequenceNumber) {
                opened = (result, sequenceNumber)
                break
            }
        }
        if opened == nil, directions[index].epoch == .tls13Handshake, let secret = applicationSecret0(direction),
           let (application, result, offset) = trial(secret, record, direction) {
            // The Finished that moves this direction to its application keys was not seen.
            statistics.leniencies.insert(.finishedNotSeen)
            protection = application
            directions[index].epoch = .tls13Application
            directions[index].trafficSecret = secret
            opened = (result, offset)
        }
        if opened == nil, loss != nil, directions[index].epoch == .tls13Application, let suite = facts.suite,
           let secret = directions[index].trafficSecret {
            // A KeyUpdate may have been in what was lost: try the next generation too.
            let next = KeySchedule.tls13NextTrafficSecret(secret, suite: suite)
            if let (updated, result, offset) = trial(next, record, direction) {
                statistics.leniencies.insert(.keyUpdateNotSeen)
                statistics.keyUpdates += 1
                protection = updated
                directions[index].trafficSecret = next
                opened = (result, offset)
            }
        }
        guard let (content, sequenceNumber) = opened else {
            if resyncCandidate { return .rejected }
            statistics.authenticationFailures += 1
            statistics.undecryptedBytes += record.count
            statistics.leniencies.insert(.failedRecordSkipped)
            // This record took a sequence number too (whichever): the next one is one later.
            directions[index].loss = LossEstimate(bytes: loss?.bytes ?? 0, recordsSince: (loss?.recordsSince ?? 0) + 1)
            return .done
        }
        if loss != nil {
            directions[index].loss = nil
            if resyncCandidate {
                statistics.resyncedRecords += 1
                statistics.leniencies.insert(.resynchronised)
            }
        }
        if sequenceNumber != expected { statistics.leniencies.insert(.sequenceNumbersSkipped) }
        protection.nextSequenceNumber = sequenceNumber &+ 1
        directions[index].protection = protection
        statistics.decryptedRecords += 1
        handleDecrypted(content, direction, time: time)
        return .done
    }

    /// TLS 1.3 with only application secrets: a record opens with them (the direction moves
    /// on) or is a handshake record nobody can read here (skipped and counted).
    private func decryptSkippingHandshake(_ record: TLSRecord, _ direction: FlowDirection, time: Timestamp,
                                          resyncCandidate: Bool) -> Outcome {
        let index = direction.rawValue
        guard let secret = applicationSecret0(direction) else { return .wait }
        statistics.leniencies.insert(.handshakeSecretsMissing)
        if let (application, opened, _) = trial(secret, record, direction) {
            directions[index].epoch = .tls13Application
            directions[index].protection = application
            directions[index].trafficSecret = secret
            statistics.decryptedRecords += 1
            handleDecrypted(opened, direction, time: time)
        } else {
            // Still a handshake record: nobody here can read it; keep trying the next ones.
            if resyncCandidate { return .rejected }
            statistics.undecryptedBytes += record.count
        }
        return .done
    }

    private func handleDecrypted(_ opened: RecordProtection.Opened, _ direction: FlowDirection, time: Timestamp) {
        let index = direction.rawValue
        switch opened.contentType {
        case ContentType.applicationData:
            deliver(opened.content, direction, time: time)
        case ContentType.handshake:
            for message in directions[index].handshake.append(opened.content) {
                handleProtectedHandshake(message, direction)
            }
        case ContentType.alert:
            statistics.alerts += 1
        default:
            break  // a TLS 1.2 CCS under protection would be renegotiation: not followed
        }
    }

    private func deliver(_ plaintext: [UInt8], _ direction: FlowDirection, time: Timestamp) {
        guard !plaintext.isEmpty else { return }  // empty application_data (a CBC-era countermeasure) says nothing
        let handler: any TCPStreamHandler
        if let existing = plaintextHandler {
            handler = existing
        } else {
            handler = makePlaintextHandler(session)
            plaintextHandler = handler
            // A direction that ended before there was a handler ended all the same.
            for other in [FlowDirection.clientToServer, .serverToClient] where other != direction { passEnd(other, to: handler) }
        }
        let index = direction.rawValue
        if directions[index].unreportedLostBytes > 0 {
            handler.gap(length: directions[index].unreportedLostBytes, direction: direction, time: time)
            directions[index].unreportedLostBytes = 0
        }
        plaintext.withUnsafeBytes { handler.receive($0, direction: direction, time: time) }
        if direction == .clientToServer {
            statistics.plaintextBytesFromClient += plaintext.count
        } else {
            statistics.plaintextBytesFromServer += plaintext.count
        }
    }

    // MARK: Handshake messages

    private func handlePlaintextHandshake(_ message: HandshakeMessage, _ direction: FlowDirection) {
        switch (message.type, direction) {
        case (HandshakeType.clientHello, .clientToServer):
            guard let body = message.body, let hello = ClientHello(body: body) else { return }
            if facts.clientHello == nil {
                facts.clientHello = hello
                session.serverName = hello.serverName
                session.offeredProtocols = hello.offeredProtocols
                session.version = TLSVersion.name(hello.highestVersion)
            }
            // A second ClientHello (after a HelloRetryRequest) keeps the random; nothing else here matters.
        case (HandshakeType.serverHello, .serverToClient):
            guard facts.serverHello == nil, let body = message.body, let hello = ServerHello(body: body) else { return }
            session.version = TLSVersion.name(hello.version) ?? session.version
            session.cipherSuite = CipherSuite.name(hello.cipherSuite)
            // A HelloRetryRequest asks for another ClientHello; the real ServerHello follows.
            guard !hello.isHelloRetryRequest else { return }
            acceptServerHello(hello)
        case (HandshakeType.serverHelloDone, .serverToClient):
            facts.sawServerHelloDone = true
        case (HandshakeType.newSessionTicket, .serverToClient):
            guard !facts.isTLS13, let body = message.body, let ticket = TLS12NewSessionTicket(body: body) else { return }
            facts.issuedTicket = ticket.ticket
            if let master = facts.masterSecret { keys.remember(ticket: ticket.ticket, masterSecret: master) }
        default:
            break
        }
    }

    private func acceptServerHello(_ hello: ServerHello) {
        facts.serverHello = hello
        let suite = CipherSuite.named(hello.cipherSuite)
        facts.suite = suite
        if facts.isTLS13 {
            session.resumed = hello.acceptsPreSharedKey
            // Every application_data record from here on, both ways, is protected.
            directions[0].epoch = .tls13Handshake
            directions[1].epoch = .tls13Handshake
        } else {
            session.selectedProtocol = hello.selectedProtocol
            if let client = facts.clientHello, !hello.sessionID.isEmpty, hello.sessionID == client.sessionID {
                session.resumed = true
            }
        }
        if suite.aead == nil || (facts.isTLS13 != suite.isTLS13) {
            state = .unsupportedSuite(suite.name)
        }
    }

    private func handleProtectedHandshake(_ message: HandshakeMessage, _ direction: FlowDirection) {
        guard facts.isTLS13 else { return }  // TLS 1.2: the encrypted Finished; nothing to learn
        let index = direction.rawValue
        switch message.type {
        case HandshakeType.encryptedExtensions where direction == .serverToClient:
            if let body = message.body, let extensions = EncryptedExtensions(body: body) {
                session.selectedProtocol = extensions.selectedProtocol
            }
        case HandshakeType.finished where directions[index].epoch == .tls13Handshake:
            // Key changes align with record boundaries (RFC 8446 §5.1): the next record uses
            // the application traffic secret.
            directions[index].epoch = .tls13Application
            directions[index].protection = nil
            directions[index].trafficSecret = nil
            _ = installKeys(direction)
        case HandshakeType.keyUpdate where directions[index].epoch == .tls13Application:
            guard let suite = facts.suite, let secret = directions[index].trafficSecret,
                  let _ = directions[index].protection else { return }
            let next = KeySchedule.tls13NextTrafficSecret(secret, suite: suite)
            guard let aead = suite.aead, let keys = KeySchedule.tls13TrafficKeys(secret: next, suite: suite) else { return }
            directions[index].trafficSecret = next
            directions[index].protection = RecordProtection(layout: .tls13, aead: aead, keys: keys)
            statistics.keyUpdates += 1
        default:
            break  // NewSessionTicket, Certificate, CertificateVerify, CertificateRequest
        }
    }

    // MARK: Keys

    /// Installs `direction`'s record protection for its epoch when the secrets are there.
    private func installKeys(_ direction: FlowDirection) -> Bool {
        let index = direction.rawValue
        if directions[index].protection != nil { return true }
        guard let suite = facts.suite, let aead = suite.aead, let client = facts.clientHello, let server = facts.serverHello else {
            return false
        }
        let secrets = keys.secrets(forClientRandom: client.random)
        switch directions[index].epoch {
        case .plaintext:
            return false
        case .tls12:
            guard let master = masterSecret(secrets) else { return false }
            guard let derived = KeySchedule.tls12TrafficKeys(masterSecret: master, clientRandom: client.random,
                                                             serverRandom: server.random, suite: suite) else { return false }
            directions[index].protection = RecordProtection(layout: .tls12, aead: aead,
                                                           keys: direction == .clientToServer ? derived.client : derived.server)
            return true
        case .tls13Handshake:
            let secret = direction == .clientToServer ? secrets?.clientHandshakeTrafficSecret : secrets?.serverHandshakeTrafficSecret
            guard let secret, let derived = KeySchedule.tls13TrafficKeys(secret: secret, suite: suite) else { return false }
            directions[index].protection = RecordProtection(layout: .tls13, aead: aead, keys: derived)
            return true
        case .tls13Application:
            let secret = directions[index].trafficSecret
                ?? (direction == .clientToServer ? secrets?.clientTrafficSecret0 : secrets?.serverTrafficSecret0)
            guard let secret, let derived = KeySchedule.tls13TrafficKeys(secret: secret, suite: suite) else { return false }
            directions[index].trafficSecret = secret
            directions[index].protection = RecordProtection(layout: .tls13, aead: aead, keys: derived)
            return true
        }
    }

    /// TLS 1.2's master secret: this connection's CLIENT_RANDOM line, or the resumed session's.
    private func masterSecret(_ secrets: TLSSecrets?) -> [UInt8]? {
        if let master = facts.masterSecret { return master }
        var master = secrets?.masterSecret
        if master == nil, session.resumed, let client = facts.clientHello {
            master = keys.masterSecret(forSessionID: client.sessionID) ?? client.sessionTicket.flatMap { keys.masterSecret(forTicket: $0) }
            if master != nil { statistics.leniencies.insert(.masterSecretFromResumedSession) }
        }
        guard let master else { return nil }
        facts.masterSecret = master
        // Later connections may resume this session with only their own randoms logged… or not
        // even those: remember what the session id and ticket stand for.
        if let server = facts.serverHello { keys.remember(sessionID: server.sessionID, masterSecret: master) }
        if let ticket = facts.issuedTicket { keys.remember(ticket: ticket, masterSecret: master) }
        return master
    }

    /// TLS 1.3: the application traffic secret of `direction` (generation 0), when logged.
    private func applicationSecret0(_ direction: FlowDirection) -> [UInt8]? {
        guard let client = facts.clientHello, let secrets = keys.secrets(forClientRandom: client.random) else { return nil }
        return direction == .clientToServer ? secrets.clientTrafficSecret0 : secrets.serverTrafficSecret0
    }

    private func tls13Protection(_ secret: [UInt8]) -> RecordProtection? {
        guard let suite = facts.suite, let aead = suite.aead,
              let derived = KeySchedule.tls13TrafficKeys(secret: secret, suite: suite) else { return nil }
        return RecordProtection(layout: .tls13, aead: aead, keys: derived)
    }

    /// Opens `record` with a TLS 1.3 secret of a generation just begun (sequence numbers from
    /// 0): the protection (its next sequence number set), the content and the sequence number
    /// that verified.
    private func trial(_ secret: [UInt8], _ record: TLSRecord, _ direction: FlowDirection)
        -> (RecordProtection, RecordProtection.Opened, UInt64)? {
        guard var protection = tls13Protection(secret) else { return nil }
        for sequenceNumber in sequenceNumberCandidates(direction, record: record, after: 0, layout: .tls13) {
            if let opened = protection.open(record, sequenceNumber: sequenceNumber) {
                protection.nextSequenceNumber = sequenceNumber &+ 1
                return (protection, opened, sequenceNumber)
            }
        }
        return nil
    }

    private func applicationKeysWithoutHandshakeSecrets(_ direction: FlowDirection) -> Bool {
        guard let client = facts.clientHello, let secrets = keys.secrets(forClientRandom: client.random) else { return false }
        return direction == .clientToServer
            ? secrets.clientHandshakeTrafficSecret == nil && secrets.clientTrafficSecret0 != nil
            : secrets.serverHandshakeTrafficSecret == nil && secrets.serverTrafficSecret0 != nil
    }

    // MARK: Waiting records

    private func wait(_ record: TLSRecord, _ direction: FlowDirection, time: Timestamp) {
        guard state == .decrypting else {
            statistics.undecryptedBytes += record.count
            return
        }
        guard bufferedBytes + record.count <= configuration.maximumBufferedCiphertextBytes else {
            // The cap: what waited, and this record, are given up; so is the connection.
            for index in directions.indices { dropWaiting(index) }
            statistics.undecryptedBytes += record.count
            state = facts.serverHello == nil ? .handshakeNotCaptured : .noKey
            return
        }
        bufferedBytes += record.count
        directions[direction.rawValue].waiting.append(.record(record, time))
    }

    /// Handles the waiting records, oldest first per direction, as far as they can be now.
    /// Handling one may make others possible (the ServerHello read, a key installed); a call
    /// made while one runs does nothing, since the running one continues anyway.
    private func retryWaiting() {
        guard !isRetryingWaiting else { return }
        isRetryingWaiting = true
        defer { isRetryingWaiting = false }
        // Both directions in capture-time order: the server's EncryptedExtensions (ALPN) must be
        // read before the client's first application data makes the plaintext handler.
        var blocked: Set<Int> = []
        while let index = nextWaitingDirection(excluding: blocked) {
            let direction = FlowDirection(rawValue: index) ?? .clientToServer
            let first = directions[index].waiting.removeFirst()
            switch first {
            case .loss(let count):
                applyLoss(count, direction)
            case .record(let record, let recordTime):
                bufferedBytes -= record.count
                if process(record, direction, time: recordTime, resyncCandidate: false) == .wait {
                    bufferedBytes += record.count
                    directions[index].waiting.insert(first, at: 0)
                    blocked.insert(index)
                } else {
                    blocked.removeAll()  // progress may unblock the other direction
                }
            }
        }
    }

    /// The direction whose oldest waiting entry comes first (a loss first of all), skipping
    /// directions that cannot progress now.
    private func nextWaitingDirection(excluding blocked: Set<Int>) -> Int? {
        var best: (index: Int, time: Timestamp)?
        for index in directions.indices where !blocked.contains(index) {
            switch directions[index].waiting.first {
            case nil: continue
            case .loss?: return index
            case .record(_, let time)?:
                if let current = best, current.time <= time { continue }
                best = (index, time)
            }
        }
        return best?.index
    }

    /// A direction ended with records still waiting: they never will be decrypted.
    private func giveUpWaiting(_ direction: FlowDirection) {
        let index = direction.rawValue
        let hadRecords = directions[index].waiting.contains { if case .record = $0 { return true } else { return false } }
        dropWaiting(index)
        if hadRecords, state == .decrypting { state = facts.serverHello == nil ? .handshakeNotCaptured : .noKey }
    }

    /// Gives up what waits in a direction: records are counted undecrypted, losses still said.
    private func dropWaiting(_ index: Int) {
        for entry in directions[index].waiting {
            switch entry {
            case .record(let record, _):
                statistics.undecryptedBytes += record.count
                bufferedBytes -= record.count
            case .loss(let count):
                directions[index].unreportedLostBytes += count
            }
        }
        directions[index].waiting.removeAll()
    }
}

/// What the hellos said, and what follows from them.
private struct HandshakeFacts {
    var clientHello: ClientHello?
    /// The real ServerHello (never a HelloRetryRequest).
    var serverHello: ServerHello?
    var suite: CipherSuite?
    /// TLS 1.2: the server ended a full handshake's first flight.
    var sawServerHelloDone = false
    /// TLS 1.2: the ticket this connection's server issued, and the master secret once known.
    var issuedTicket: [UInt8]?
    var masterSecret: [UInt8]?

    var isTLS13: Bool { serverHello?.version == TLSVersion.tls13 }
}

/// Which keys protect a direction's records now.
private enum Epoch: Equatable {
    case plaintext
    /// After the sender's ChangeCipherSpec.
    case tls12
    /// After the ServerHello, until the sender's Finished.
    case tls13Handshake
    /// After the sender's Finished (and its KeyUpdates).
    case tls13Application
}

/// What was lost since the last record that verified.
private struct LossEstimate {
    /// Ciphertext bytes lost (gaps, cut records, skipped bytes).
    var bytes: Int
    /// Records read since that did not verify (each took a sequence number).
    var recordsSince: UInt64
}

private enum WaitingEntry {
    case record(TLSRecord, Timestamp)
    /// Bytes lost between the records around it.
    case loss(Int)
}

private struct DirectionState {
    var reader: RecordReader
    var handshake: HandshakeReassembler
    var epoch = Epoch.plaintext
    var protection: RecordProtection?
    /// TLS 1.3 application epoch: the secret of the current generation (for KeyUpdate).
    var trafficSecret: [UInt8]?
    var waiting: [WaitingEntry] = []
    /// Ciphertext lost since the last plaintext handed downstream.
    var unreportedLostBytes = 0
    /// Set by a loss (or a record that did not verify) until a record verifies again: the next
    /// protected record is tried with later sequence numbers too.
    var loss: LossEstimate?
    /// The largest protected record seen (header included): the size bulk data comes in.
    var largestRecord = 0
    var rejectedCandidates = 0
    /// Records read (accepted) in this direction.
    var records = 0
    /// When and why the direction ended, to pass on once there is a handler.
    var endedAt: (Timestamp, StreamEndReason)?
    /// Too many resynchronisation candidates failed: the rest is counted, not tried.
    var abandoned = false
    var ended = false

    init(_ configuration: TLSConfiguration) {
        reader = RecordReader(maximumLength: configuration.maximumRecordLength)
        handshake = HandshakeReassembler(maximumLength: configuration.maximumHandshakeMessageLength)
    }
}

import CorscopeCapture
import CorscopeReassembly
import CorscopeTestSupport
import XCTest

@testable import CorscopeTLS

/// Captures/tls/loopback-tls.pcap (recorded by Captures/tls/record.sh: nginx 1.22 / OpenSSL 3,
/// curl and openssl s_client, one server port per scenario) through the real pipeline.
final class LoopbackCaptureTests: XCTestCase {
    private static let http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    private func decryptLoopback(keys: TLSKeyStore? = nil) throws -> TLSCaptureRun {
        try TLSCaptureRun(keys: keys ?? TLSFixtures.keys(TLSFixtures.loopbackKeyLog)).read(TLSFixtures.loopbackCapture)
    }

    /// Each scenario's negotiated facts and what its plaintext starts with.
    func testEachScenarioDecryptsWithItsSuiteVersionAndALPN() throws {
        let run = try decryptLoopback()
        let expected: [(port: UInt16, sni: String, version: String, suite: String, alpn: String)] = [
            (24600, "tls13-aes128.test", "TLS 1.3", "TLS_AES_128_GCM_SHA256", "h2"),
            (24601, "tls13-aes256.test", "TLS 1.3", "TLS_AES_256_GCM_SHA384", "http/1.1"),
            (24602, "tls13-chacha.test", "TLS 1.3", "TLS_CHACHA20_POLY1305_SHA256", "h2"),
            (24603, "tls12-rsa-aes128.test", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "h2"),
            (24604, "tls12-rsa-aes256.test", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "http/1.1"),
            (24605, "tls12-rsa-chacha.test", "TLS 1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "h2"),
            (24606, "tls12-ecdsa-aes128.test", "TLS 1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "h2"),
            (24607, "tls12-ecdsa-chacha.test", "TLS 1.2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "http/1.1"),
            (24610, "hrr.test", "TLS 1.3", "TLS_AES_256_GCM_SHA384", "h2"),
        ]
        for scenario in expected {
            let connection = try run.connection(serverPort: scenario.port)
            let decryptor = connection.decryptor
            let label = "port \(scenario.port)"
            XCTAssertEqual(decryptor.state, .decrypting, label)
            XCTAssertEqual(decryptor.session.serverName, scenario.sni, label)
            XCTAssertEqual(decryptor.session.version, scenario.version, label)
            XCTAssertEqual(decryptor.session.cipherSuite, scenario.suite, label)
            XCTAssertEqual(decryptor.session.selectedProtocol, scenario.alpn, label)
            XCTAssertFalse(decryptor.session.resumed, label)
            XCTAssertEqual(decryptor.statistics.authenticationFailures, 0, label)
            XCTAssertEqual(decryptor.statistics.undecryptedBytes, 0, label)
            XCTAssertEqual(decryptor.statistics.lostBytes, 0, label)
            // The handler was made once there was plaintext: ALPN was known by then.
            XCTAssertEqual(connection.collector?.session.selectedProtocol, scenario.alpn, label)
            if scenario.alpn == "h2" {
                XCTAssertTrue(connection.client.starts(withASCII: Self.http2Preface), label)
            } else {
                XCTAssertTrue(connection.client.starts(withASCII: "GET / HTTP/1.1\r\n"), label)
                XCTAssertTrue(connection.server.starts(withASCII: "HTTP/1.1 200 OK\r\n"), label)
            }
            XCTAssertEqual(connection.collector?.ends.compactMap { $0 }.count, 2, "both ends passed on, \(label)")
            XCTAssertEqual(connection.collector?.calledAfterEnd, false, label)
        }
        // The 17 000-byte body takes two records from the server (h2 cuts it into DATA frames too).
        for port: UInt16 in [24600, 24603] {
            let server = try run.connection(serverPort: port).server
            XCTAssertGreaterThan(server.count, 17_000, "port \(port)")
            XCTAssertEqual(server.filter { $0 == UInt8(ascii: "x") }.count, 17_000, "port \(port)")
        }
    }

    /// Every connection tshark decrypts, corscope decrypts to the same bytes, per direction;
    /// and the handshake facts are tshark's.
    func testPlaintextAndHandshakeFactsEqualTshark() throws {
        let run = try decryptLoopback()
        let streams = try TShark.decryptedStreams(capture: TLSFixtures.loopbackCapture, keyLog: TLSFixtures.loopbackKeyLog)
        let handshakes = try TShark.handshakes(capture: TLSFixtures.loopbackCapture, keyLog: TLSFixtures.loopbackKeyLog)
        XCTAssertEqual(run.connections.count, 18)
        var compared = 0
        for connection in run.connections {
            let label = "port \(connection.serverPort) (client port \(connection.clientPort))"
            guard let tshark = streams[connection.clientPort] else { XCTFail("tshark has no stream for \(label)"); continue }
            assertSameBytes(connection.client, tshark.client)
            assertSameBytes(connection.server, tshark.server)
            XCTAssertEqual(connection.decryptor.statistics.plaintextBytesFromClient, tshark.client.count, label)
            XCTAssertEqual(connection.decryptor.statistics.plaintextBytesFromServer, tshark.server.count, label)
            if !tshark.client.isEmpty { compared += 1 }
            let facts = try XCTUnwrap(handshakes[connection.clientPort], label)
            let session = connection.decryptor.session
            XCTAssertEqual(session.serverName, facts.serverName, label)
            XCTAssertEqual(session.offeredProtocols, facts.offeredProtocols, label)
            XCTAssertEqual(session.version, facts.version, label)
            XCTAssertEqual(session.cipherSuite, facts.cipherSuite, label)
            // tshark cannot see a TLS 1.3 ALPN choice without the key either.
            if facts.selectedProtocol != nil || connection.decryptor.state == .decrypting {
                XCTAssertEqual(session.selectedProtocol, facts.selectedProtocol, label)
            }
        }
        XCTAssertEqual(compared, 16, "every connection with keys decrypted by both (two have none)")
    }

    func testMissingKeyIsNoKeyWithTheSessionFacts() throws {
        let run = try decryptLoopback()
        let tls13 = try run.connection(serverPort: 24612).decryptor
        XCTAssertEqual(tls13.state, .noKey)
        XCTAssertEqual(tls13.session.serverName, "nokey13.test")
        XCTAssertEqual(tls13.session.offeredProtocols, ["h2", "http/1.1"])
        XCTAssertEqual(tls13.session.version, "TLS 1.3")
        XCTAssertEqual(tls13.session.cipherSuite, "TLS_AES_256_GCM_SHA384")
        XCTAssertNil(tls13.session.selectedProtocol, "TLS 1.3 hides the ALPN choice in EncryptedExtensions")
        XCTAssertGreaterThan(tls13.statistics.undecryptedBytes, 0)
        XCTAssertEqual(tls13.statistics.decryptedRecords, 0)
        XCTAssertNil(tls13.plaintextHandler)

        let tls12 = try run.connection(serverPort: 24613).decryptor
        XCTAssertEqual(tls12.state, .noKey)
        XCTAssertEqual(tls12.session.serverName, "nokey12.test")
        XCTAssertEqual(tls12.session.version, "TLS 1.2")
        XCTAssertEqual(tls12.session.cipherSuite, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        XCTAssertEqual(tls12.session.selectedProtocol, "http/1.1", "TLS 1.2 says it in the ServerHello")
        XCTAssertNil(tls12.plaintextHandler)
    }

    func testHelloRetryRequestWaitsForTheSecondServerHello() throws {
        let connection = try decryptLoopback().connection(serverPort: 24610)
        XCTAssertEqual(connection.decryptor.state, .decrypting)
        XCTAssertEqual(connection.decryptor.session.version, "TLS 1.3")
        XCTAssertTrue(connection.client.starts(withASCII: Self.http2Preface))
        XCTAssertFalse(connection.server.isEmpty)
    }

    func testKeyUpdateMovesBothDirectionsToTheirNextSecret() throws {
        let connection = try decryptLoopback().connection(serverPort: 24611)
        let decryptor = connection.decryptor
        XCTAssertEqual(decryptor.state, .decrypting)
        XCTAssertEqual(decryptor.statistics.keyUpdates, 2, "the client's KeyUpdate (update_requested) and the server's answer")
        XCTAssertEqual(decryptor.statistics.authenticationFailures, 0)
        let client = String(decoding: connection.client, as: UTF8.self)
        XCTAssertTrue(client.hasPrefix("GET /before HTTP/1.1\r\n"))
        XCTAssertTrue(client.contains("GET /after HTTP/1.1\r\n"), "the request sent after the KeyUpdate decrypts")
        XCTAssertEqual(String(decoding: connection.server, as: UTF8.self).components(separatedBy: "HTTP/1.1 200 OK").count - 1, 2)
    }

    func testTLS12ResumptionBySessionIDAndTicket() throws {
        let run = try decryptLoopback()
        for port: UInt16 in [24608, 24609] {
            let first = try run.connection(serverPort: port, index: 0)
            let second = try run.connection(serverPort: port, index: 1)
            XCTAssertFalse(first.decryptor.session.resumed, "port \(port)")
            XCTAssertTrue(second.decryptor.session.resumed, "port \(port)")
            XCTAssertEqual(second.decryptor.state, .decrypting, "port \(port)")
            XCTAssertTrue(second.client.starts(withASCII: "GET /"), "port \(port)")
            XCTAssertTrue(second.server.starts(withASCII: "HTTP/1.1 200 OK\r\n"), "port \(port)")
            XCTAssertFalse(second.decryptor.statistics.leniencies.contains(.masterSecretFromResumedSession))
        }
    }

    /// Only the first connection's CLIENT_RANDOM line: the resumed one decrypts with the master
    /// secret its session id (or ticket) stands for.
    func testTLS12ResumptionWithOnlyTheFirstConnectionsKey() throws {
        let full = try decryptLoopback()
        let resumedRandoms = try [24608, 24609].map { port -> String in
            let second = try full.connection(serverPort: UInt16(port), index: 1)
            return Hex.encode(try XCTUnwrap(second.decryptor.clientRandomForTests))
        }
        let run = try decryptLoopback(keys: TLSFixtures.keys(TLSFixtures.loopbackKeyLog, without: Set(resumedRandoms)))
        for port: UInt16 in [24608, 24609] {
            let expected = try full.connection(serverPort: port, index: 1)
            let second = try run.connection(serverPort: port, index: 1)
            XCTAssertEqual(second.decryptor.state, .decrypting, "port \(port)")
            XCTAssertTrue(second.decryptor.statistics.leniencies.contains(.masterSecretFromResumedSession), "port \(port)")
            assertSameBytes(second.client, expected.client)
            assertSameBytes(second.server, expected.server)
            XCTAssertFalse(second.client.isEmpty)
        }
    }

    func testTLS13Resumption() throws {
        let run = try decryptLoopback()
        let first = try run.connection(serverPort: 24614, index: 0)
        let second = try run.connection(serverPort: 24614, index: 1)
        XCTAssertFalse(first.decryptor.session.resumed)
        XCTAssertTrue(second.decryptor.session.resumed)
        XCTAssertTrue(second.client.starts(withASCII: "GET /second HTTP/1.1\r\n"))
        XCTAssertTrue(second.server.starts(withASCII: "HTTP/1.1 200 OK\r\n"))
    }

    /// The key log gets the secrets after the connection's first protected records (as `watch`
    /// following a browser's key log may): they wait, and decrypt once the secrets are there.
    func testLateKeysDecryptTheRecordsThatWaited() throws {
        let fullKeys = try TLSFixtures.keys(TLSFixtures.loopbackKeyLog)
        let reference = try decryptLoopback(keys: fullKeys)
        let keyLog = try String(contentsOfFile: TLSFixtures.loopbackKeyLog, encoding: .utf8)
        let lateKeys = TLSKeyStore()
        var added = Set<Int>()
        var waited = 0
        let run = try TLSCaptureRun(keys: lateKeys).read(TLSFixtures.loopbackCapture) { run in
            // Once a connection has read 6 records, its secrets are appended to the key log.
            for (index, connection) in run.connections.enumerated() where !added.contains(index) {
                guard connection.decryptor.statistics.records >= 6, let random = connection.decryptor.clientRandomForTests else { continue }
                added.insert(index)
                if connection.decryptor.bufferedCiphertextBytesForTests > 0 && connection.decryptor.statistics.decryptedRecords == 0 {
                    waited += 1
                }
                let hex = Hex.encode(random)
                let lines = keyLog.split(separator: "\n").filter { $0.contains(hex) }.joined(separator: "\n")
                lateKeys.add(keyLog: Array(lines.utf8), source: "late")
            }
        }
        XCTAssertEqual(run.connections.count, reference.connections.count)
        for (late, expected) in zip(run.connections, reference.connections) {
            let label = "port \(late.serverPort)"
            XCTAssertEqual(late.decryptor.state, expected.decryptor.state, label)
            // Replayed in capture order over both directions: the ALPN was read before the handler was made.
            XCTAssertEqual(late.collector?.session.selectedProtocol, expected.collector?.session.selectedProtocol, label)
            assertSameBytes(late.client, expected.client)
            assertSameBytes(late.server, expected.server)
        }
        XCTAssertGreaterThan(waited, 10)
    }

    /// Without a key the records wait up to the cap; past it the connection is `.noKey` and
    /// the rest is counted, not kept.
    func testBufferingCapGivesUpWithNoKey() throws {
        var configuration = TLSConfiguration()
        configuration.maximumBufferedCiphertextBytes = 2_000
        let run = try TLSCaptureRun(keys: TLSKeyStore(), configuration: configuration).read(TLSFixtures.loopbackCapture)
        let big = try run.connection(serverPort: 24600).decryptor
        XCTAssertEqual(big.state, .noKey)
        XCTAssertEqual(big.session.cipherSuite, "TLS_AES_128_GCM_SHA256")
        XCTAssertGreaterThan(big.statistics.undecryptedBytes, 17_000)
        for connection in run.connections {
            XCTAssertEqual(connection.decryptor.state, .noKey, "port \(connection.serverPort)")
            XCTAssertNil(connection.decryptor.plaintextHandler)
        }
    }

    /// A loss inside the server's encrypted stream: the record layer finds the next record,
    /// the sequence numbers skip the lost records, and downstream hears of the gap.
    func testGapInTheServerStreamResynchronises() throws {
        let keys = try TLSFixtures.keys(TLSFixtures.loopbackKeyLog)
        let reference = try decryptLoopback(keys: keys)
        for port: UInt16 in [24600, 24603] {
            let expected = try reference.connection(serverPort: port)
            // Server direction: lose 3000 bytes well inside the 17 000-byte body's first record.
            XCTAssertGreaterThan(expected.decryptor.statistics.plaintextBytesFromServer, 17_000)
            let run = try TLSCaptureRun(keys: keys) { connection, decryptor in
                connection.server.port == port
                    ? LossInjector(decryptor, direction: .serverToClient, dropping: 4_000..<7_000) as any TCPStreamHandler
                    : decryptor
            }.read(TLSFixtures.loopbackCapture)
            let damaged = try run.connection(serverPort: port)
            let label = "port \(port)"
            XCTAssertEqual(damaged.decryptor.state, .decrypting, label)
            XCTAssertEqual(damaged.decryptor.statistics.gaps, 1, label)
            XCTAssertGreaterThanOrEqual(damaged.decryptor.statistics.lostBytes, 3_000, label)
            XCTAssertEqual(damaged.decryptor.statistics.resyncedRecords, 1, label)
            XCTAssertTrue(damaged.decryptor.statistics.leniencies.contains(.resynchronised), label)
            XCTAssertEqual(damaged.decryptor.statistics.authenticationFailures, 0, label)
            assertSameBytes(damaged.client, expected.client)
            let collector = try XCTUnwrap(damaged.collector)
            XCTAssertEqual(collector.gaps[1].count, 1, label)
            XCTAssertEqual(collector.gaps[1].first, damaged.decryptor.statistics.lostBytes, label)
            // What came after the lost record is the end of the reference plaintext.
            XCTAssertFalse(damaged.server.isEmpty, label)
            XCTAssertLessThan(damaged.server.count, expected.server.count, label)
            let tail = Array(damaged.server.suffix(200))
            XCTAssertEqual(tail, Array(expected.server.suffix(200)), label)
        }
    }
}

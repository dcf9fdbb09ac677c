import Foundation
import CorscopeTestSupport
import XCTest

@testable import CorscopeTLS

/// The pcapFS test captures (../shared/public-captures, with their key logs): TLS 1.2 over 31
/// suites, HTTP/1.1 or a line of text inside. The AEAD ones decrypt to tshark's bytes; the others (CBC, RC4) are
/// named and reported `.unsupportedSuite`.
final class PublicCaptureTests: XCTestCase {
    func testAllCiphersAEADSuitesDecryptLikeTshark() throws {
        let capture = try TLSFixtures.publicCapture("pcapfs__all_ciphers.pcap")
        let keyLog = try TLSFixtures.publicCapture("pcapfs__all_ciphers.keylog")
        let run = try TLSCaptureRun(keys: TLSFixtures.keys(keyLog)).read(capture)
        let streams = try TShark.decryptedStreams(capture: capture, keyLog: keyLog)
        let handshakes = try TShark.handshakes(capture: capture, keyLog: keyLog)
        XCTAssertEqual(run.connections.count, 31)
        var decrypted: [String] = []
        var unsupported = 0
        for connection in run.connections {
            let decryptor = connection.decryptor
            let facts = try XCTUnwrap(handshakes[connection.clientPort])
            let label = "\(facts.cipherSuite ?? "?") (client port \(connection.clientPort))"
            XCTAssertEqual(decryptor.session.cipherSuite, facts.cipherSuite, label)
            XCTAssertEqual(decryptor.session.version, "TLS 1.2", label)
            XCTAssertFalse(decryptor.session.resumed, "full handshakes (anonymous suites send no Certificate): \(label)")
            switch decryptor.state {
            case .decrypting:
                let tshark = try XCTUnwrap(streams[connection.clientPort], label)
                // Some carry HTTP/1.1, some a line of text ("hello"): tshark's bytes either way.
                XCTAssertFalse(connection.client.isEmpty, label)
                assertSameBytes(connection.client, tshark.client)
                assertSameBytes(connection.server, tshark.server)
                XCTAssertEqual(decryptor.statistics.authenticationFailures, 0, label)
                decrypted.append(decryptor.session.cipherSuite ?? "?")
            case .unsupportedSuite(let name):
                XCTAssertEqual(name, facts.cipherSuite, label)
                XCTAssertFalse(name.contains("GCM") || name.contains("CHACHA"), "an AEAD suite left undecrypted: \(label)")
                XCTAssertNil(decryptor.plaintextHandler, label)
                XCTAssertGreaterThan(decryptor.statistics.undecryptedBytes, 0, label)
                unsupported += 1
            default:
                XCTFail("\(label): \(decryptor.state)")
            }
        }
        XCTAssertEqual(Set(decrypted), [
            "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DH_anon_WITH_AES_128_GCM_SHA256", "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ])
        XCTAssertEqual(decrypted.count + unsupported, 31)
    }

    /// Three connections, all CBC or RC4 (and one key given as an RSA pre-master secret, a
    /// label this module ignores): each reported with its facts, none decrypted.
    func testFeatureTestIsReportedUnsupported() throws {
        let capture = try TLSFixtures.publicCapture("pcapfs__feature_test.pcap")
        let keyLog = try TLSFixtures.publicCapture("pcapfs__feature_test.keylog")
        let run = try TLSCaptureRun(keys: TLSFixtures.keys(keyLog)).read(capture)
        let handshakes = try TShark.handshakes(capture: capture, keyLog: keyLog)
        XCTAssertEqual(run.connections.count, 3)
        for connection in run.connections {
            let facts = try XCTUnwrap(handshakes[connection.clientPort])
            XCTAssertEqual(connection.decryptor.session.cipherSuite, facts.cipherSuite)
            XCTAssertEqual(connection.decryptor.state, .unsupportedSuite(facts.cipherSuite ?? "?"))
            XCTAssertEqual(connection.decryptor.session.serverName, facts.serverName)
        }
    }
}

/// The project's Chromium HTTPS recording (Captures/chromium-https, recorded by
/// Captures/record.sh https: Chromium with --ssl-key-log-file against nginx): a real browser's
/// TLS (GREASE, separate pools, idle connections) decrypts to tshark's bytes.
final class ChromiumCaptureTests: XCTestCase {
    func testChromiumConnectionsDecryptLikeTshark() throws {
        let capture = PackagePaths.path("Captures/chromium-https/chromium-https.pcap")
        let keyLog = PackagePaths.path("Captures/chromium-https/chromium-https.keylog")
        guard FileManager.default.fileExists(atPath: capture), FileManager.default.fileExists(atPath: keyLog) else {
            throw XCTSkip("Captures/chromium-https is absent")
        }
        let run = try TLSCaptureRun(keys: TLSFixtures.keys(keyLog)).read(capture)
        let streams = try TShark.decryptedStreams(capture: capture, keyLog: keyLog)
        let handshakes = try TShark.handshakes(capture: capture, keyLog: keyLog)
        XCTAssertGreaterThan(run.connections.count, 10)
        var withPlaintext = 0
        var notTLS = 0
        for connection in run.connections {
            let label = "port \(connection.serverPort) (client port \(connection.clientPort))"
            let decryptor = connection.decryptor
            if handshakes[connection.clientPort] == nil {
                // nginx's plain HTTP upstreams (24705, 24710) are in the capture too.
                XCTAssertEqual(decryptor.state, .notTLS, label)
                XCTAssertTrue([24705, 24710].contains(connection.serverPort), label)
                notTLS += 1
                continue
            }
            XCTAssertEqual(decryptor.state, .decrypting, label)
            XCTAssertEqual(decryptor.statistics.authenticationFailures, 0, label)
            let tshark = try XCTUnwrap(streams[connection.clientPort], label)
            assertSameBytes(connection.client, tshark.client)
            assertSameBytes(connection.server, tshark.server)
            let facts = try XCTUnwrap(handshakes[connection.clientPort], label)
            XCTAssertEqual(decryptor.session.serverName, facts.serverName, label)
            XCTAssertEqual(decryptor.session.offeredProtocols, facts.offeredProtocols, label)
            XCTAssertEqual(decryptor.session.selectedProtocol, facts.selectedProtocol, label)
            XCTAssertEqual(decryptor.session.version, facts.version, label)
            XCTAssertEqual(decryptor.session.cipherSuite, facts.cipherSuite, label)
            if !connection.client.isEmpty {
                withPlaintext += 1
                let h2 = connection.client.starts(withASCII: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                XCTAssertEqual(h2, decryptor.session.selectedProtocol == "h2", label)
            }
        }
        XCTAssertGreaterThan(withPlaintext, 10)
        XCTAssertGreaterThan(notTLS, 0, "nginx's plain upstream connections")
    }
}

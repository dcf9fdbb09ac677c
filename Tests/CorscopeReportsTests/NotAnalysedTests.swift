import CorscopeExchanges
import CorscopeTestSupport
import Foundation
import XCTest

/// Nothing skipped silently: what corscope sees but cannot judge is listed in every report and
/// the stderr summary, per server endpoint, with what the wire says about it.
final class NotAnalysedTests: XCTestCase {
    private func report(_ input: String, extra: [String] = []) throws -> (json: [String: Any], stderr: String, markdown: String) {
        let binary = try Support.binary()
        let json = try Support.run(binary, ["analyze", "--format", "json", "--fail-on", "never"] + extra + [input])
        let markdown = try Support.run(binary, ["analyze", "--fail-on", "never"] + extra + [input]).stdout
        return (try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]), json.stderr, markdown)
    }

    private func connections(_ json: [String: Any]) -> [[String: Any]] {
        ((json["notAnalysed"] as? [String: Any])?["connections"] as? [[String: Any]]) ?? []
    }

    func testWebSocketFramesAfterTheHandshakeAreListed() throws {
        let (json, stderr, markdown) = try report("Captures/chromium/chromium-cors.pcapng")
        let websocket = try XCTUnwrap(connections(json).first { $0["kind"] as? String == "websocket" })
        XCTAssertEqual(websocket["server"] as? String, "127.0.0.1:24490")
        XCTAssertEqual(websocket["connections"] as? Int, 1)
        XCTAssertGreaterThan(websocket["bytes"] as? Int ?? 0, 0)
        XCTAssertTrue(stderr.contains("not analysed: 1 websocket connection"), stderr)
        XCTAssertTrue(markdown.contains("## Not analysed"))
        // CI formats carry it too: a SARIF notification, a skipped JUnit testcase.
        let binary = try Support.binary()
        let sarif = try Support.run(binary, ["analyze", "--format", "sarif", "--fail-on", "never", "Captures/chromium/chromium-cors.pcapng"]).stdout
        XCTAssertTrue(sarif.contains("Not analysed: WebSocket frames after the handshake, 127.0.0.1:24490"), "SARIF notification")
        let junit = try Support.run(binary, ["analyze", "--format", "junit", "--fail-on", "never", "Captures/chromium/chromium-cors.pcapng"]).stdout
        XCTAssertTrue(junit.contains("classname=\"corscope.not-analysed\" name=\"websocket 127.0.0.1:24490\""), "JUnit testcase")
        XCTAssertTrue(junit.contains("<skipped message=\"WebSocket frames after the handshake: 1 connection(s)"), "skipped, with why")
    }

    func testPlainHTTPHasNothingToList() throws {
        let (json, stderr, markdown) = try report("Captures/nginx-cors.pcap")
        XCTAssertTrue(connections(json).isEmpty)
        XCTAssertFalse(stderr.contains("not analysed"))
        XCTAssertFalse(markdown.contains("## Not analysed"))
    }

    /// Real TLS (31 connections, one per cipher suite, 8 of them AEAD) from ../shared: without
    /// its key log every connection is listed with what the handshake says, the CBC/RC4/3DES
    /// ones apart as unsupported suites; with it, the AEAD connections are decrypted and judged.
    func testTLSIsListedWithWhatTheHandshakeSaysUntilItsKeysAreGiven() throws {
        let folder = try PackagePaths.publicCaptures()
        let capture = folder.appendingPathComponent("pcapfs__all_ciphers.pcap").path
        let tls = try report(capture).json
        let byKind = Dictionary(grouping: connections(tls), by: { $0["kind"] as? String ?? "" })
        let noKey = try XCTUnwrap(byKind["tls"]?.first)
        XCTAssertEqual(noKey["connections"] as? Int, 8)
        XCTAssertEqual(noKey["serverNames"] as? [String], ["localhost"])
        XCTAssertEqual(noKey["protocols"] as? [String], ["h2", "http/1.1"], "the ALPN offer, as no server choice is known")
        XCTAssertEqual(noKey["versions"] as? [String], ["TLS 1.2"], "the version the ServerHello chose")
        XCTAssertEqual(byKind["tls-unsupported-suite"]?.first?["connections"] as? Int, 23)
        XCTAssertEqual((tls["totals"] as? [String: Any])?["exchanges"] as? Int, 0)

        let keyLog = folder.appendingPathComponent("pcapfs__all_ciphers.keylog").path
        let decrypted = try report(capture, extra: ["--tls-keylog", keyLog]).json
        let after = Dictionary(grouping: connections(decrypted), by: { $0["kind"] as? String ?? "" })
        XCTAssertNil(after["tls"], "every AEAD connection had its key")
        XCTAssertEqual(after["tls-unsupported-suite"]?.first?["connections"] as? Int, 23)
        // Four AEAD connections carried HTTP/1.1 (tshark shows the same GETs); the four DHE ones
        // carried a few bytes typed into openssl s_client, which are no HTTP.
        XCTAssertEqual((decrypted["totals"] as? [String: Any])?["exchanges"] as? Int, 4)
        XCTAssertEqual(after["non-http"]?.first?["connections"] as? Int, 4)
    }

    /// A TLS connection whose handshake is all there is (here the first 7 packets of a real
    /// recording: hellos, no request) is listed as such, with its key log given, not dropped.
    func testATLSConnectionWithoutApplicationDataIsListed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cut = folder.appendingPathComponent("handshake-only.pcap").path
        let editcap = "/usr/bin/editcap"
        guard FileManager.default.isExecutableFile(atPath: editcap) else { throw XCTSkip("editcap (tshark's package) is not installed: run `make test`") }
        _ = try ChildProcess.run(editcap, ["-r", PackagePaths.path("Captures/tls/loopback-tls.pcap"), cut, "1-7"], timeout: 60).requireExit()
        let json = try report(cut, extra: ["--tls-keylog", PackagePaths.path("Captures/tls/loopback-tls.keylog")]).json
        let entry = try XCTUnwrap(connections(json).first)
        XCTAssertEqual(entry["kind"] as? String, "tls-without-application-data")
        XCTAssertEqual(entry["connections"] as? Int, 1)
        XCTAssertEqual(entry["versions"] as? [String], ["TLS 1.3"])
    }

    /// HTTP/2, by prior knowledge and by an h2c upgrade, is analysed: nothing left to list.
    func testHTTP2IsAnalysedNotListed() throws {
        let folder = try PackagePaths.publicCaptures()
        for name in ["arkime__http2-nghttp2.pcap", "sv__http2-keywords2-h2c-upgrade.pcap"] {
            let h2 = try report(folder.appendingPathComponent(name).path).json
            XCTAssertEqual(connections(h2).count, 0, name)
            XCTAssertEqual((h2["totals"] as? [String: Any])?["exchanges"] as? Int, 2, name)
        }
    }
}

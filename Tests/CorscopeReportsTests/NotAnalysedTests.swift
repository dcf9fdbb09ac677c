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

    /// Real TLS (TLS 1.2 and 1.3, every AEAD suite) and HTTP/2 captures from ../shared.
    func testTLSAndHTTP2AreListedWithWhatTheHandshakeSays() throws {
        let folder = try PackagePaths.publicCaptures()
        let tls = try report(folder.appendingPathComponent("pcapfs__all_ciphers.pcap").path).json
        let entry = try XCTUnwrap(connections(tls).first)
        XCTAssertEqual(entry["kind"] as? String, "tls")
        XCTAssertEqual(entry["connections"] as? Int, 31)
        XCTAssertEqual(entry["serverNames"] as? [String], ["localhost"])
        XCTAssertEqual(entry["protocols"] as? [String], ["h2", "http/1.1"])
        XCTAssertEqual(Set(entry["versions"] as? [String] ?? []), ["TLS 1.2", "TLS 1.3"])
        XCTAssertEqual((tls["totals"] as? [String: Any])?["exchanges"] as? Int, 0)
        for name in ["arkime__http2-nghttp2.pcap", "sv__http2-keywords2-h2c-upgrade.pcap"] {
            let h2 = try report(folder.appendingPathComponent(name).path).json
            XCTAssertEqual(connections(h2).map { $0["kind"] as? String }, ["http2"], name)
        }
    }
}

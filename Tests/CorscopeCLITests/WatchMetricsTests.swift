@testable import CorscopeCLI
import CorscopeCapture
import XCTest

/// The pieces of `watch` that need no capture: the metrics text, the metrics address, the report.
final class WatchMetricsTests: XCTestCase {
    private func snapshot() -> WatchSnapshot {
        var snapshot = WatchSnapshot(interface: "lo", filter: "tcp port 80", startedAt: 100, takenAt: 112.5)
        snapshot.packets = 42
        snapshot.kernel = LiveCaptureStatistics(received: 84, dropped: 3, interfaceDropped: 1)
        snapshot.openConnections = 2
        snapshot.exchanges = 5
        snapshot.findings = 2
        snapshot.cachePoisoningWarnings = 1
        snapshot.origins = [
            "http://a.example": OriginTally(verdicts: ["passed": 3, "blocked": 1], blockedByReason: ["MissingAllowOriginHeader": 1],
                                            warningsByCode: ["missing-vary-origin": 1],
                                            byServer: ["api.example:443": ServerTally(verdicts: ["passed": 2, "blocked": 1], blockedByReason: ["MissingAllowOriginHeader": 1]),
                                                       "10.0.0.5:8080": ServerTally(verdicts: ["passed": 1])]),
            "http://evil\"\\\n.example": OriginTally(verdicts: ["blocked": 1], blockedByReason: ["MultipleAllowOriginValues": 1],
                                                     byServer: ["api.example:443": ServerTally(verdicts: ["blocked": 1], blockedByReason: ["MultipleAllowOriginValues": 1])]),
        ]
        return snapshot
    }

    func testPrometheusTextHasEveryMetricWithTypeAndEscapedLabels() {
        let text = PrometheusText.render(snapshot())
        let lines = Set(text.split(separator: "\n").map(String.init))
        XCTAssertTrue(lines.contains(#"corscope_exchanges_total{origin="http://a.example",server="api.example:443",verdict="passed"} 2"#), text)
        XCTAssertTrue(lines.contains(#"corscope_exchanges_total{origin="http://a.example",server="10.0.0.5:8080",verdict="passed"} 1"#), text)
        XCTAssertTrue(lines.contains(#"corscope_blocked_total{origin="http://a.example",server="api.example:443",reason="MissingAllowOriginHeader"} 1"#), text)
        XCTAssertTrue(lines.contains { $0.hasPrefix(#"corscope_build_info{version=""#) && $0.hasSuffix(" 1") }, text)
        XCTAssertTrue(lines.contains("# TYPE corscope_tcp_gaps_total counter"), text)
        XCTAssertTrue(lines.contains(#"corscope_blocked_total{origin="http://evil\"\\\n.example",server="api.example:443",reason="MultipleAllowOriginValues"} 1"#),
                      "quote, backslash and newline escaped as the exposition format requires\n\(text)")
        XCTAssertTrue(lines.contains("corscope_cache_poisoning_warnings_total 1"))
        XCTAssertTrue(lines.contains("corscope_packets_total 42"))
        XCTAssertTrue(lines.contains("corscope_kernel_drops_total 3"))
        XCTAssertTrue(lines.contains("corscope_interface_drops_total 1"))
        XCTAssertTrue(lines.contains("corscope_open_connections 2"))
        XCTAssertTrue(lines.contains("# TYPE corscope_open_connections gauge"))
        XCTAssertTrue(lines.contains("# TYPE corscope_exchanges_total counter"))
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    /// What was not analysed or dropped is on the monitoring too, not only in --stats.
    func testNotAnalysedDroppedAndTLSAreMetrics() {
        var snapshot = snapshot()
        snapshot.notAnalysed = ["tls": (3, 4096), "websocket": (1, 99)]
        snapshot.dropped = ["evicted_connections": 7, "skipped_packets.non_tcp": 2]
        snapshot.tlsConnections = 5
        snapshot.tlsDecrypted = 2
        let lines = Set(PrometheusText.render(snapshot).split(separator: "\n").map(String.init))
        XCTAssertTrue(lines.contains(#"corscope_not_analysed_connections_total{kind="tls"} 3"#))
        XCTAssertTrue(lines.contains(#"corscope_not_analysed_bytes_total{kind="websocket"} 99"#))
        XCTAssertTrue(lines.contains(#"corscope_dropped_total{what="evicted_connections"} 7"#))
        XCTAssertTrue(lines.contains(#"corscope_dropped_total{what="skipped_packets.non_tcp"} 2"#))
        XCTAssertTrue(lines.contains(#"corscope_tls_connections_total{decrypted="true"} 2"#))
        XCTAssertTrue(lines.contains(#"corscope_tls_connections_total{decrypted="false"} 3"#))
        XCTAssertTrue(lines.contains("# TYPE corscope_dropped_total counter"))
    }

    func testMetricsAddressDefaultsToLoopbackAndKnowsWhatIsRemote() throws {
        XCTAssertEqual(try MetricsAddress(parsing: "9464"), MetricsAddress(host: "127.0.0.1", port: 9464))
        XCTAssertEqual(try MetricsAddress(parsing: ":9464"), MetricsAddress(host: "127.0.0.1", port: 9464))
        XCTAssertEqual(try MetricsAddress(parsing: "localhost:1"), MetricsAddress(host: "127.0.0.1", port: 1))
        XCTAssertEqual(try MetricsAddress(parsing: "[::1]:9464"), MetricsAddress(host: "::1", port: 9464))
        XCTAssertTrue(try MetricsAddress(parsing: "127.0.0.2:0").isLoopback)
        XCTAssertTrue(try MetricsAddress(parsing: "[::1]:0").isLoopback)
        XCTAssertFalse(try MetricsAddress(parsing: "0.0.0.0:9464").isLoopback)
        XCTAssertFalse(try MetricsAddress(parsing: "[::]:9464").isLoopback)
        XCTAssertFalse(try MetricsAddress(parsing: "192.168.1.2:9464").isLoopback)
        XCTAssertThrowsError(try MetricsAddress(parsing: "127.0.0.1:70000"))
        XCTAssertThrowsError(try MetricsAddress(parsing: "example.com:80"))
    }

    func testTheMetricsServerServesTheLatestSnapshot() throws {
        let store = SnapshotStore(WatchSnapshot())
        let server = try MetricsServer(address: MetricsAddress(host: "127.0.0.1", port: 0), store: store)
        server.start()
        defer { server.stop() }
        XCTAssertNotEqual(server.address.port, 0, "the kernel's port is reported")
        let url = try XCTUnwrap(URL(string: "http://127.0.0.1:\(server.address.port)/metrics"))
        XCTAssertTrue(WatchCommandTests.httpGet(url)?.contains("corscope_packets_total 0") ?? false)
        store.publish(snapshot())
        XCTAssertTrue(WatchCommandTests.httpGet(url)?.contains("corscope_packets_total 42") ?? false)
        XCTAssertNil(WatchCommandTests.httpGet(try XCTUnwrap(URL(string: "http://127.0.0.1:\(server.address.port)/nope"))), "404")
    }

    func testTheReportIsTheSummaryAsJSON() throws {
        let bytes = WatchReport.summaryJSON(snapshot(), final: true)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        XCTAssertEqual(object["final"] as? Bool, true)
        XCTAssertEqual(object["packets"] as? Int, 42)
        XCTAssertEqual((object["kernel"] as? [String: Int])?["dropped"], 3)
        let origins = try XCTUnwrap(object["origins"] as? [[String: Any]])
        XCTAssertEqual(origins.count, 2)
        XCTAssertEqual(origins.first?["origin"] as? String, "http://a.example")
        XCTAssertEqual((origins.first?["blocked"] as? [String: Int])?["MissingAllowOriginHeader"], 1)
    }

    func testTheSummaryNamesKernelDrops() {
        let lines = WatchSummary.lines(snapshot())
        XCTAssertTrue(lines.contains { $0.hasPrefix("kernel: 84 received, 3 dropped by the capture buffer, 1 dropped by the interface") }, "\(lines)")
        XCTAssertTrue(lines.first?.contains("5 exchanges") ?? false, "\(lines)")
    }
}

/// A report that cannot be written whole must fail loudly and leave the previous one in place.
final class ReportFileWriteTests: XCTestCase {
    func testAFullDiskIsAnErrorNotAShortFile() {
        XCTAssertNotNil(Terminal.writeFile("/dev/full", Array(repeating: 0x41, count: 1 << 16)))
        let path = NSTemporaryDirectory() + "corscope-write-\(getpid())"
        defer { unlink(path) }
        XCTAssertNil(Terminal.writeFile(path, Array("report".utf8)))
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("report".utf8))
    }

    func testAReportThatCannotBeWrittenKeepsThePreviousOne() throws {
        let directory = NSTemporaryDirectory() + "corscope-report-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/report.json"
        try WatchReport.write(bytes: Array("first".utf8), to: path)
        // The temporary file cannot be created: a directory stands in its place.
        try FileManager.default.createDirectory(atPath: path + ".tmp", withIntermediateDirectories: true)
        XCTAssertThrowsError(try WatchReport.write(bytes: Array("second".utf8), to: path))
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("first".utf8))
    }
}

import CorscopeCapture
import CorscopeTestSupport
import Foundation
import XCTest

/// `corscope watch` end to end on the loopback interface: the built binary captures traffic that
/// curl exchanges with `Captures/servers/testserver.py`, serves metrics, writes findings, a
/// report and a pcap ring, and stops cleanly on SIGINT. Needs root or CAP_NET_RAW (CI runs as
/// root); otherwise the capturing tests skip and say why. Every wait is bounded, and every child
/// (watch, the test server, curl) is a `ChildProcess`: one that outlives its wait is killed and
/// reaped before anything asserts on how it ended.
final class WatchCommandTests: XCTestCase {
    static let packageRoot = CommandLineTests.packageRoot
    static let pageOrigin = "http://page.example"

    var directory: URL!
    var children: [ChildProcess] = []

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for child in children { child.stop(SIGKILL, within: 5) }
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - HTTPS

    /// HTTPS judged live: curl writes its key log (SSLKEYLOGFILE) as it connects to the test
    /// server over TLS, and watch follows that file — created only after watch started — so the
    /// connection's records arrive before its keys and are held until they come.
    func testWatchDecryptsHTTPSWithAKeyLogThatGrowsWhileItRuns() throws {
        try Self.requireCapturePermission()
        let certificate = path("server.crt"), key = path("server.key"), keyLog = path("keys.log")
        let made = try ChildProcess.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-keyout", key, "-out", certificate,
        ], stdout: .discard, stderr: .capture, timeout: 30)
        assertExit(made, 0, "openssl makes a throwaway certificate")
        let serverPort = try startTestServer(["--tls-cert", certificate, "--tls-key", key])
        let events = path("findings.ndjson")
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port \(serverPort)", "--events", events, "--tls-keylog", keyLog,
                                    "--metrics", "127.0.0.1:0"])
        let metricsURL = try waitForMetricsURL(watch)
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyLog), "the key log does not exist yet")

        let outcome = try ChildProcess.run("/usr/bin/curl", [
            "-s", "-k", "-o", "/dev/null", "-m", "5", "--http1.1", "-H", "Origin: \(Self.pageOrigin)",
            "https://127.0.0.1:\(serverPort)/dup-acao",
        ], environment: ["SSLKEYLOGFILE": keyLog, "PATH": "/usr/bin:/bin"], stdout: .discard, stderr: .discard, timeout: 10)
        assertExit(outcome, 0, "curl over TLS")

        // The finding shows up once the key log line was read and the held records decrypted.
        var finding: [String: Any]?
        let deadline = Date().addingTimeInterval(20)
        repeat {
            let text = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
            finding = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.first
            if finding != nil { break }
            usleep(200_000)
        } while Date() < deadline
        // The monitoring says the TLS connection was decrypted.
        var metrics = ""
        repeat {
            metrics = Self.httpGet(metricsURL) ?? ""
            if metrics.contains(#"corscope_tls_connections_total{decrypted="true"} 1"#) { break }
            usleep(200_000)
        } while Date() < deadline
        XCTAssertTrue(metrics.contains(#"corscope_tls_connections_total{decrypted="true"} 1"#), metrics)
        let note = Self.sendStopSignal(SIGINT, to: watch)
        assertExit(watch.child.finish(within: 15), 0, "watch ends within 15 s of SIGINT" + note)
        let judged = try XCTUnwrap(finding, "a finding for the HTTPS request; watch said: \(watch.child.stderrSoFar())")
        let transport = try XCTUnwrap(judged["transport"] as? [String: Any])
        XCTAssertEqual(transport["scheme"] as? String, "https")
        let tls = try XCTUnwrap(transport["tls"] as? [String: Any])
        XCTAssertEqual(tls["version"] as? String, "TLS 1.3")
        XCTAssertEqual(tls["alpn"] as? String, "http/1.1")
        let cors = try XCTUnwrap(judged["cors"] as? [String: Any])
        XCTAssertEqual(cors["verdict"] as? String, "blocked")
        XCTAssertEqual(cors["corsError"] as? String, "MultipleAllowOriginValues")
    }

    // MARK: - The whole story

    func testWatchJudgesLiveTrafficServesMetricsAndStopsCleanlyOnSIGINT() throws {
        try Self.requireCapturePermission()
        let serverPort = try startTestServer()
        let paths = (events: path("findings.ndjson"), report: path("report.json"), ring: path("ring.pcap"))
        let watch = try startWatch([
            "-i", "lo", "--filter", "tcp port \(serverPort)", "--events", paths.events,
            "--metrics", "127.0.0.1:0", "--write-pcap", paths.ring, "--ring-size", "0.004", "--ring-files", "1000",
            "--output", paths.report, "--report-interval", "1", "--max-origins", "1",
        ])
        let metricsURL = try waitForMetricsURL(watch)

        // Good and bad CORS behaviour (see testserver.py). A Cookie proves 'include'; without one
        // the browser's default (no credentials) is assumed, and the verdict says so.
        curl("/cors", origin: Self.pageOrigin, cookie: true, port: serverPort)  // ACAO=origin, ACAC, Vary → passed (+ reflection warning)
        curl("/dup-acao", origin: Self.pageOrigin, port: serverPort)         // two ACAO fields → blocked
        curl("/gzip", origin: Self.pageOrigin, port: serverPort)             // no ACAO → blocked
        curl("/upstream/cors", origin: Self.pageOrigin, port: serverPort)    // reflected origin, no Vary → passed (assumed), warning
        curl("/json", origin: nil, port: serverPort)                         // no Origin → not CORS, no finding
        curl("/gzip", origin: "http://second.example", port: serverPort)     // past --max-origins 1 → "other"

        // Exchanges are judged as their responses complete: poll the metrics until all six are in.
        var metrics = ""
        let deadline = Date().addingTimeInterval(30)
        repeat {
            metrics = Self.httpGet(metricsURL) ?? ""
            if Self.value(in: metrics, "corscope_exchanges_total", ["origin": "none", "verdict": "not-cors"]) == 1
                && Self.sum(in: metrics, "corscope_exchanges_total") == 6 { break }
            usleep(200_000)
        } while Date() < deadline
        XCTAssertEqual(Self.value(in: metrics, "corscope_exchanges_total", ["origin": Self.pageOrigin, "verdict": "passed"]), 2, metrics)
        XCTAssertEqual(Self.value(in: metrics, "corscope_exchanges_total", ["origin": Self.pageOrigin, "verdict": "blocked"]), 2, metrics)
        XCTAssertNil(Self.value(in: metrics, "corscope_exchanges_total", ["origin": Self.pageOrigin, "verdict": "undecidable"]), metrics)
        XCTAssertEqual(Self.value(in: metrics, "corscope_blocked_total", ["origin": Self.pageOrigin, "reason": "MultipleAllowOriginValues"]), 1, metrics)
        XCTAssertEqual(Self.value(in: metrics, "corscope_blocked_total", ["origin": Self.pageOrigin, "reason": "MissingAllowOriginHeader"]), 1, metrics)
        XCTAssertEqual(Self.value(in: metrics, "corscope_blocked_total", ["origin": "other", "reason": "MissingAllowOriginHeader"]), 1,
                       "the second origin is past the cardinality cap\n\(metrics)")
        XCTAssertEqual(Self.value(in: metrics, "corscope_cache_poisoning_warnings_total", [:]), 1, metrics)
        XCTAssertGreaterThan(Self.value(in: metrics, "corscope_packets_total", [:]) ?? 0, 30, metrics)
        XCTAssertNotNil(Self.value(in: metrics, "corscope_kernel_drops_total", [:]), metrics)
        XCTAssertNotNil(Self.value(in: metrics, "corscope_open_connections", [:]), metrics)
        XCTAssertFalse(metrics.contains("second.example"), "label cardinality is bounded")

        let note = Self.sendStopSignal(SIGINT, to: watch)
        assertExit(watch.child.finish(within: 15), 0, "watch ends within 15 s of SIGINT" + note)

        // Findings: one NDJSON object per blocked, undecidable or warned exchange, nothing else.
        let findings = try String(contentsOfFile: paths.events, encoding: .utf8).split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        XCTAssertTrue(findings.allSatisfy { $0["event"] as? String == "finding" })
        func finding(_ target: String, origin: String = Self.pageOrigin) -> [String: Any]? {
            findings.first { object in
                let request = object["request"] as? [String: Any]
                let headers = request?["headers"] as? [[String]] ?? []
                return request?["target"] as? String == target && headers.contains { $0 == ["Origin", origin] }
            }
        }
        let duplicate = try XCTUnwrap(finding("/dup-acao")?["cors"] as? [String: Any])
        XCTAssertEqual(duplicate["verdict"] as? String, "blocked")
        XCTAssertEqual(duplicate["corsError"] as? String, "MultipleAllowOriginValues")
        let missing = try XCTUnwrap(finding("/gzip")?["cors"] as? [String: Any])
        XCTAssertEqual(missing["corsError"] as? String, "MissingAllowOriginHeader")
        let unvaried = try XCTUnwrap(finding("/upstream/cors")?["cors"] as? [String: Any])
        let warningCodes = (unvaried["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        XCTAssertTrue(warningCodes.contains("missing-vary-origin"), "\(unvaried)")
        XCTAssertEqual(unvaried["verdict"] as? String, "passed")
        XCTAssertEqual((unvaried["assumed"] as? [String: Any])?["credentials"] as? String, "omit", "\(unvaried)")
        // NDJSON findings go to log pipelines: secrets are redacted there too.
        let events = try String(contentsOfFile: paths.events, encoding: .utf8)
        XCTAssertFalse(events.contains("session=1"), "the cookie value curl sent is not in the findings")
        let cookieFinding = try XCTUnwrap(finding("/cors")?["request"] as? [String: Any])
        XCTAssertTrue((cookieFinding["headers"] as? [[String]] ?? []).contains(["Cookie", "session=[redacted]"]), "\(cookieFinding)")
        let passed = try XCTUnwrap(finding("/cors")?["cors"] as? [String: Any], "a pass with a warning is a finding")
        XCTAssertEqual(passed["verdict"] as? String, "passed")
        XCTAssertTrue(findings.allSatisfy { ($0["request"] as? [String: Any])?["target"] as? String != "/json" },
                      "an exchange that is not CORS is not a finding")
        XCTAssertEqual(findings.count, 5, "cors (warned), dup-acao, gzip twice, upstream/cors")
        let exchange = try XCTUnwrap(finding("/dup-acao"))
        for key in ["id", "client", "server", "request", "response", "anomalies", "cors"] {
            XCTAssertNotNil(exchange[key], "the exchanges --json shape has \(key)")
        }

        // The final report.
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths.report))) as? [String: Any])
        XCTAssertEqual(report["final"] as? Bool, true)
        XCTAssertEqual(report["exchanges"] as? Int, 6)
        XCTAssertEqual(report["findings"] as? Int, 5)
        let origins = try XCTUnwrap(report["origins"] as? [[String: Any]])
        let page = try XCTUnwrap(origins.first { $0["origin"] as? String == Self.pageOrigin })
        XCTAssertEqual((page["blocked"] as? [String: Int])?["MultipleAllowOriginValues"], 1)
        XCTAssertEqual((page["warnings"] as? [String: Int])?["missing-vary-origin"], 1)
        let kernel = try XCTUnwrap(report["kernel"] as? [String: Int])
        XCTAssertNotNil(kernel["dropped"])

        // The ring: rotated at 4 KiB, every file a readable capture, together every packet.
        let packetsSeen = try XCTUnwrap(report["packets"] as? Int)
        var ringPackets = 0
        var index = 0
        while FileManager.default.fileExists(atPath: "\(paths.ring).\(index)") {
            let reader = try CaptureFileReader(path: "\(paths.ring).\(index)")
            XCTAssertEqual(reader.forEachPacket { _ in ringPackets += 1 }, .complete)
            index += 1
        }
        XCTAssertGreaterThan(index, 1, "the ring rotated")
        XCTAssertEqual(ringPackets, packetsSeen, "the ring holds every packet analysed")

        // The summary tells what the kernel dropped.
        let stderr = watch.stderr()
        XCTAssertTrue(stderr.contains("kernel: "), stderr)
        XCTAssertTrue(stderr.contains("dropped by the capture buffer"), stderr)
        XCTAssertTrue(stderr.contains("6 exchanges"), stderr)
        // Not a terminal: one plain line per finding on stdout.
        let plain = watch.stdout().split(separator: "\n")
        XCTAssertEqual(plain.count, 5, watch.stdout())
        XCTAssertTrue(plain.contains { $0.contains("/dup-acao") && $0.contains("MultipleAllowOriginValues") }, watch.stdout())
    }

    func testDurationEndsTheCaptureWithASummaryAndNDJSONGoesToStdout() throws {
        try Self.requireCapturePermission()
        let serverPort = try startTestServer()
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port \(serverPort)", "--events", "-", "--duration", "3"])
        _ = try waitForLine(watch, containing: "capturing on lo")
        curl("/dup-acao", origin: Self.pageOrigin, port: serverPort)
        assertExit(watch.child.finish(within: 20), 0, "--duration 3 ends the capture")
        let lines = watch.stdout().split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "only NDJSON on stdout with --events -: \(watch.stdout())")
        XCTAssertTrue(lines.first?.contains("\"event\":\"finding\"") ?? false)
        XCTAssertTrue(lines.first?.contains("MultipleAllowOriginValues") ?? false)
        XCTAssertTrue(watch.stderr().contains("kernel: "), watch.stderr())
    }

    func testOutputInAnAnalyzeFormatIsTheReportOfTheTrafficSeen() throws {
        try Self.requireCapturePermission()
        let serverPort = try startTestServer()
        let report = path("live-report.md")
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port \(serverPort)", "--duration", "3",
                                    "--events", path("live.ndjson"), "--output", report, "--format", "markdown"])
        _ = try waitForLine(watch, containing: "capturing on lo")
        curl("/dup-acao", origin: Self.pageOrigin, port: serverPort)
        curl("/gzip", origin: Self.pageOrigin, cookie: true, port: serverPort)
        assertExit(watch.child.finish(within: 20), 0, "--duration 3 ends the capture")
        let markdown = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertTrue(markdown.hasPrefix("# CORS report"), markdown)
        XCTAssertTrue(markdown.contains("interface lo"), "the report names its input")
        XCTAssertTrue(markdown.contains("MultipleAllowOriginValues"), markdown)
        XCTAssertTrue(markdown.contains(Self.pageOrigin), markdown)
        XCTAssertFalse(markdown.contains("session=1"), "the cookie value sent by curl is redacted")
        XCTAssertTrue(markdown.contains("[redacted]"), "the example exchange shows where a secret was")
    }

    func testMaxExchangesEndsTheCaptureByItself() throws {
        try Self.requireCapturePermission()
        let serverPort = try startTestServer()
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port \(serverPort)", "--max-exchanges", "2", "--events", path("max.ndjson")])
        _ = try waitForLine(watch, containing: "capturing on lo")
        curl("/dup-acao", origin: Self.pageOrigin, port: serverPort)
        curl("/gzip", origin: Self.pageOrigin, port: serverPort)
        assertExit(watch.child.finish(within: 15), 0, "stops after 2 exchanges without a signal")
        XCTAssertTrue(watch.stderr().contains("2 exchanges"), watch.stderr())
    }

    func testSIGTERMStopsAsCleanlyAsSIGINT() throws {
        try Self.requireCapturePermission()
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port 9"])
        _ = try waitForLine(watch, containing: "capturing on lo")
        let note = Self.sendStopSignal(SIGTERM, to: watch)
        assertExit(watch.child.finish(within: 15), 0, "watch ends within 15 s of SIGTERM" + note)
        XCTAssertTrue(watch.stderr().contains("kernel: "), watch.stderr())
    }

    func testAQuietConnectionIsJudgedByTheIdleTimerWithoutFurtherTraffic() throws {
        try Self.requireCapturePermission()
        // A listener that never answers: the request goes out, then the connection stays silent.
        let (listener, port) = try Self.silentListener()
        defer { close(listener) }
        let events = path("idle.ndjson")
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port \(port)", "--idle-timeout", "1", "--events", events])
        _ = try waitForLine(watch, containing: "capturing on lo")
        let client = try ChildProcess("/usr/bin/curl", ["-s", "-m", "12", "-H", "Origin: \(Self.pageOrigin)",
                                                        "http://127.0.0.1:\(port)/never-answered"],
                                      stdout: .discard, stderr: .discard)
        children.append(client)

        var line = ""
        let deadline = Date().addingTimeInterval(8)
        while Date() < deadline && line.isEmpty {
            line = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
            usleep(100_000)
        }
        XCTAssertTrue(client.isRunning, "judged while the connection is still open: by the clock, not by its end")
        XCTAssertTrue(line.contains("/never-answered"), line)
        XCTAssertTrue(line.contains("request_without_response"), line)
        let note = Self.sendStopSignal(SIGINT, to: watch)
        assertExit(watch.child.finish(within: 15), 0, "watch ends within 15 s of SIGINT" + note)
    }

    // MARK: - Errors

    func testABadFilterIsAOneLineErrorAndAFailure() throws {
        try Self.requireCapturePermission()
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port", "--duration", "5"])
        assertFailingExit(watch.child.finish(within: 15))
        let lines = watch.stderr().split(separator: "\n")
        XCTAssertEqual(lines.count, 1, watch.stderr())
        XCTAssertTrue(lines.first?.contains("bad capture filter \"tcp port\"") ?? false, watch.stderr())
    }

    func testANonexistentInterfaceIsAClearError() throws {
        try Self.requireCapturePermission()
        let watch = try startWatch(["-i", "corscope-nope0", "--duration", "5"])
        assertFailingExit(watch.child.finish(within: 15))
        XCTAssertTrue(watch.stderr().contains("no such interface corscope-nope0"), watch.stderr())
    }

    func testMetricsOnANonLoopbackAddressNeedsConsent() throws {
        let watch = try startWatch(["-i", "lo", "--metrics", "0.0.0.0:0", "--duration", "1"])
        assertFailingExit(watch.child.finish(within: 15))
        XCTAssertTrue(watch.stderr().contains("--metrics-allow-remote"), watch.stderr())
    }

    /// The failure note of `sendStopSignal` reads the signal dispositions right.
    func testIgnoredSignalsAreReadFromProc() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "trap '' INT; echo ready; exec sleep 60"])
        defer { child.stop(SIGKILL) }
        let deadline = Date().addingTimeInterval(30)
        while child.stdoutSoFar().isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(child.stdoutSoFar(), "ready\n")
        XCTAssertTrue(Self.ignores(child.processIdentifier, SIGINT))
        XCTAssertFalse(Self.ignores(child.processIdentifier, SIGTERM))
    }

    // MARK: - Helpers

    /// A running `corscope watch`: what it wrote so far (all of it once finished).
    struct Watch {
        let child: ChildProcess
        func stdout() -> String { child.stdoutSoFar() }
        func stderr() -> String { child.stderrSoFar() }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Starts `corscope watch`; stdout and stderr go to files (ChildProcess) so no pipe can fill
    /// up and block it, and tearDown kills and reaps it if a test did not finish it.
    func startWatch(_ arguments: [String]) throws -> Watch {
        let child = try ChildProcess(try CommandLineTests.binary().path, ["watch"] + arguments)
        children.append(child)
        return Watch(child: child)
    }

    /// Starts testserver.py on a free port (it ends itself after 60 s in any case).
    func startTestServer(_ extra: [String] = []) throws -> UInt16 {
        let script = Self.packageRoot.appendingPathComponent("Captures/servers/testserver.py").path
        for _ in 0..<3 {
            let port = try Self.freePort()
            let server = try ChildProcess("/usr/bin/env", ["python3", script, "--host", "127.0.0.1", "--port", String(port),
                                                            "--lifetime", "60"] + extra, stdout: .discard, stderr: .discard)
            children.append(server)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && server.isRunning {
                if Self.canConnect(port: port) { return port }
                usleep(50_000)
            }
            server.stop(SIGKILL)  // not listening in time (or ended): try another port
        }
        XCTFail("testserver.py did not start")
        throw XCTSkip("no test server")
    }

    /// Waits for the "capturing … metrics at http://…/metrics" line, then for the endpoint to answer.
    func waitForMetricsURL(_ watch: Watch) throws -> URL {
        let line = try waitForLine(watch, containing: "/metrics")
        let token = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("http://") }, line)
        let url = try XCTUnwrap(URL(string: token.trimmingCharacters(in: CharacterSet(charactersIn: ";,)"))), line)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if Self.httpGet(url)?.contains("corscope_packets_total") == true { return url }
            usleep(100_000)
        }
        XCTFail("metrics never answered at \(url): \(watch.stderr())")
        throw XCTSkip("no metrics")
    }

    private func waitForLine(_ watch: Watch, containing text: String) throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let line = watch.stderr().split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if !watch.child.isRunning { break }
            usleep(50_000)
        }
        XCTFail("watch never printed \"\(text)\": \(watch.stderr())")
        throw XCTSkip("watch did not start")
    }

    /// One request with curl, waited for (bounded by curl's own -m, and by ChildProcess if curl
    /// itself hangs).
    func curl(_ target: String, origin: String?, cookie: Bool = false, port: UInt16) {
        var arguments = ["-s", "-o", "/dev/null", "-m", "5"]
        if let origin { arguments += ["-H", "Origin: \(origin)"] }
        if cookie { arguments += ["-H", "Cookie: session=1"] }
        arguments.append("http://127.0.0.1:\(port)\(target)")
        do {
            let outcome = try ChildProcess.run("/usr/bin/curl", arguments, stdout: .discard, stderr: .discard, timeout: 10)
            assertExit(outcome, 0, "curl \(target)")
        } catch {
            XCTFail("curl: \(error)")
        }
    }

    /// Capturing tests need root or CAP_NET_RAW; say so instead of failing.
    static func requireCapturePermission() throws {
        do {
            _ = try LiveCapture(configuration: .init(interface: "lo", filter: "tcp port 9"))
        } catch let error as LiveCaptureError where error.kind == .permissionDenied {
            throw XCTSkip("watch tests capture on lo and need root or CAP_NET_RAW (CI runs as root): \(error)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("curl is not installed") }
    }

    /// Sends a stop signal to watch, as a user would once the start line is printed. Returns a
    /// note for the failure message when watch still ignored that signal at that moment (its
    /// disposition before the stop handler is in place), which explains a watch that never stops.
    static func sendStopSignal(_ signal: Int32, to watch: Watch) -> String {
        let ignored = ignores(watch.child.processIdentifier, signal)
        watch.child.send(signal)
        return ignored ? "; the signal was sent while watch still ignored it (SigIgn in /proc): the start line "
            + "was printed before its stop-signal handler was installed" : ""
    }

    /// Whether process `pid` ignores `signal` (its SigIgn mask in /proc).
    static func ignores(_ pid: Int32, _ signal: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") }),
              let mask = UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ok else { throw XCTSkip("cannot bind 127.0.0.1") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// The body of `GET url` over a plain socket (Foundation's URL loading needs
    /// FoundationNetworking on Linux; this needs nothing and is bounded by socket timeouts).
    static func httpGet(_ url: URL) -> String? {
        guard let host = url.host, let port = url.port else { return nil }
        return httpGet(host: host, port: UInt16(port), pathAndQuery: url.path, timeout: 3)
    }

    /// The body of a 200 answer to `GET pathAndQuery` (HTTP/1.0, so the server closes and sends no
    /// chunks), or nil.
    static func httpGet(host: String, port: UInt16, pathAndQuery: String, timeout seconds: Int = 3) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return nil }
        let request = Array("GET \(pathAndQuery) HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while response.count < 8 << 20 {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        // Prometheus answers an HTTP/1.0 request as HTTP/1.1; the metrics server as HTTP/1.0.
        guard text.hasPrefix("HTTP/1.0 200") || text.hasPrefix("HTTP/1.1 200"), let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[headEnd.upperBound...])
    }

    /// A socket listening on 127.0.0.1 that never accepts: the kernel completes the handshake and
    /// the client's request waits unanswered.
    static func silentListener() throws -> (descriptor: Int32, port: UInt16) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 4) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ok else {
            close(descriptor)
            throw XCTSkip("cannot listen on 127.0.0.1")
        }
        return (descriptor, UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    // MARK: - Prometheus text

    /// The sum of the samples `name{labels…}` whose labels include `labels` (summed over the
    /// labels not given, such as `server`), or nil when there is none.
    static func value(in metrics: String, _ name: String, _ labels: [String: String]) -> Int? {
        let matching = samples(in: metrics, name).filter { sample in labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    static func sum(in metrics: String, _ name: String) -> Int {
        samples(in: metrics, name).reduce(0) { $0 + $1.value }
    }

    static func samples(in metrics: String, _ name: String) -> [(labels: [String: String], value: Int)] {
        metrics.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), line.hasPrefix(name),
                  let space = line.lastIndex(of: " "), let value = Int(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            var labels: [String: String] = [:]
            if let open = series.firstIndex(of: "{") {
                guard series[..<open] == name else { return nil }
                // Origins in these tests contain no quotes or commas, so a simple split suffices.
                for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            } else if series != name {
                return nil
            }
            return (labels, value)
        }
    }
}

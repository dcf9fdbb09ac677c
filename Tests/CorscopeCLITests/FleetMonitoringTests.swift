import CorscopeTestSupport
import Foundation
import XCTest

/// deploy/ checked with the real things: a Prometheus server (Debian's `prometheus`) on loopback
/// scrapes a `watch` agent that sees CORS traffic, with deploy/prometheus/corscope-rules.yml
/// loaded; every Grafana dashboard query and variable, and every alert expression the traffic is
/// meant to trigger, must return series through Prometheus's HTTP API. Then promtool on the rules
/// (and their unit tests), systemd-analyze on the unit, the Kubernetes schema on the DaemonSet.
extension WatchCommandTests {
    static var deploy: URL { packageRoot.appendingPathComponent("deploy") }

    func testPrometheusScrapesAWatchAgentAndEveryDashboardQueryAndAlertShowsItsSeries() throws {
        try Self.requireCapturePermission()
        let prometheus = "/usr/bin/prometheus"
        guard FileManager.default.isExecutableFile(atPath: prometheus) else {
            throw XCTSkip("Debian's prometheus is not installed (scripts/install-deps.sh test installs it)")
        }
        let serverPort = try startTestServer()
        let watch = try startWatch(["-i", "lo", "--filter", "tcp port \(serverPort)", "--metrics", "127.0.0.1:0", "--idle-timeout", "1"])
        let metricsURL = try waitForMetricsURL(watch)
        let metricsPort = try XCTUnwrap(metricsURL.port)

        let config = path("prometheus.yml")
        try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - \(Self.deploy.appendingPathComponent("prometheus/corscope-rules.yml").path)
            scrape_configs:
              - job_name: corscope
                static_configs:
                  - targets: ["127.0.0.1:\(metricsPort)"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let webPort = try Self.freePort()
        let server = try ChildProcess(prometheus, [
            "--config.file=\(config)", "--storage.tsdb.path=\(path("tsdb"))", "--web.listen-address=127.0.0.1:\(webPort)",
            "--storage.tsdb.retention.time=1h", "--log.level=warn",
        ], stdout: .discard, stderr: .capture)
        children.append(server)

        // Prometheus has scraped the agent once before any traffic (so counters that start at 0,
        // like the cache warnings, are seen rising).
        XCTAssertTrue(Self.waitForSeries(webPort, "corscope_cache_poisoning_warnings_total", within: 40),
                      "Prometheus never scraped the agent: \(server.stderrSoFar())")
        curl("/cors", origin: Self.pageOrigin, cookie: true, port: serverPort)         // passed
        curl("/dup-acao", origin: Self.pageOrigin, port: serverPort)                   // blocked: MultipleAllowOriginValues
        curl("/gzip", origin: Self.pageOrigin, port: serverPort)                       // blocked: MissingAllowOriginHeader
        curl("/upstream/cors", origin: Self.pageOrigin, port: serverPort)              // cache-poisoning warning
        curl("/barelf", origin: Self.pageOrigin, port: serverPort)                     // an HTTP anomaly (bare LF)
        // TLS to a plain HTTP port: a connection corscope cannot analyse (no key), counted as such.
        _ = try ChildProcess.run("/usr/bin/curl", ["-s", "-k", "-o", "/dev/null", "-m", "3", "https://127.0.0.1:\(serverPort)/json"],
                                 stdout: .discard, stderr: .discard, timeout: 10)
        XCTAssertTrue(Self.waitForSeries(webPort, #"corscope_blocked_total{reason="MultipleAllowOriginValues"}"#, within: 40)
                      && Self.waitForSeries(webPort, "corscope_anomalies_total", within: 20)
                      && Self.waitForSeries(webPort, "corscope_not_analysed_connections_total", within: 20),
                      "the blocked requests never reached Prometheus; metrics: \(Self.httpGet(metricsURL) ?? "")")
        sleep(3)  // a few more scrapes: rates need two samples after the rise

        // The dashboard: every target of every panel, every variable.
        let dashboard = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.deploy.appendingPathComponent("grafana/corscope-dashboard.json"))) as? [String: Any])
        let panels = try XCTUnwrap(dashboard["panels"] as? [[String: Any]])
        var queries = 0
        for panel in panels {
            for target in try XCTUnwrap(panel["targets"] as? [[String: Any]]) {
                let expr = try XCTUnwrap(target["expr"] as? String)
                    .replacingOccurrences(of: "$origin", with: ".*").replacingOccurrences(of: "$server", with: ".*")
                    .replacingOccurrences(of: "$__rate_interval", with: "30s").replacingOccurrences(of: "$__range", with: "5m")
                let result = try Self.query(webPort, expr)
                XCTAssertFalse(result.isEmpty, "panel \"\(panel["title"] ?? "")\": \(expr) returned no series")
                queries += 1
            }
        }
        XCTAssertGreaterThanOrEqual(queries, 10)
        let variables = try XCTUnwrap((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        for variable in variables where variable["type"] as? String == "query" {
            let definition = try XCTUnwrap(variable["definition"] as? String)  // label_values(metric, label)
            let inside = definition.dropFirst("label_values(".count).dropLast()
            let parts = inside.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let values = try Self.labelValues(webPort, label: parts[1], match: parts[0])
            XCTAssertFalse(values.isEmpty, "variable \(variable["name"] ?? ""): \(definition) has no values")
            if parts[1] == "origin" { XCTAssertTrue(values.contains(Self.pageOrigin), "\(values)") }
            if parts[1] == "server" { XCTAssertTrue(values.contains("127.0.0.1:\(serverPort)"), "\(values)") }
        }

        // The alerts the traffic is meant to trigger; drops and a down agent are promtool's unit tests.
        let rules = try String(contentsOf: Self.deploy.appendingPathComponent("prometheus/corscope-rules.yml"), encoding: .utf8)
        for alert in ["CorscopeNewBlockedReason", "CorscopeBlockedRequests", "CorscopeCacheFinding"] {
            let expr = try XCTUnwrap(Self.expression(of: alert, in: rules), "no \(alert) in the rules")
            let result = try Self.query(webPort, expr)
            XCTAssertFalse(result.isEmpty, "\(alert): \(expr) returned no series")
            if alert != "CorscopeCacheFinding" {
                let reasons = Set(result.compactMap { ($0["metric"] as? [String: String])?["reason"] })
                XCTAssertEqual(reasons, ["MultipleAllowOriginValues", "MissingAllowOriginHeader"], alert)
            }
        }
        // Prometheus itself evaluates them: the rule group is loaded and healthy.
        let loaded = try Self.apiGet(webPort, "/api/v1/rules")
        XCTAssertTrue(loaded.contains("\"name\":\"CorscopeNewBlockedReason\""), loaded)
        XCTAssertFalse(loaded.contains("\"health\":\"err\""), loaded)

        server.stop(SIGTERM, within: 10)
        let note = Self.sendStopSignal(SIGINT, to: watch)
        assertExit(watch.child.finish(within: 15), 0, "watch ends within 15 s of SIGINT" + note)
    }

    func testPromtoolChecksAndUnitTestsTheAlertRules() throws {
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw XCTSkip("Debian's prometheus (promtool) is not installed (scripts/install-deps.sh test installs it)")
        }
        let folder = Self.deploy.appendingPathComponent("prometheus")
        let check = try ChildProcess.run(promtool, ["check", "rules", "corscope-rules.yml"], currentDirectory: folder,
                                         stdout: .capture, stderr: .capture, timeout: 60)
        assertExit(check, 0, "promtool check rules: \(check.stdout) \(check.stderr)")
        let unit = try ChildProcess.run(promtool, ["test", "rules", "corscope-rules.test.yml"], currentDirectory: folder,
                                        stdout: .capture, stderr: .capture, timeout: 60)
        assertExit(unit, 0, "promtool test rules: \(unit.stdout) \(unit.stderr)")
    }

    /// systemd-analyze verify needs the ExecStart binary to exist: the unit is checked with the
    /// built corscope in /usr/local/bin's place, everything else as shipped.
    func testSystemdUnitVerifies() throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else { throw XCTSkip("systemd-analyze is not installed") }
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent("systemd/corscope-watch.service"), encoding: .utf8)
        XCTAssertTrue(unit.contains("ExecStart=/usr/local/bin/corscope watch"))
        let copy = path("corscope-watch.service")
        try unit.replacingOccurrences(of: "/usr/local/bin/corscope", with: try CommandLineTests.binary().path)
            .write(toFile: copy, atomically: true, encoding: .utf8)
        let outcome = try ChildProcess.run(analyze, ["verify", copy], stdout: .capture, stderr: .capture, timeout: 60)
        // Complaints about other units on this machine are not this unit's.
        let own = (outcome.stdout + outcome.stderr).split(separator: "\n").filter { $0.contains("corscope-watch.service") }
        XCTAssertTrue(own.isEmpty, own.joined(separator: "\n"))
        assertExit(outcome, 0, "systemd-analyze verify: \(outcome.stderr)")
    }

    func testDaemonSetValidatesAgainstTheKubernetesSchema() throws {
        let check = try ChildProcess.run("/usr/bin/env", ["python3", "-c", "import kubernetes_validate"], stdout: .discard, stderr: .discard, timeout: 60)
        guard check.status == 0 else { throw XCTSkip("kubernetes-validate is not installed (scripts/install-deps.sh test installs it)") }
        let manifest = Self.deploy.appendingPathComponent("kubernetes/daemonset.yaml").path
        let outcome = try ChildProcess.run("/usr/bin/env", ["python3", "-m", "kubernetes_validate", "--strict", manifest],
                                           stdout: .capture, stderr: .capture, timeout: 120)
        assertExit(outcome, 0, "kubernetes-validate: \(outcome.stdout) \(outcome.stderr)")
        let yaml = try String(contentsOfFile: manifest, encoding: .utf8)
        XCTAssertTrue(yaml.contains("add: [\"NET_RAW\"]") && yaml.contains("drop: [\"ALL\"]") && !yaml.contains("privileged: true"))
    }

    // MARK: Prometheus's HTTP API

    /// Prometheus's answer to an API call ("" when it does not answer 200: not started yet, or a
    /// query it refused, which the callers then report with the query).
    static func apiGet(_ port: UInt16, _ pathAndQuery: String) throws -> String {
        httpGet(host: "127.0.0.1", port: port, pathAndQuery: pathAndQuery, timeout: 5) ?? ""
    }

    static func query(_ port: UInt16, _ expr: String) throws -> [[String: Any]] {
        let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expr
        let body = try apiGet(port, "/api/v1/query?query=\(encoded)")
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            XCTFail("\(expr): Prometheus answered \(body.isEmpty ? "nothing" : body)")
            return []
        }
        XCTAssertEqual(json["status"] as? String, "success", "\(expr): \(body)")
        return (json["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
    }

    static func labelValues(_ port: UInt16, label: String, match: String) throws -> [String] {
        let encoded = match.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? match
        let body = try apiGet(port, "/api/v1/label/\(label)/values?match[]=\(encoded)")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], body)
        return json["data"] as? [String] ?? []
    }

    static func waitForSeries(_ port: UInt16, _ expr: String, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expr
        while Date() < deadline {
            // Quietly: Prometheus may not listen yet.
            let body = (try? apiGet(port, "/api/v1/query?query=\(encoded)")) ?? ""
            if let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
               let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]], !result.isEmpty { return true }
            usleep(250_000)
        }
        return false
    }

    /// The `expr` of alert `name` in a rules file (the block after `expr:`, `|` blocks included).
    static func expression(of name: String, in rules: String) -> String? {
        let lines = rules.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "- alert: \(name)" }),
              let exprLine = lines[start...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("expr:") }) else { return nil }
        let first = lines[exprLine].trimmingCharacters(in: .whitespaces).dropFirst("expr:".count).trimmingCharacters(in: .whitespaces)
        guard first == "|" else { return first }
        let indent = lines[exprLine].prefix { $0 == " " }.count
        var body: [String] = []
        for line in lines[(exprLine + 1)...] {
            if line.prefix(while: { $0 == " " }).count <= indent && !line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            body.append(line.trimmingCharacters(in: .whitespaces))
        }
        return body.joined(separator: " ")
    }
}

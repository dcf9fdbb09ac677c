import CorscopeCapture

/// JUnit XML for CI test views (Jenkins, GitLab, Azure DevOps, CircleCI…), valid against the
/// Ant/Jenkins JUnit schema (`JUnit.xsd`): a testsuite per origin, a testcase per blocked
/// endpoint group (a failure) plus one passing testcase for the requests that passed;
/// cache-poisoning findings and refused WebSocket handshakes form a suite each (high and medium
/// cache findings fail; low ones pass and are told in the suite's system-out).
///
/// Names CI systems read:
/// - `classname` is `corscope.` plus the origin with every character other than letters, digits,
///   `_` and `-` made `_` (`http://127.0.0.1:24482` → `corscope.http_127_0_0_1_24482`; `://`
///   becomes one `_`). Jenkins splits a class name at its last dot into package and class, so
///   every origin is one class in the package `corscope`, never a package tree of its host's
///   dots. The cache and WebSocket suites are `corscope.cache-poisoning` and
///   `corscope.websocket-handshakes`.
/// - Each testsuite's `package` is `corscope`, `id` its position from 0, `hostname` `localhost`
///   (the schema's word for a host that cannot be told: the report does not know where it was
///   made), `timestamp` when the suite's first finding was captured (UTC, whole seconds, no zone
///   as the schema wants; for a suite with none, the report's earliest finding; the Unix epoch
///   when the report has none at all), `time` 0 like every testcase: nothing was executed.
public enum JUnitWriter {
    public static func write(_ report: CORSReport) -> [UInt8] {
        let reportTime = earliest(report.origins.flatMap { $0.groups.map(\.firstSeen) }
            + report.cacheFindings.map(\.firstSeen) + report.websocketFindings.map(\.firstSeen)
            + (report.timeline.start.map { [$0] } ?? []))
        var suites = ""
        var suiteID = 0
        func suite(name: String, timestamp: Timestamp?, tests: Int, failures: Int, skipped: Int = 0, properties: [(String, String)],
                   cases: String, systemOut: String) {
            suites += "  <testsuite name=\"\(x(name))\" package=\"corscope\" id=\"\(suiteID)\" hostname=\"localhost\""
            suites += " timestamp=\"\(Self.timestamp(timestamp ?? reportTime))\" time=\"0\""
            suites += " tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\">\n"
            suites += "    <properties>\n"
            for (key, value) in properties + [("redacted", report.redacted ? "true" : "false")] { suites += "      <property name=\"\(x(key))\" value=\"\(x(value))\"/>\n" }
            suites += "    </properties>\n"
            suites += cases
            suites += systemOut.isEmpty ? "    <system-out/>\n" : "    <system-out>\(x(systemOut))</system-out>\n"
            suites += "    <system-err/>\n  </testsuite>\n"
            suiteID += 1
        }

        for o in report.origins {
            let classname = className(origin: o.origin)
            var cases = ""
            for g in o.groups {
                cases += "    <testcase classname=\"\(x(classname))\" name=\"\(x(g.endpoint + " on " + g.host))\" time=\"0\">\n"
                cases += "      <failure type=\"\(x(g.reason))\" message=\"\(x(g.reason + ": " + String(g.count) + " blocked"))\">"
                var body = g.explanation + "\n"
                for m in g.messages { body += "\(m.browser): \(m.text)\n" }
                body += "Layer: \(g.layer.layer.rawValue)\(g.layer.component.map { " (\($0))" } ?? "")\n"
                for line in g.layer.reasoning { body += "- \(line)\n" }
                body += "Fix: \(g.fix.summary)\nExchanges: \(g.exchangeIDs.joined(separator: ", "))"
                cases += x(body) + "</failure>\n    </testcase>\n"
            }
            cases += "    <testcase classname=\"\(x(classname))\" name=\"\(x("\(o.passed) cross-origin requests passed"))\" time=\"0\"/>\n"
            let warnings = o.warningCounts.map { "\($0.code) ×\($0.count): \($0.summary)" }.joined(separator: "\n")
            suite(name: o.origin, timestamp: earliest(o.groups.map(\.firstSeen)), tests: o.groups.count + 1, failures: o.groups.count,
                  properties: [("origin", o.origin), ("passed", String(o.passed)), ("blocked", String(o.blocked)),
                               ("undecidable", String(o.undecidable)), ("warnings", String(o.warnings))],
                  cases: cases, systemOut: warnings)
        }
        if !report.cacheFindings.isEmpty {
            let classname = "corscope.cache-poisoning"
            var cases = ""
            var failures = 0
            var lowFindings: [String] = []
            for c in report.cacheFindings {
                let name = "\(c.kind.rawValue) \(c.host)\(c.urlTemplate)"
                let body = "\(c.evidence)\nFix: \(c.fix.summary)\nExchanges: \(c.exchangeIDs.joined(separator: ", "))"
                if c.severity == .low {
                    // The schema allows only failure, error or skipped in a testcase: a low
                    // finding passes, and what was seen goes to the suite's system-out.
                    cases += "    <testcase classname=\"\(classname)\" name=\"\(x(name))\" time=\"0\"/>\n"
                    lowFindings.append("[low] \(name): \(body)")
                } else {
                    failures += 1
                    cases += "    <testcase classname=\"\(classname)\" name=\"\(x(name))\" time=\"0\">\n"
                    cases += "      <failure type=\"\(x(c.kind.rawValue))\" message=\"\(x("[\(c.severity.rawValue)] \(c.kind.title)"))\">\(x(body))</failure>\n"
                    cases += "    </testcase>\n"
                }
            }
            suite(name: "cache-poisoning", timestamp: earliest(report.cacheFindings.map(\.firstSeen)),
                  tests: report.cacheFindings.count, failures: failures,
                  properties: [("findings", String(report.cacheFindings.count))],
                  cases: cases, systemOut: lowFindings.joined(separator: "\n\n"))
        }
        if !report.websocketFindings.isEmpty {
            let classname = "corscope.websocket-handshakes"
            var cases = ""
            for w in report.websocketFindings {
                cases += "    <testcase classname=\"\(classname)\" name=\"\(x("\(w.status) \(w.host)\(w.pathTemplate) from \(w.origin)"))\" time=\"0\">\n"
                cases += "      <failure type=\"websocket-origin-rejected\" message=\"\(x("WebSocket handshake refused (\(w.status))"))\">\(x("\(w.evidence)\nFix: \(w.fix.summary)\nExchanges: \(w.exchangeIDs.joined(separator: ", "))"))</failure>\n"
                cases += "    </testcase>\n"
            }
            suite(name: "websocket-handshakes", timestamp: earliest(report.websocketFindings.map(\.firstSeen)),
                  tests: report.websocketFindings.count, failures: report.websocketFindings.count,
                  properties: [("findings", String(report.websocketFindings.count))],
                  cases: cases, systemOut: "")
        }
        // What was seen but not judged: one skipped testcase per server endpoint, so a CI view
        // shows that part of the traffic was never checked.
        if !report.notAnalysed.isEmpty || !report.skippedPackets.isEmpty {
            let classname = "corscope.not-analysed"
            var cases = ""
            for t in report.notAnalysed {
                cases += "    <testcase classname=\"\(classname)\" name=\"\(x("\(t.kind.rawValue) \(t.server)"))\" time=\"0\">\n"
                cases += "      <skipped message=\"\(x("\(t.kind.title): \(t.connections) connection(s), \(t.bytes) bytes not judged"))\"/>\n"
                cases += "    </testcase>\n"
            }
            let packets = report.skippedPackets.map { "\($0.count) packets skipped: \($0.kind)" }.joined(separator: "\n")
            suite(name: "not-analysed", timestamp: nil, tests: report.notAnalysed.count, failures: 0, skipped: report.notAnalysed.count,
                  properties: [("connections", String(report.notAnalysed.reduce(0) { $0 + $1.connections }))],
                  cases: cases, systemOut: packets)
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        // No "--" in a comment: XML forbids it (the option's name is spelled without its dashes).
        xml += "<!-- \(report.redacted ? "secrets redacted" : "WARNING: redaction is OFF (option no-redact): contains secrets") -->\n"
        // The schema gives <testsuites> no attributes: CI systems add up the suites themselves.
        xml += "<testsuites>\n" + suites + "</testsuites>\n"
        return Array(xml.utf8)
    }

    /// `corscope.http_127_0_0_1_24482`: one class per origin in the package `corscope`.
    static func className(origin: String) -> String {
        var out = "corscope."
        var rest = Substring(origin)
        if let scheme = rest.range(of: "://") {
            out += sanitized(rest[..<scheme.lowerBound]) + "_"
            rest = rest[scheme.upperBound...]
        }
        out += sanitized(rest)
        return out == "corscope." ? "corscope._" : out
    }

    private static func sanitized(_ text: Substring) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
                ? scalar : "_"
        }))
    }

    /// `2026-11-22T22:15:08`: the schema's ISO 8601 pattern (whole seconds, no time zone; UTC).
    static func timestamp(_ time: Timestamp?) -> String {
        String(TextFormatting.iso(time ?? .zero).prefix(19))
    }

    private static func earliest(_ times: [Timestamp]) -> Timestamp? { times.min() }

    private static func x(_ text: String) -> String { TextFormatting.xml(text) }
}

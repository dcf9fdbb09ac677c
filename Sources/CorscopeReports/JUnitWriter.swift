/// JUnit XML for CI test views: a testsuite per origin, a testcase per blocked endpoint group
/// (a failure) plus one passing testcase for the requests that passed; cache-poisoning findings
/// form their own suite (high and medium fail, low is reported in system-out).
public enum JUnitWriter {
    public static func write(_ report: CORSReport) -> [UInt8] {
        var suites = ""
        var totalTests = 0, totalFailures = 0
        for o in report.origins {
            var cases = ""
            var tests = 0, failures = 0
            for g in o.groups {
                tests += 1
                failures += 1
                cases += "    <testcase classname=\"\(x(o.origin))\" name=\"\(x(g.endpoint + " on " + g.host))\">\n"
                cases += "      <failure type=\"\(x(g.reason))\" message=\"\(x(g.reason + ": " + String(g.count) + " blocked"))\">"
                var body = g.explanation + "\n"
                for m in g.messages { body += "\(m.browser): \(m.text)\n" }
                body += "Layer: \(g.layer.layer.rawValue)\(g.layer.component.map { " (\($0))" } ?? "")\n"
                for line in g.layer.reasoning { body += "- \(line)\n" }
                body += "Fix: \(g.fix.summary)\nExchanges: \(g.exchangeIDs.joined(separator: ", "))"
                cases += x(body) + "</failure>\n    </testcase>\n"
            }
            tests += 1
            cases += "    <testcase classname=\"\(x(o.origin))\" name=\"\(x("\(o.passed) cross-origin requests passed"))\"/>\n"
            totalTests += tests
            totalFailures += failures
            suites += "  <testsuite name=\"\(x(o.origin))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
            if o.warnings > 0 {
                let text = o.warningCounts.map { "\($0.code) ×\($0.count): \($0.summary)" }.joined(separator: "\n")
                suites += "    <properties><property name=\"warnings\" value=\"\(o.warnings)\"/></properties>\n"
                suites += cases + "    <system-out>\(x(text))</system-out>\n  </testsuite>\n"
            } else {
                suites += cases + "  </testsuite>\n"
            }
        }
        if !report.cacheFindings.isEmpty {
            var cases = ""
            var failures = 0
            for c in report.cacheFindings {
                cases += "    <testcase classname=\"cache-poisoning\" name=\"\(x("\(c.kind.rawValue) \(c.host)\(c.urlTemplate)"))\">\n"
                let body = "\(c.evidence)\nFix: \(c.fix.summary)\nExchanges: \(c.exchangeIDs.joined(separator: ", "))"
                if c.severity == .low {
                    cases += "      <system-out>\(x(body))</system-out>\n"
                } else {
                    failures += 1
                    cases += "      <failure type=\"\(x(c.kind.rawValue))\" message=\"\(x("[\(c.severity.rawValue)] \(c.kind.title)"))\">\(x(body))</failure>\n"
                }
                cases += "    </testcase>\n"
            }
            totalTests += report.cacheFindings.count
            totalFailures += failures
            suites += "  <testsuite name=\"cache-poisoning\" tests=\"\(report.cacheFindings.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
            suites += cases + "  </testsuite>\n"
        }
        if !report.websocketFindings.isEmpty {
            var cases = ""
            for w in report.websocketFindings {
                cases += "    <testcase classname=\"websocket-handshakes\" name=\"\(x("\(w.status) \(w.host)\(w.pathTemplate) from \(w.origin)"))\">\n"
                cases += "      <failure type=\"websocket-origin-rejected\" message=\"\(x("WebSocket handshake refused (\(w.status))"))\">\(x("\(w.evidence)\nFix: \(w.fix.summary)\nExchanges: \(w.exchangeIDs.joined(separator: ", "))"))</failure>\n"
                cases += "    </testcase>\n"
            }
            totalTests += report.websocketFindings.count
            totalFailures += report.websocketFindings.count
            suites += "  <testsuite name=\"websocket-handshakes\" tests=\"\(report.websocketFindings.count)\" failures=\"\(report.websocketFindings.count)\" errors=\"0\" skipped=\"0\">\n"
            suites += cases + "  </testsuite>\n"
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<!-- \(report.redacted ? "secrets redacted" : "WARNING: redaction is OFF (--no-redact): contains secrets") -->\n"
        xml += "<testsuites name=\"corscope CORS report\" tests=\"\(totalTests)\" failures=\"\(totalFailures)\">\n"
        xml += suites + "</testsuites>\n"
        return Array(xml.utf8)
    }

    private static func x(_ text: String) -> String { TextFormatting.xml(text) }
}

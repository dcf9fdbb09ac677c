import CorscopeHTTP
import CorscopeReports
import XCTest

/// Every format parses with an independent parser (Python's json, jsonschema, xml.etree), and
/// the same input gives byte-identical output.
final class FormatTests: XCTestCase {
    /// The bundled capture plus cache hits, so every section of every format has content.
    static func richReport(redact: Bool = true) throws -> CORSReport {
        var exchanges = try Support.exchanges("nginx-cors.pcap")
        var hit = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/ok")
        hit.index = 77
        hit.request!.head.headers = Support.fields(hit.request!.head.headers, set: [("Origin", "http://other.example")])
        hit.response!.head.headers = Support.fields(hit.response!.head.headers,
                                                    set: [("Cache-Control", "max-age=600"), ("Age", "30"), ("CF-Cache-Status", "HIT"), ("CF-Ray", "8a1b2c3d4e5f-FRA")])
        exchanges.append(hit)
        return Support.report(exchanges, redact: redact, inputs: ["Captures/nginx-cors.pcap"])
    }

    func testJSONValidatesAgainstTheSchema() throws {
        for report in [try Self.richReport(), try Support.report(capture: "chromium/chromium-cors.pcapng"),
                       Support.report([]), try Self.richReport(redact: false)] {
            let file = try Support.temporaryFile(ReportFormat.json.render(report), suffix: ".json")
            defer { try? FileManager.default.removeItem(at: file) }
            let schema = Support.packageRoot.appendingPathComponent("docs/report.schema.json").path
            try Support.python("""
                import json, sys, jsonschema
                schema = json.load(open(\(pythonString(schema))))
                jsonschema.Draft202012Validator.check_schema(schema)
                document = json.load(open(sys.argv[1]))
                jsonschema.Draft202012Validator(schema).validate(document)
                assert document["schema"] == "corscope.report/1"
                def sorted_keys(value):
                    if isinstance(value, dict):
                        assert list(value) == sorted(value), list(value)
                        for item in value.values(): sorted_keys(item)
                    elif isinstance(value, list):
                        for item in value: sorted_keys(item)
                sorted_keys(document)
                """, file: file)
        }
    }

    func testSARIFIsWellFormed() throws {
        let report = try Self.richReport()
        let file = try Support.temporaryFile(ReportFormat.sarif.render(report), suffix: ".sarif")
        defer { try? FileManager.default.removeItem(at: file) }
        try Support.python("""
            import json, sys
            sarif = json.load(open(sys.argv[1]))
            assert sarif["version"] == "2.1.0"
            run = sarif["runs"][0]
            rules = run["tool"]["driver"]["rules"]
            ids = [rule["id"] for rule in rules]
            assert len(ids) == len(set(ids))
            assert "cors/MissingAllowOriginHeader" in ids and "cache/cached-acao-for-other-origin" in ids
            levels = set()
            for result in run["results"]:
                assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
                assert result["level"] in ("error", "warning", "note")
                levels.add(result["level"])
                uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                assert uri == "Captures/nginx-cors.pcap", uri
                url = result["properties"].get("url", "http://")
                assert url.startswith("http://") and "?" not in url and "{" not in url, url
                assert result["message"]["text"]
            assert {"error", "warning"} <= levels, levels
            errors = [r for r in run["results"] if r["level"] == "error"]
            assert any(r["ruleId"] == "cors/PreflightDisallowedRedirect" for r in errors)
            """, file: file)
    }

    func testJUnitIsWellFormed() throws {
        let report = try Self.richReport()
        let file = try Support.temporaryFile(ReportFormat.junit.render(report), suffix: ".xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Support.python("""
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            assert root.tag == "testsuites"
            suites = {s.get("name"): s for s in root.findall("testsuite")}
            page = suites["http://127.0.0.1:24482"]
            failures = page.findall("testcase/failure")
            assert len(failures) == int(page.get("failures")) == 9, len(failures)
            assert int(page.get("tests")) == len(page.findall("testcase"))
            assert any(f.get("type") == "MultipleAllowOriginValues" for f in failures)
            assert "cache-poisoning" in suites
            assert not root.attrib, root.attrib  # JUnit.xsd allows none; CI systems add up the suites
            """, file: file)
    }

    func testHTMLIsSelfContainedAndEscaped() throws {
        var exchanges = try Support.exchanges("nginx-cors.pcap")
        var hostile = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/notfound")
        hostile.index = 90
        hostile.request!.head.target = "/api/noalways/<script>alert(1)</script>"
        hostile.response!.head.headers = Support.fields(hostile.response!.head.headers, add: [("X-Note", "<img src=x onerror=alert(2)>")])
        exchanges.append(hostile)
        let html = String(decoding: ReportFormat.html.render(Support.report(exchanges)), as: UTF8.self)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("<script"), "captured bytes must not become markup")
        XCTAssertFalse(html.contains("<img"))
        XCTAssertTrue(html.contains("&lt;script&gt;"))
        XCTAssertFalse(html.contains("src=\"http"), "no external assets")
        XCTAssertFalse(html.contains("<link"))
        XCTAssertTrue(html.contains("<svg"), "inline charts")
        XCTAssertTrue(html.contains("Blocked requests by reason"))
        let file = try Support.temporaryFile(Array(html.utf8), suffix: ".html")
        defer { try? FileManager.default.removeItem(at: file) }
        // Parses as HTML with balanced tags (void elements aside).
        try Support.python("""
            import sys
            from html.parser import HTMLParser
            VOID = {"meta", "br", "img", "input", "link", "hr"}
            class Check(HTMLParser):
                def __init__(self):
                    super().__init__(); self.stack = []
                def handle_starttag(self, tag, attrs):
                    if tag not in VOID: self.stack.append(tag)
                def handle_startendtag(self, tag, attrs): pass
                def handle_endtag(self, tag):
                    assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
                    self.stack.pop()
            c = Check(); c.feed(open(sys.argv[1], encoding="utf-8").read()); c.close()
            assert c.stack == [], c.stack
            """, file: file)
    }

    func testMarkdownLeadsWithTheSummaryTable() throws {
        let markdown = String(decoding: ReportFormat.markdown.render(try Self.richReport()), as: UTF8.self)
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "# CORS report")
        let tableStart = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("| Origin | Passed | Blocked | Undecidable | Warnings |") })
        XCTAssertLessThan(tableStart, 10)
        XCTAssertTrue(lines.contains("| http://127.0.0.1:24482 | 15 | 9 | 0 | 9 |"), markdown)
        XCTAssertLessThan(try XCTUnwrap(lines.firstIndex { $0.hasPrefix("## Origin") }),
                          try XCTUnwrap(lines.firstIndex { $0 == "## Cache poisoning" }))
        XCTAssertEqual(markdown.components(separatedBy: "<details>").count, markdown.components(separatedBy: "</details>").count)
        XCTAssertTrue(markdown.contains("```nginx\n"))
        XCTAssertTrue(markdown.contains("[HIGH] A cache served another origin's CORS answer"))
    }

    func testSameInputSameBytes() throws {
        let first = try Self.richReport()
        let second = try Self.richReport()
        for format in ReportFormat.allCases {
            XCTAssertEqual(format.render(first), format.render(second), "\(format)")
        }
    }

    private func pythonString(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}

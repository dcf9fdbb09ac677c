import BrowserRules
import CorscopeVerdicts

/// SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, Azure DevOps, SonarQube…):
/// one rule per CORS error, verdict warning and cache-poisoning kind, plus the WebSocket origin
/// check; one result per blocked group (level error), origin warning and cache finding (warning,
/// or note when low), refused WebSocket handshake (warning).
///
/// Where a result is:
/// - `physicalLocation`: the input it was read from, as given on the command line (relative
///   paths stay relative: code scanning resolves them against the checkout), with
///   `region.startLine` 1 — a capture has no lines, and code scanning places a result in a file
///   only with a start line. A report does not record which input each finding came from, so it
///   is the first input; `run.artifacts` lists all of them. A live capture (`watch`) has no file:
///   then only logical locations.
/// - `logicalLocations`: the page origin as kind `module` (the unit of code that made the
///   request), the endpoint as kind `resource` (SARIF 2.1.0 §3.33.7: an HTTP resource, named
///   `METHOD host/path-template`; a cache finding, which holds for GET and HEAD alike, is named
///   `host/path-template`).
/// - The request URL without its query stays in `properties.url`.
public enum SARIFWriter {
    /// The OASIS schema the output validates against (SARIF 2.1.0 with errata 01).
    public static let schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

    public static func write(_ report: CORSReport, toolVersion: String = "0.1.0") -> [UInt8] {
        var rules: [JSONValue] = []
        var ruleIndex: [String: Int] = [:]
        func addRule(id: String, name: String, help: SARIFRuleHelp, level: String) {
            ruleIndex[id] = rules.count
            var properties: [String: JSONValue] = ["tags": .array(help.tags.map(JSONValue.string))]
            if let severity = help.securitySeverity { properties["security-severity"] = .string(severity) }
            var rule: [String: JSONValue] = [
                "id": .string(id), "name": .string(name),
                "shortDescription": .object(["text": .string(help.title)]),
                "fullDescription": .object(["text": .string(help.meaning)]),
                "help": .object(["text": .string(help.helpText), "markdown": .string(help.helpMarkdown)]),
                "defaultConfiguration": .object(["level": .string(level)]),
                "properties": .object(properties),
            ]
            if let uri = help.helpURI { rule["helpUri"] = .string(uri) }
            rules.append(.object(rule))
        }
        for error in CorsError.allCases {
            addRule(id: "cors/" + error.cdpName, name: error.cdpName, help: SARIFRuleHelp.cors(error), level: "error")
        }
        for code in SARIFRuleHelp.warningCodes {
            addRule(id: "warning/" + code, name: code, help: SARIFRuleHelp.warning(code), level: "warning")
        }
        for kind in CacheFinding.Kind.allCases {
            addRule(id: "cache/" + kind.rawValue, name: kind.rawValue, help: SARIFRuleHelp.cache(kind),
                    level: kind.severity == .low ? "note" : "warning")
        }
        addRule(id: "websocket/origin-rejected", name: "websocket-origin-rejected", help: SARIFRuleHelp.websocket, level: "warning")

        let artifacts = report.inputs.filter(isFileInput).map(artifactURI)
        let artifact = artifacts.first
        func location(origin: String?, resource: String?) -> JSONValue {
            var fields: [String: JSONValue] = [:]
            if let artifact {
                fields["physicalLocation"] = .object([
                    "artifactLocation": .object(["uri": .string(artifact), "index": .int(0)]),
                    "region": .object(["startLine": .int(1)]),
                ])
            }
            var logical: [JSONValue] = []
            if let origin {
                logical.append(.object(["kind": .string("module"), "name": .string(origin), "fullyQualifiedName": .string(origin)]))
            }
            if let resource {
                logical.append(.object(["kind": .string("resource"), "name": .string(resource), "fullyQualifiedName": .string(resource)]))
            }
            if !logical.isEmpty { fields["logicalLocations"] = .array(logical) }
            return .object(fields)
        }

        var results: [JSONValue] = []
        for origin in report.origins {
            for g in origin.groups {
                let id = "cors/" + g.reason
                var text = "\(g.reason): \(g.endpoint) on \(g.host) from origin \(origin.origin), \(g.count)× blocked. "
                text += g.explanation + " Layer: \(g.layer.layer.rawValue)"
                if let c = g.layer.component { text += " (\(c))" }
                text += ". Fix: " + g.fix.summary
                results.append(result(ruleID: id, index: ruleIndex[id], level: "error", text: text,
                                      location: location(origin: origin.origin, resource: g.method + " " + g.host + g.pathTemplate),
                                      fingerprint: g.id, properties: [
                                          "origin": .string(origin.origin), "count": .int(g.count),
                                          "exchangeIds": .array(g.exchangeIDs.map(JSONValue.string)),
                                          "layer": .string(g.layer.layer.rawValue),
                                          "url": .string(locationURI(g.example.url)),
                                      ]))
            }
            for w in origin.warningCounts {
                let id = "warning/" + w.code
                results.append(result(ruleID: id, index: ruleIndex[id], level: "warning",
                                      text: "\(w.summary) (\(w.count)× for origin \(origin.origin))",
                                      location: location(origin: origin.origin, resource: nil),
                                      fingerprint: StableID.make("W", origin.origin, w.code),
                                      properties: ["origin": .string(origin.origin), "count": .int(w.count)]))
            }
        }
        for c in report.cacheFindings {
            let id = "cache/" + c.kind.rawValue
            results.append(result(ruleID: id, index: ruleIndex[id], level: c.severity == .low ? "note" : "warning",
                                  text: "\(c.kind.title) [\(c.severity.rawValue)]: \(c.evidence) Fix: \(c.fix.summary)",
                                  location: location(origin: nil, resource: c.host + c.urlTemplate), fingerprint: c.id,
                                  properties: ["severity": .string(c.severity.rawValue), "count": .int(c.count),
                                               "cdn": .optional(c.cdn),
                                               "url": .string(locationURI(c.scheme + "://" + c.host + c.urlTemplate)),
                                               "exchangeIds": .array(c.exchangeIDs.map(JSONValue.string))]))
        }
        for w in report.websocketFindings {
            let id = "websocket/origin-rejected"
            results.append(result(ruleID: id, index: ruleIndex[id], level: "warning",
                                  text: "\(w.evidence) Fix: \(w.fix.summary)",
                                  location: location(origin: w.origin, resource: "GET " + w.host + w.pathTemplate), fingerprint: w.id,
                                  properties: ["origin": .string(w.origin), "status": .int(w.status), "count": .int(w.count),
                                               "url": .string(locationURI(w.scheme + "://" + w.host + w.pathTemplate)),
                                               "exchangeIds": .array(w.exchangeIDs.map(JSONValue.string))]))
        }

        var run: [String: JSONValue] = [
            // No informationUri: the project has no public home page to point at.
            "tool": .object(["driver": .object([
                "name": .string("corscope"), "version": .string(toolVersion),
                "rules": .array(rules),
            ])]),
            // The writer renders a finished report, so the run succeeded; the command line is not
            // known here, so it is left out (SARIF makes it optional).
            "invocations": .array([.object(invocation(report))]),
            "automationDetails": .object(["id": .string(automationID(report.inputs))]),
            "results": .array(results),
            "properties": .object(["redacted": .bool(report.redacted), "browser": .string(report.browser),
                                   "schema": .string(CORSReport.schema)]),
        ]
        if !artifacts.isEmpty {
            run["artifacts"] = .array(artifacts.map { uri in
                .object(["location": .object(["uri": .string(uri)]), "roles": .array([.string("analysisTarget")])])
            })
        }
        let sarif: JSONValue = .object([
            "$schema": .string(schemaURI),
            "version": .string("2.1.0"),
            // The root property bag sorts right after "$schema": the redaction state comes first.
            "properties": .object([
                "redacted": .bool(report.redacted),
                "notice": .string(report.redacted ? JSONReportWriter.redactedNotice : JSONReportWriter.unredactedNotice),
            ]),
            "runs": .array([.object(run)]),
        ])
        return sarif.serialized()
    }

    /// The run's one invocation; what was seen but not judged (TLS, HTTP/2, …) and inputs not
    /// read become its notifications, so a code-scanning view does not read silence as "no CORS
    /// problem".
    static func invocation(_ report: CORSReport) -> [String: JSONValue] {
        var notifications: [JSONValue] = report.unreadInputs.map {
            .object(["level": .string("error"), "message": .object(["text": .string("Not read: " + $0)])])
        }
        for t in report.notAnalysed {
            notifications.append(.object(["level": .string("note"), "message": .object(["text": .string(
                "Not analysed: \(t.kind.title), \(t.server), \(t.connections) connection(s), \(t.bytes) bytes")])]))
        }
        for packets in report.skippedPackets {
            notifications.append(.object(["level": .string("note"), "message": .object(["text": .string("\(packets.count) packets skipped: \(packets.kind)")])]))
        }
        var invocation: [String: JSONValue] = ["executionSuccessful": .bool(true)]
        if !notifications.isEmpty { invocation["toolExecutionNotifications"] = .array(notifications) }
        return invocation
    }

    private static func result(ruleID: String, index: Int?, level: String, text: String, location: JSONValue,
                               fingerprint: String, properties: [String: JSONValue]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "ruleId": .string(ruleID), "level": .string(level), "message": .object(["text": .string(text)]),
            "locations": .array([location]),
            "partialFingerprints": .object(["corscope/v1": .string(fingerprint)]),
            "properties": .object(properties),
        ]
        if let index { fields["ruleIndex"] = .int(index) }
        return .object(fields)
    }

    /// `watch` names its live source `interface eth0 (filter)`: not a file.
    static func isFileInput(_ input: String) -> Bool {
        !input.isEmpty && !input.hasPrefix("interface ")
    }

    /// An input path as a URI reference: relative paths stay relative (a leading `./` dropped),
    /// absolute ones become `file://` URIs; characters a URI may not hold are percent-encoded.
    static func artifactURI(_ path: String) -> String {
        var path = Substring(path)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        let encoded = percentEncoded(path, also: "%?#:")
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }

    /// `corscope/analyze/<inputs>/`: the part before the last `/` is the run's category, which
    /// code scanning uses to tell analyses of different inputs apart (no run id after it: the
    /// output stays the same for the same input).
    static func automationID(_ inputs: [String]) -> String {
        let live = inputs.contains { !isFileInput($0) }
        return "corscope/" + (live ? "watch" : "analyze") + "/" + inputs.joined(separator: ",") + "/"
    }

    /// The URL without query or fragment (they may hold secrets), with characters a URI may not
    /// contain percent-encoded (templates have `{id}`, redaction writes `[redacted]`).
    static func locationURI(_ url: String) -> String {
        let cut = url.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? url.endIndex
        return percentEncoded(url[..<cut], also: "")
    }

    /// Percent-encodes bytes outside printable ASCII and those a URI may not hold; `also` names
    /// more bytes to encode (a file name's `%`, `?` and `#` are data, a URL's are syntax).
    private static func percentEncoded(_ text: Substring, also: String) -> String {
        var out = ""
        let hex = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && !"{}[]<>\"\\^`|".utf8.contains(byte) && !also.utf8.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}

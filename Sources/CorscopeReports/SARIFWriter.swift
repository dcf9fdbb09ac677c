import BrowserRules
import CorscopeVerdicts

/// SARIF 2.1.0 for code-scanning dashboards: one rule per CORS error, verdict warning and
/// cache-poisoning kind; one result per blocked group (level error), origin warning and cache
/// finding (level warning, or note when low); locations are request URLs without their query.
public enum SARIFWriter {
    public static func write(_ report: CORSReport, toolVersion: String = "0.1.0") -> [UInt8] {
        var rules: [JSONValue] = []
        var ruleIndex: [String: Int] = [:]
        func addRule(id: String, name: String, text: String, level: String) {
            ruleIndex[id] = rules.count
            rules.append(.object([
                "id": .string(id), "name": .string(name),
                "shortDescription": .object(["text": .string(text)]),
                "defaultConfiguration": .object(["level": .string(level)]),
            ]))
        }
        for error in CorsError.allCases {
            addRule(id: "cors/" + error.cdpName, name: error.cdpName,
                    text: "The browser blocked the request: \(error.cdpName) (DevTools CORS error).", level: "error")
        }
        for (code, text) in warningRules {
            addRule(id: "warning/" + code, name: code, text: text, level: "warning")
        }
        for kind in CacheFinding.Kind.allCases {
            addRule(id: "cache/" + kind.rawValue, name: kind.rawValue, text: kind.title,
                    level: kind.severity == .low ? "note" : "warning")
        }

        addRule(id: "websocket/origin-rejected", name: "websocket-origin-rejected",
                text: "The server refused a WebSocket handshake for the page's origin (not CORS: its own origin check).", level: "warning")

        var results: [JSONValue] = []
        for origin in report.origins {
            for g in origin.groups {
                let id = "cors/" + g.reason
                var text = "\(g.reason): \(g.endpoint) on \(g.host) from origin \(origin.origin), \(g.count)× blocked. "
                text += g.explanation + " Layer: \(g.layer.layer.rawValue)"
                if let c = g.layer.component { text += " (\(c))" }
                text += ". Fix: " + g.fix.summary
                results.append(result(ruleID: id, index: ruleIndex[id], level: "error", text: text,
                                      uri: locationURI(g.example.url), fingerprint: g.id, properties: [
                                          "origin": .string(origin.origin), "count": .int(g.count),
                                          "exchangeIds": .array(g.exchangeIDs.map(JSONValue.string)),
                                          "layer": .string(g.layer.layer.rawValue),
                                      ]))
            }
            for w in origin.warningCounts {
                let id = "warning/" + w.code
                results.append(result(ruleID: id, index: ruleIndex[id], level: "warning",
                                      text: "\(w.summary) (\(w.count)× for origin \(origin.origin))",
                                      uri: locationURI(origin.origin + "/"), fingerprint: StableID.make("W", origin.origin, w.code),
                                      properties: ["origin": .string(origin.origin), "count": .int(w.count)]))
            }
        }
        for c in report.cacheFindings {
            let id = "cache/" + c.kind.rawValue
            results.append(result(ruleID: id, index: ruleIndex[id], level: c.severity == .low ? "note" : "warning",
                                  text: "\(c.kind.title) [\(c.severity.rawValue)]: \(c.evidence) Fix: \(c.fix.summary)",
                                  uri: locationURI("http://" + c.host + c.urlTemplate), fingerprint: c.id,
                                  properties: ["severity": .string(c.severity.rawValue), "count": .int(c.count),
                                               "cdn": .optional(c.cdn),
                                               "exchangeIds": .array(c.exchangeIDs.map(JSONValue.string))]))
        }
        for w in report.websocketFindings {
            let id = "websocket/origin-rejected"
            results.append(result(ruleID: id, index: ruleIndex[id], level: "warning",
                                  text: "\(w.evidence) Fix: \(w.fix.summary)",
                                  uri: locationURI("http://" + w.host + w.pathTemplate), fingerprint: w.id,
                                  properties: ["origin": .string(w.origin), "status": .int(w.status), "count": .int(w.count),
                                               "exchangeIds": .array(w.exchangeIDs.map(JSONValue.string))]))
        }
        let sarif: JSONValue = .object([
            "$schema": .string("https://json.schemastore.org/sarif-2.1.0.json"),
            "version": .string("2.1.0"),
            // The root property bag sorts right after "$schema": the redaction state comes first.
            "properties": .object([
                "redacted": .bool(report.redacted),
                "notice": .string(report.redacted ? JSONReportWriter.redactedNotice : JSONReportWriter.unredactedNotice),
            ]),
            "runs": .array([.object([
                "tool": .object(["driver": .object([
                    "name": .string("corscope"), "version": .string(toolVersion),
                    "informationUri": .string("https://github.com/corscope/corscope"),
                    "rules": .array(rules),
                ])]),
                "results": .array(results),
                "properties": .object(["redacted": .bool(report.redacted), "browser": .string(report.browser),
                                       "schema": .string(CORSReport.schema)]),
            ])]),
        ])
        return sarif.serialized()
    }

    private static let warningRules: [(String, String)] = [
        ("credentialed-origin-reflection", "ACAO echoes the request's Origin with credentials allowed."),
        ("null-origin-allowed", "Access-Control-Allow-Origin: null is accepted."),
        ("missing-vary-origin", "Origin-specific ACAO without Vary: Origin."),
        ("max-age-above-cap", "Access-Control-Max-Age above the browser's cap."),
        ("max-age-not-cached", "Access-Control-Max-Age that Firefox does not cache."),
        ("authorization-covered-only-by-wildcard", "Authorization allowed only through Access-Control-Allow-Headers: *."),
        ("wildcard-with-credentials", "ACAO * together with ACAC true."),
    ]

    private static func result(ruleID: String, index: Int?, level: String, text: String, uri: String,
                               fingerprint: String, properties: [String: JSONValue]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "ruleId": .string(ruleID), "level": .string(level), "message": .object(["text": .string(text)]),
            "locations": .array([.object(["physicalLocation": .object([
                "artifactLocation": .object(["uri": .string(uri)]),
            ])])]),
            "partialFingerprints": .object(["corscope/v1": .string(fingerprint)]),
            "properties": .object(properties),
        ]
        if let index { fields["ruleIndex"] = .int(index) }
        return .object(fields)
    }

    /// The URL without query or fragment (they may hold secrets), with characters a URI may not
    /// contain percent-encoded (templates have `{id}`, redaction writes `[redacted]`).
    static func locationURI(_ url: String) -> String {
        let cut = url.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? url.endIndex
        var out = ""
        for byte in url[..<cut].utf8 {
            if byte > 0x20 && byte < 0x7F && !"{}[]<>\"\\^`| ".utf8.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}

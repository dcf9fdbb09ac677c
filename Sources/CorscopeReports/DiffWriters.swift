import CorscopeCapture

/// The output formats of `corscope diff`, as `analyze` has them.
public enum DiffFormat: String, Sendable, CaseIterable {
    case markdown, html, json, sarif, junit

    public func render(_ diff: TwoPointDiff) -> [UInt8] {
        switch self {
        case .markdown: return Array(DiffMarkdownWriter.write(diff).utf8)
        case .html: return Array(DiffHTMLWriter.write(diff).utf8)
        case .json: return DiffJSONWriter.write(diff)
        case .sarif: return DiffSARIFWriter.write(diff)
        case .junit: return Array(DiffJUnitWriter.write(diff).utf8)
        }
    }
}

extension DiffGroup {
    /// Whether the group is something to act on: a verdict that differs between the points, or a
    /// request the near point alone saw and the browser blocked.
    public var isFailure: Bool {
        switch kind {
        case .changed: return nearVerdict != farVerdict
        case .onlyNear: return nearVerdict?.hasPrefix("blocked") == true
        case .onlyFar: return false
        }
    }

    /// `changed between the points`, `only edge saw it`.
    func title(near: String, far: String) -> String {
        switch kind {
        case .changed: return "changed between the points"
        case .onlyNear: return "only \(near) saw it"
        case .onlyFar: return "only \(far) saw it"
        }
    }

    /// The SARIF rule: what kind of difference.
    var ruleID: String {
        switch kind {
        case .onlyNear: return "diff/answered-by-layer"
        case .onlyFar: return "diff/made-by-layer"
        case .changed:
            if let cors = changes.first(where: { $0.name.hasPrefix("Access-Control-") }) { return "diff/cors-header-\(cors.kind.rawValue)" }
            if changes.contains(where: { $0.name == "status" }) { return "diff/status-changed" }
            if let other = changes.first { return "diff/\(other.name.lowercased())-\(other.kind.rawValue)" }
            return "diff/verdict-changed"
        }
    }
}

/// `corscope.diff/1` (docs/diff.schema.json): sorted keys, stable group ids, capture times only.
enum DiffJSONWriter {
    static func write(_ diff: TwoPointDiff) -> [UInt8] {
        let t = diff.totals
        return JSONValue.object([
            "$comment": .string(diff.redacted ? JSONReportWriter.redactedNotice : JSONReportWriter.unredactedNotice),
            "schema": .string(TwoPointDiff.schema),
            "redacted": .bool(diff.redacted),
            "near": .object(["label": .string(diff.nearLabel), "inputs": .array(diff.nearInputs.map(JSONValue.string))]),
            "far": .object(["label": .string(diff.farLabel), "inputs": .array(diff.farInputs.map(JSONValue.string))]),
            "clockOffsetSeconds": .double(diff.clockOffsetSeconds),
            "totals": .object([
                "nearExchanges": .int(t.nearExchanges), "farExchanges": .int(t.farExchanges), "matched": .int(t.matched),
                "changed": .int(t.changed), "verdictChanged": .int(t.verdictChanged), "onlyNear": .int(t.onlyNear),
                "onlyFar": .int(t.onlyFar), "skipped": .int(t.skipped),
            ]),
            "groups": .array(diff.groups.map(group)),
        ]).serialized()
    }

    static func group(_ g: DiffGroup) -> JSONValue {
        .object([
            "id": .string(g.id), "kind": .string(g.kind.rawValue), "method": .string(g.method), "host": .string(g.host),
            "pathTemplate": .string(g.pathTemplate), "count": .int(g.count),
            "nearVerdict": .optional(g.nearVerdict), "farVerdict": .optional(g.farVerdict), "summary": .string(g.summary),
            "changes": .array(g.changes.map { c in
                .object(["message": .string(c.message), "name": .string(c.name), "kind": .string(c.kind.rawValue),
                         "near": .array(c.near.map(JSONValue.string)), "far": .array(c.far.map(JSONValue.string))])
            }),
            "layerBetween": .array(g.layerBetween.map { seen in
                .object(["id": .string(seen.id), "name": .string(seen.name), "answered": .bool(seen.answered),
                         "evidence": .array(seen.evidence.map(JSONValue.string))])
            }),
            "examples": .array(g.examples.map { e in
                .object(["near": .optional(e.near), "far": .optional(e.far), "nearStatus": .optional(e.nearStatus),
                         "farStatus": .optional(e.farStatus), "time": .optional(e.time.map(TextFormatting.iso))])
            }),
            "fix": g.fix.map(JSONReportWriter.fix) ?? .null,
        ])
    }
}

/// The diff as a Markdown ticket: what each point saw, then each difference with the layer named.
enum DiffMarkdownWriter {
    static func write(_ diff: TwoPointDiff) -> String {
        let t = diff.totals
        var md = "# corscope diff: \(TextFormatting.markdownCell(diff.nearLabel)) (near the browser) against \(TextFormatting.markdownCell(diff.farLabel)) (near the application)\n\n"
        if !diff.redacted { md += "> **Redaction is OFF** (--no-redact): cookies and tokens appear as captured. Do not share.\n\n" }
        md += "| | \(TextFormatting.markdownCell(diff.nearLabel)) | \(TextFormatting.markdownCell(diff.farLabel)) |\n|---|---|---|\n"
        md += "| inputs | \(diff.nearInputs.map(TextFormatting.markdownCell).joined(separator: ", ")) | \(diff.farInputs.map(TextFormatting.markdownCell).joined(separator: ", ")) |\n"
        md += "| exchanges | \(t.nearExchanges) | \(t.farExchanges) |\n"
        md += "| seen only here | \(t.onlyNear) | \(t.onlyFar) |\n\n"
        md += "\(t.matched) exchanges seen at both points (clock offset \(seconds(diff.clockOffsetSeconds)) s): \(t.changed) changed between them, \(t.verdictChanged) with another verdict."
        if t.skipped > 0 { md += " \(t.skipped) exchanges were left out (over the per-side limit)." }
        md += "\n\n"
        if diff.groups.isEmpty { md += "No CORS-relevant difference between the two points.\n"; return md }
        for g in diff.groups {
            let title = g.title(near: diff.nearLabel, far: diff.farLabel)
            md += "## \(TextFormatting.markdownCell(g.method)) \(TextFormatting.markdownCell(g.host))\(TextFormatting.markdownCell(g.pathTemplate)): \(title) (\(g.count)×)\n\n"
            md += TextFormatting.markdownProse(g.summary) + "\n\n"
            if !g.changes.isEmpty {
                md += "| field | change | \(TextFormatting.markdownCell(diff.farLabel)) | \(TextFormatting.markdownCell(diff.nearLabel)) |\n|---|---|---|---|\n"
                for c in g.changes {
                    md += "| \(c.message == "request" ? "request " : "")\(TextFormatting.markdownCell(c.name)) | \(c.kind.rawValue) | \(cell(c.far)) | \(cell(c.near)) |\n"
                }
                md += "\n"
            }
            md += "Verdict: \(TextFormatting.markdownCell(diff.farLabel)) \(g.farVerdict ?? "—"), \(TextFormatting.markdownCell(diff.nearLabel)) \(g.nearVerdict ?? "—").\n\n"
            if !g.layerBetween.isEmpty {
                md += "**Layer between:** " + TextFormatting.markdownProse(MarkdownWriter.layersSeen(g.layerBetween)) + "\n\n"
            }
            if let fix = g.fix {
                md += "**Fix:** " + TextFormatting.markdownProse(fix.summary) + "\n\n"
                for snippet in fix.snippets { md += TextFormatting.fenced(snippet.code, language: snippet.language) + "\n\n" }
            }
            md += "Exchanges (\(TextFormatting.markdownCell(diff.nearLabel)) ↔ \(TextFormatting.markdownCell(diff.farLabel))): "
            md += g.examples.map { "`\($0.near ?? "—")` ↔ `\($0.far ?? "—")`" }.joined(separator: ", ") + "\n\n"
        }
        return md
    }

    private static func cell(_ values: [String]) -> String {
        values.isEmpty ? "—" : values.map { "`" + String(TextFormatting.markdownCell($0).map { $0 == "`" ? "'" : $0 }) + "`" }.joined(separator: "<br>")
    }

    /// "+0.012", "-1.500".
    static func seconds(_ value: Double) -> String {
        let ms = Int((value * 1000).rounded())
        let fraction = String(abs(ms) % 1000)
        return (ms < 0 ? "-" : "+") + String(abs(ms) / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// A self-contained HTML page (no scripts, no external assets), as `analyze --format html`.
enum DiffHTMLWriter {
    static func write(_ diff: TwoPointDiff) -> String {
        let e = TextFormatting.html
        let t = diff.totals
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>corscope diff: \(e(diff.nearLabel)) against \(e(diff.farLabel))</title>\n"
        h += "<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top}pre{background:#f6f8fa;padding:.5rem;overflow-x:auto}.fail{color:#b00020}</style></head><body>\n"
        h += "<h1>corscope diff: \(e(diff.nearLabel)) (near the browser) against \(e(diff.farLabel)) (near the application)</h1>\n"
        if !diff.redacted { h += "<p class=\"fail\"><b>Redaction is OFF</b> (--no-redact): cookies and tokens appear as captured. Do not share.</p>\n" }
        h += "<table><tr><th></th><th>\(e(diff.nearLabel))</th><th>\(e(diff.farLabel))</th></tr>\n"
        h += "<tr><td>inputs</td><td>\(e(diff.nearInputs.joined(separator: ", ")))</td><td>\(e(diff.farInputs.joined(separator: ", ")))</td></tr>\n"
        h += "<tr><td>exchanges</td><td>\(t.nearExchanges)</td><td>\(t.farExchanges)</td></tr>\n"
        h += "<tr><td>seen only here</td><td>\(t.onlyNear)</td><td>\(t.onlyFar)</td></tr></table>\n"
        h += "<p>\(t.matched) exchanges seen at both points (clock offset \(DiffMarkdownWriter.seconds(diff.clockOffsetSeconds)) s): \(t.changed) changed between them, \(t.verdictChanged) with another verdict.</p>\n"
        if diff.groups.isEmpty { h += "<p>No CORS-relevant difference between the two points.</p>\n" }
        for g in diff.groups {
            h += "<h2\(g.isFailure ? " class=\"fail\"" : "")>\(e(g.method)) \(e(g.host + g.pathTemplate)): \(e(g.title(near: diff.nearLabel, far: diff.farLabel))) (\(g.count)×)</h2>\n"
            h += "<p>\(TextFormatting.htmlProse(g.summary))</p>\n"
            if !g.changes.isEmpty {
                h += "<table><tr><th>field</th><th>change</th><th>\(e(diff.farLabel))</th><th>\(e(diff.nearLabel))</th></tr>\n"
                for c in g.changes {
                    h += "<tr><td>\(c.message == "request" ? "request " : "")\(e(c.name))</td><td>\(c.kind.rawValue)</td><td>\(c.far.map { "<code>\(e($0))</code>" }.joined(separator: "<br>"))</td><td>\(c.near.map { "<code>\(e($0))</code>" }.joined(separator: "<br>"))</td></tr>\n"
                }
                h += "</table>\n"
            }
            h += "<p>Verdict: \(e(diff.farLabel)) \(e(g.farVerdict ?? "—")), \(e(diff.nearLabel)) \(e(g.nearVerdict ?? "—")).</p>\n"
            if !g.layerBetween.isEmpty { h += "<p><b>Layer between:</b> \(TextFormatting.htmlProse(MarkdownWriter.layersSeen(g.layerBetween)))</p>\n" }
            if let fix = g.fix {
                h += "<p><b>Fix:</b> \(TextFormatting.htmlProse(fix.summary))</p>\n"
                for snippet in fix.snippets { h += "<details><summary>\(e(snippet.target)) configuration</summary><pre>\(e(snippet.code))</pre></details>\n" }
            }
            h += "<p>Exchanges: \(g.examples.map { "<code>\(e($0.near ?? "—"))</code> ↔ <code>\(e($0.far ?? "—"))</code>" }.joined(separator: ", "))</p>\n"
        }
        h += "</body></html>\n"
        return h
    }
}

/// SARIF 2.1.0: one rule per kind of difference, one result per group (error when a verdict
/// differs or a request only the near point saw was blocked, note otherwise), located in the near
/// point's first input.
enum DiffSARIFWriter {
    static let rules: [(id: String, text: String)] = [
        ("diff/cors-header-added", "A layer between the points added a CORS header"),
        ("diff/cors-header-removed", "A layer between the points removed a CORS header"),
        ("diff/cors-header-duplicated", "A layer between the points added a second copy of a CORS header"),
        ("diff/cors-header-changed", "A layer between the points changed a CORS header"),
        ("diff/status-changed", "A layer between the points changed the status"),
        ("diff/answered-by-layer", "A layer answered a request the application never saw"),
        ("diff/made-by-layer", "A layer made a request the browser never sent"),
        ("diff/verdict-changed", "The verdict differs between the points"),
    ]

    static func write(_ diff: TwoPointDiff, toolVersion: String = "0.1.0") -> [UInt8] {
        var ruleIDs = rules.map(\.id)
        var ruleValues: [JSONValue] = rules.map { rule in
            .object(["id": .string(rule.id), "name": .string(String(rule.id.dropFirst("diff/".count))),
                     "shortDescription": .object(["text": .string(rule.text)]),
                     "defaultConfiguration": .object(["level": .string("error")])])
        }
        let artifact = diff.nearInputs.first(where: SARIFWriter.isFileInput).map(SARIFWriter.artifactURI)
        var results: [JSONValue] = []
        for g in diff.groups {
            if !ruleIDs.contains(g.ruleID) {
                ruleIDs.append(g.ruleID)
                ruleValues.append(.object(["id": .string(g.ruleID), "name": .string(String(g.ruleID.dropFirst("diff/".count))),
                                           "shortDescription": .object(["text": .string("A layer between the points changed a field")]),
                                           "defaultConfiguration": .object(["level": .string("warning")])]))
            }
            var location: [String: JSONValue] = [
                "logicalLocations": .array([.object(["name": .string(g.method + " " + g.host + g.pathTemplate), "kind": .string("resource")])]),
            ]
            if let artifact {
                location["physicalLocation"] = .object(["artifactLocation": .object(["uri": .string(artifact)]),
                                                        "region": .object(["startLine": .int(1)])])
            }
            var text = g.summary
            if let fix = g.fix { text += " Fix: " + fix.summary }
            results.append(.object([
                "ruleId": .string(g.ruleID), "ruleIndex": .int(ruleIDs.firstIndex(of: g.ruleID)!),
                "level": .string(g.isFailure ? "error" : "note"), "message": .object(["text": .string(text)]),
                "locations": .array([.object(location)]),
                "partialFingerprints": .object(["corscopeDiffGroup/v1": .string(g.id)]),
                "properties": .object(["count": .int(g.count), "kind": .string(g.kind.rawValue),
                                       "nearVerdict": .optional(g.nearVerdict), "farVerdict": .optional(g.farVerdict),
                                       "layerBetween": .array(g.layerBetween.map { .string($0.name) })]),
            ]))
        }
        var run: [String: JSONValue] = [
            "tool": .object(["driver": .object(["name": .string("corscope"), "version": .string(toolVersion),
                                                "informationUri": .string("https://corscope.invalid/"), "rules": .array(ruleValues)])]),
            "results": .array(results),
            "properties": .object(["near": .string(diff.nearLabel), "far": .string(diff.farLabel), "redacted": .bool(diff.redacted)]),
        ]
        let inputs = (diff.nearInputs + diff.farInputs).filter(SARIFWriter.isFileInput)
        if !inputs.isEmpty { run["artifacts"] = .array(inputs.map { .object(["location": .object(["uri": .string(SARIFWriter.artifactURI($0))])]) }) }
        return JSONValue.object(["$schema": .string(SARIFWriter.schemaURI), "version": .string("2.1.0"), "runs": .array([.object(run)])]).serialized()
    }
}

/// JUnit XML (Ant/Jenkins JUnit.xsd): one testsuite, one testcase per group; a failure where a
/// verdict differs between the points or the near point alone saw a blocked request.
enum DiffJUnitWriter {
    static func write(_ diff: TwoPointDiff) -> String {
        let x = TextFormatting.xml
        let failures = diff.groups.filter(\.isFailure).count
        let first = diff.groups.compactMap { $0.examples.compactMap(\.time).min() }.min()
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
        out += "  <testsuite name=\"\(x("corscope diff " + diff.nearLabel + " against " + diff.farLabel))\" package=\"corscope\" id=\"0\" hostname=\"localhost\""
        out += " timestamp=\"\(JUnitWriter.timestamp(first))\" time=\"0\" tests=\"\(diff.groups.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
        out += "    <properties>\n"
        for (key, value) in [("near", diff.nearLabel), ("far", diff.farLabel), ("matched", String(diff.totals.matched)),
                             ("redacted", diff.redacted ? "true" : "false")] {
            out += "      <property name=\"\(x(key))\" value=\"\(x(value))\"/>\n"
        }
        out += "    </properties>\n"
        for g in diff.groups {
            out += "    <testcase classname=\"corscope.diff\" name=\"\(x(g.method + " " + g.host + g.pathTemplate + ": " + g.title(near: diff.nearLabel, far: diff.farLabel)))\" time=\"0\""
            if g.isFailure {
                out += ">\n      <failure type=\"\(x(g.ruleID))\" message=\"\(x((g.nearVerdict ?? "") + " at " + diff.nearLabel))\">"
                var body = g.summary + "\n"
                for c in g.changes { body += c.text + "\n" }
                if let fix = g.fix { body += "Fix: " + fix.summary + "\n" }
                out += x(body) + "</failure>\n    </testcase>\n"
            } else {
                out += "/>\n"
            }
        }
        out += "    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n"
        return out
    }
}

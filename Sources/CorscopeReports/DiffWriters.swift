import CorscopeCapture

/// The output formats of `corscope diff`.
public enum DiffFormat: String, Sendable, CaseIterable {
    case markdown, json

    public func render(_ diff: TwoPointDiff) -> [UInt8] {
        switch self {
        case .markdown: return Array(DiffMarkdownWriter.write(diff).utf8)
        case .json: return DiffJSONWriter.write(diff)
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
            let title: String
            switch g.kind {
            case .changed: title = "changed between the points"
            case .onlyNear: title = "only \(diff.nearLabel) saw it"
            case .onlyFar: title = "only \(diff.farLabel) saw it"
            }
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

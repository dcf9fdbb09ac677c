/// Markdown that pastes into GitHub and Jira: summary table first, then per origin the blocked
/// groups with their bulky parts (config, example exchange) folded in `<details>`.
public enum MarkdownWriter {
    public static func write(_ report: CORSReport) -> [UInt8] {
        var md = ""
        md += "# CORS report\n\n"
        md += redactionNotice(report) + "\n\n"
        md += "Browser rules: **\(report.browser)**"
        if !report.inputs.isEmpty {
            md += " · Inputs: " + report.inputs.map(TextFormatting.markdownCode).joined(separator: ", ")
        }
        if !report.unreadInputs.isEmpty {
            md += "\n\n> **Not read** (this report covers the other inputs only):\n"
            for line in report.unreadInputs { md += ">\n> - " + TextFormatting.markdownCell(line) + "\n" }
        }
        if !report.inputWarnings.isEmpty {
            md += "\n\n> **Read in part** (this report covers what was read):\n"
            for line in report.inputWarnings { md += ">\n> - " + TextFormatting.markdownCell(line) + "\n" }
        }
        md += "\n\n## Summary\n\n"
        md += "| Origin | Passed | Blocked | Undecidable | Warnings |\n|---|---:|---:|---:|---:|\n"
        for o in report.origins {
            md += "| \(TextFormatting.markdownCell(o.origin)) | \(o.passed) | \(o.blocked) | \(o.undecidable) | \(o.warnings) |\n"
        }
        let t = report.totals
        md += "| **Total** | \(t.passed) | \(t.blocked) | \(t.undecidable) | \(t.warnings) |\n\n"
        md += "\(t.exchanges) exchanges; \(t.notCORS) not subject to CORS; \(TextFormatting.count(t.preflightsPassed, "preflight")) passed; "
        md += "\(report.cacheFindings.count) cache-poisoning finding\(report.cacheFindings.count == 1 ? "" : "s").\n"
        if t.assumedCredentials > 0 {
            md += "\n\(t.assumedCredentials) verdict\(t.assumedCredentials == 1 ? " rests" : "s rest") on an assumed credentials mode, which the wire did not show: the browser's default (no credentials) unless other evidence points to `include`. Each blocked group below names its assumption and the other mode's outcome.\n"
        }

        if report.omittedGroups > 0 {
            md += "\n\(TextFormatting.count(report.omittedGroups, "smaller blocked group")) (\(TextFormatting.count(report.omittedGroupRequests, "request"))) not shown (`--max-groups`).\n"
        }

        for o in report.origins where !o.groups.isEmpty || !o.warningCounts.isEmpty {
            md += "\n## Origin \(TextFormatting.markdownCell(o.origin))\n"
            if report.isSummary {
                md += "\n"
                for g in o.groups { md += summaryLine(g) }
            } else {
                for g in o.groups { md += group(g, folds: report.markdownFolds) }
            }
            if !o.warningCounts.isEmpty {
                md += "\n### Warnings\n\n| Warning | Count | Meaning |\n|---|---:|---|\n"
                for w in o.warningCounts {
                    md += "| `\(w.code)` | \(w.count) | \(TextFormatting.markdownProse(w.summary)) |\n"
                }
            }
        }

        md += notAnalysed(report)
        md += "\n## Cache poisoning\n\n"
        if report.cacheFindings.isEmpty {
            md += "No response in the capture lets a shared cache serve one origin's CORS answer to another.\n"
        }
        for c in report.cacheFindings {
            md += report.isSummary
                ? "- [\(c.severity.rawValue.uppercased())] \(c.kind.title): \(TextFormatting.markdownCode(c.urlTemplate)) on \(TextFormatting.markdownCell(c.host)) (\(c.count)×)\n"
                : cacheFinding(c, folds: report.markdownFolds)
        }
        if !report.websocketFindings.isEmpty {
            md += "\n## WebSocket handshakes refused (not CORS)\n\n"
            for w in report.websocketFindings {
                md += "### \(w.status) to a WebSocket from \(TextFormatting.markdownCell(w.origin)): \(TextFormatting.markdownCode(w.pathTemplate)) on \(TextFormatting.markdownCell(w.host)) (\(w.count)×)\n\n"
                md += "Finding `\(w.id)` · first seen \(TextFormatting.short(w.firstSeen))\n\n"
                md += TextFormatting.markdownProse(w.evidence) + "\n\n"
                md += "Exchanges: " + w.exchangeIDs.map { "`\($0)`" }.joined(separator: ", ") + "\n\n"
                md += "**Fix:** " + TextFormatting.markdownProse(w.fix.summary) + "\n\n"
            }
        }
        return Array(md.utf8)
    }

    /// What was seen but not judged, so "no blocked request" is never read as "no CORS problem".
    static func notAnalysed(_ report: CORSReport) -> String {
        guard !report.notAnalysed.isEmpty || !report.skippedPackets.isEmpty else { return "" }
        var md = "\n## Not analysed\n\nSeen in the input but not judged; CORS failures there would not show above.\n\n"
        if !report.notAnalysed.isEmpty {
            md += "| What | Server | Connections | Bytes | TLS server name / protocols / version |\n|---|---|---:|---:|---|\n"
            for t in report.notAnalysed {
                let details = [t.serverNames, t.protocols, t.versions].map { $0.joined(separator: ", ") }.filter { !$0.isEmpty }.joined(separator: " · ")
                md += "| \(t.kind.title) | \(TextFormatting.markdownCell(t.server)) | \(t.connections) | \(t.bytes) | \(TextFormatting.markdownCell(details)) |\n"
            }
        }
        for (kind, count) in report.skippedPackets { md += "\n- \(TextFormatting.count(count, "packet")) skipped: \(kind)" }
        return md + "\n"
    }

    static func redactionNotice(_ report: CORSReport) -> String {
        report.redacted
            ? "> Secrets are redacted: cookie values, Authorization, and tokens, keys and signatures in headers and URLs read `[redacted]`."
            : "> **WARNING: redaction is OFF (`--no-redact`).** This report contains cookies, tokens and other secrets exactly as captured. Do not share it."
    }

    /// One line per group (`--summary`): reason, endpoint, count, layer and the fix's first sentence.
    private static func summaryLine(_ g: BlockedGroup) -> String {
        let fix = g.fix.summary.firstRange(of: ". ").map { String(g.fix.summary[..<$0.lowerBound]) } ?? g.fix.summary
        return "- **\(g.reason)** \(TextFormatting.markdownCode(g.endpoint)) on \(TextFormatting.markdownCell(g.host)) (\(g.count)×), "
            + "layer \(g.layer.layer.rawValue)\(g.layer.component.map { " (\(TextFormatting.markdownCell($0)))" } ?? ""): "
            + TextFormatting.markdownProse(fix.hasSuffix(".") ? String(fix.dropLast()) : fix) + ".\n"
    }

    /// A bulky part (configuration, an example exchange): folded in `<details>`, which GitHub
    /// renders; or, for trackers that show HTML tags as text (Jira), under a bold title.
    private static func fold(_ title: String, _ body: String, folds: Bool) -> String {
        folds
            ? "<details><summary>\(TextFormatting.html(title))</summary>\n\n" + body + "\n\n</details>\n\n"
            : "**\(TextFormatting.markdownCell(title))**\n\n" + body + "\n\n"
    }

    private static func group(_ g: BlockedGroup, folds: Bool) -> String {
        var md = "\n### \(g.reason): \(TextFormatting.markdownCode(g.endpoint)) on \(TextFormatting.markdownCell(g.host)) (\(g.count)×)\n\n"
        md += "Group `\(g.id)` · stage \(g.stage) · first seen \(TextFormatting.short(g.firstSeen)) · last seen \(TextFormatting.short(g.lastSeen))"
        if let p = g.failedParameter { md += " · failed parameter \(TextFormatting.markdownCode(p))" }
        md += "\n\n"
        md += TextFormatting.markdownProse(g.explanation) + "\n\n"
        if let a = g.assumption { md += "**Assumed:** " + TextFormatting.markdownProse(a.text) + ".\n\n" }
        for message in g.messages {
            md += "Console (\(message.browser)):\n\n" + TextFormatting.fenced(message.text, language: "text") + "\n\n"
        }
        md += "**Layer at fault:** \(g.layer.layer.rawValue)"
        if let c = g.layer.component { md += " (\(TextFormatting.markdownCell(c)))" }
        md += ", confidence \(g.layer.confidence)\n\n"
        for line in g.layer.reasoning { md += "- " + TextFormatting.markdownProse(line) + "\n" }
        if MarkdownWriter.showsLayersSeen(g.layer.seen) { md += "\n**Layers seen:** " + TextFormatting.markdownProse(layersSeen(g.layer.seen)) + "\n" }
        md += "\n**Fix:** " + TextFormatting.markdownProse(g.fix.summary) + "\n\n"
        for snippet in g.fix.snippets {
            md += fold("\(snippet.target) configuration", TextFormatting.fenced(snippet.code, language: snippet.language), folds: folds)
        }
        md += fold("Example exchange \(g.example.id)", TextFormatting.fenced(exchangeText(g.example), language: "http"), folds: folds)
        md += "Exchanges: " + g.exchangeIDs.map { "`\($0)`" }.joined(separator: ", ")
        if g.count > g.exchangeIDs.count { md += " (first \(g.exchangeIDs.count) of \(g.count))" }
        md += "\n"
        return md
    }

    /// The exchange as HTTP/1.1 text (the preflight first when there was one).
    static func exchangeText(_ e: ExampleExchange) -> String {
        var text = ""
        if let preflight = e.preflight.first { text += exchangeText(preflight) + "\n\n" }
        text += "# \(e.id)" + (e.time.map { " at " + TextFormatting.iso($0) } ?? "") + (e.transport.map { " over \($0)" } ?? "") + "\n"
        text += "\(e.method) \(e.url)\n"
        for h in e.requestHeaders {
            text += "\(h.name): \(h.value)" + (h.inferred.map { "    # inferred, not captured: \($0)" } ?? "") + "\n"
        }
        text += "\n"
        if let status = e.status {
            text += "HTTP \(status)\n"
            for h in e.responseHeaders { text += "\(h.name): \(h.value)\n" }
        } else {
            text += "(no response captured)\n"
        }
        return text
    }

    private static func cacheFinding(_ c: CacheFinding, folds: Bool) -> String {
        var md = "### [\(c.severity.rawValue.uppercased())] \(c.kind.title): \(TextFormatting.markdownCode(c.urlTemplate)) on \(TextFormatting.markdownCell(c.host))\n\n"
        md += "Finding `\(c.id)` · `\(c.kind.rawValue)` · \(c.count)× · first seen \(TextFormatting.short(c.firstSeen))"
        if let cdn = c.cdn { md += " · cache: \(TextFormatting.markdownCell(cdn))" }
        md += "\n\n" + TextFormatting.markdownProse(c.evidence) + "\n\n"
        md += "Exchanges: " + c.exchangeIDs.map { "`\($0)`" }.joined(separator: ", ") + "\n\n"
        md += "**Fix:** " + TextFormatting.markdownProse(c.fix.summary) + "\n\n"
        for snippet in c.fix.snippets {
            md += fold("\(snippet.target) cache key", TextFormatting.fenced(snippet.code, language: snippet.language), folds: folds)
        }
        return md
    }

    /// Whether the products seen say more than the Server line the reasoning already quotes.
    static func showsLayersSeen(_ seen: [SeenLayer]) -> Bool {
        seen.count > 1 || seen.contains { layer in layer.answered || layer.evidence.contains { !$0.hasPrefix("Server:") } }
    }

    /// "Varnish (X-Varnish, Via: 1.1 varnish (Varnish/7.1)) · HAProxy (made the answer: its error page (…))".
    static func layersSeen(_ seen: [SeenLayer]) -> String {
        seen.map { "\($0.name) (\($0.answered ? "made the answer: " : "")\($0.evidence.joined(separator: ", ")))" }
            .joined(separator: " · ")
    }
}

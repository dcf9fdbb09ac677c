import CorscopeCapture
/// One self-contained HTML page: inline CSS and SVG, no scripts, no external assets (it must
/// open from a ticket attachment offline), every captured byte escaped.
public enum HTMLWriter {
    public static func write(_ report: CORSReport) -> [UInt8] {
        let notice = report.redacted
            ? "Secrets are redacted: cookie values, Authorization, and tokens, keys and signatures in headers and URLs read [redacted]."
            : "WARNING: redaction is OFF (--no-redact). This report contains cookies, tokens and other secrets exactly as captured. Do not share it."
        // Also as the first line of the source, for whoever opens the file in an editor.
        var h = "<!DOCTYPE html>\n<!-- \(e(notice)) -->\n"
        h += """
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>CORS report</title>
            <style>
            body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1d1d1f}
            table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccd;padding:.25em .6em;text-align:left}
            td.n{text-align:right}pre{background:#f5f5f7;padding:.6em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
            .notice{border-left:4px solid #2a7;padding:.4em .8em;background:#eef8f1}.danger{border-color:#c22;background:#fdeeee}
            .group{border:1px solid #dde;border-radius:6px;padding:.4em 1em;margin:1em 0}
            .high{color:#b00}.medium{color:#a60}.low{color:#555}code{background:#f0f0f3;padding:0 .2em}
            svg text{font:11px system-ui,sans-serif}
            </style></head><body>
            <h1>CORS report</h1>

            """
        h += "<p class=\"notice\(report.redacted ? "" : " danger")\">\(e(notice))</p>\n"
        h += "<p>Browser rules: <b>\(e(report.browser))</b>"
        if !report.inputs.isEmpty { h += " · Inputs: " + report.inputs.map { "<code>\(e($0))</code>" }.joined(separator: ", ") }
        h += "</p>\n"
        if !report.unreadInputs.isEmpty {
            h += "<p><b>Not read</b> (this report covers the other inputs only):</p><ul>\n"
            for line in report.unreadInputs { h += "<li>\(e(line))</li>\n" }
            h += "</ul>\n"
        }
        if !report.inputWarnings.isEmpty {
            h += "<p><b>Read in part</b> (this report covers what was read):</p><ul>\n"
            for line in report.inputWarnings { h += "<li>\(e(line))</li>\n" }
            h += "</ul>\n"
        }
        h += "<h2>Summary</h2>\n<table><tr><th>Origin</th><th>Passed</th><th>Blocked</th><th>Undecidable</th><th>Warnings</th></tr>\n"
        for (index, o) in report.origins.enumerated() {
            // Only origins with a section below get a link.
            let name = o.groups.isEmpty && o.warningCounts.isEmpty ? e(o.origin) : "<a href=\"#origin-\(index)\">\(e(o.origin))</a>"
            h += "<tr><td>\(name)</td><td class=n>\(o.passed)</td><td class=n>\(o.blocked)</td><td class=n>\(o.undecidable)</td><td class=n>\(o.warnings)</td></tr>\n"
        }
        let t = report.totals
        h += "<tr><th>Total</th><td class=n>\(t.passed)</td><td class=n>\(t.blocked)</td><td class=n>\(t.undecidable)</td><td class=n>\(t.warnings)</td></tr></table>\n"
        h += "<p>\(t.exchanges) exchanges; \(t.notCORS) not subject to CORS; \(TextFormatting.count(t.preflightsPassed, "preflight")) passed; \(TextFormatting.count(report.cacheFindings.count, "cache-poisoning finding")).</p>\n"
        if t.assumedCredentials > 0 {
            h += "<p>\(t.assumedCredentials) verdict\(t.assumedCredentials == 1 ? " rests" : "s rest") on an assumed credentials mode, which the wire did not show: the browser's default (no credentials) unless other evidence points to <code>include</code>. Each blocked group names its assumption and the other mode's outcome.</p>\n"
        }
        h += timelineChart(report)
        h += reasonChart(report)

        for (index, o) in report.origins.enumerated() where !o.groups.isEmpty || !o.warningCounts.isEmpty {
            h += "<h2 id=\"origin-\(index)\">Origin \(e(o.origin))</h2>\n"
            if report.isSummary {
                h += "<ul>\n" + o.groups.map { g in
                    "<li><b>\(e(g.reason))</b> <code>\(e(g.endpoint))</code> on \(e(g.host)) (\(g.count)×), layer \(e(g.layer.layer.rawValue)): \(TextFormatting.htmlProse(g.fix.summary))</li>\n"
                }.joined() + "</ul>\n"
            } else {
                for g in o.groups { h += group(g) }
            }
            if !o.warningCounts.isEmpty {
                h += "<h3>Warnings</h3><table><tr><th>Warning</th><th>Count</th><th>Meaning</th></tr>\n"
                for w in o.warningCounts {
                    h += "<tr><td><code>\(e(w.code))</code></td><td class=n>\(w.count)</td><td>\(TextFormatting.htmlProse(w.summary))</td></tr>\n"
                }
                h += "</table>\n"
            }
        }
        if report.omittedGroups > 0 {
            h += "<p>\(TextFormatting.count(report.omittedGroups, "smaller blocked group")) (\(TextFormatting.count(report.omittedGroupRequests, "request"))) not shown (<code>--max-groups</code>).</p>\n"
        }
        if !report.notAnalysed.isEmpty || !report.skippedPackets.isEmpty {
            h += "<h2>Not analysed</h2>\n<p>Seen in the input but not judged; CORS failures there would not show above.</p>\n"
            if !report.notAnalysed.isEmpty {
                h += "<table><tr><th>What</th><th>Server</th><th>Connections</th><th>Bytes</th><th>TLS server name / protocols / version</th></tr>\n"
                for t in report.notAnalysed {
                    let details = [t.serverNames, t.protocols, t.versions].map { $0.joined(separator: ", ") }.filter { !$0.isEmpty }.joined(separator: " · ")
                    h += "<tr><td>\(e(t.kind.title))</td><td>\(e(t.server))</td><td class=n>\(t.connections)</td><td class=n>\(t.bytes)</td><td>\(e(details))</td></tr>\n"
                }
                h += "</table>\n"
            }
            for (kind, count) in report.skippedPackets { h += "<p>\(TextFormatting.count(count, "packet")) skipped: \(e(kind))</p>\n" }
        }
        h += "<h2>Cache poisoning</h2>\n"
        if report.cacheFindings.isEmpty {
            h += "<p>No response in the capture lets a shared cache serve one origin's CORS answer to another.</p>\n"
        }
        for c in report.cacheFindings {
            h += "<div class=\"group\"><h3 class=\"\(c.severity.rawValue)\">[\(c.severity.rawValue.uppercased())] \(e(c.kind.title)): <code>\(e(c.urlTemplate))</code> on \(e(c.host))</h3>\n"
            h += "<p>Finding <code>\(e(c.id))</code> · <code>\(e(c.kind.rawValue))</code> · \(c.count)× · first seen \(e(TextFormatting.short(c.firstSeen)))"
            if let cdn = c.cdn { h += " · cache: \(e(cdn))" }
            h += "</p><p>\(TextFormatting.htmlProse(c.evidence))</p><p>Exchanges: \(c.exchangeIDs.map { "<code>\(e($0))</code>" }.joined(separator: ", "))</p>\n"
            h += "<p><b>Fix:</b> \(TextFormatting.htmlProse(c.fix.summary))</p>\n"
            for s in c.fix.snippets { h += "<details><summary>\(e(s.target)) cache key</summary><pre>\(e(s.code))</pre></details>\n" }
            h += "</div>\n"
        }
        if !report.websocketFindings.isEmpty {
            h += "<h2>WebSocket handshakes refused (not CORS)</h2>\n"
            for w in report.websocketFindings {
                h += "<div class=\"group\"><h3>\(w.status) to a WebSocket from \(e(w.origin)): <code>\(e(w.pathTemplate))</code> on \(e(w.host)) (\(w.count)×)</h3>\n"
                h += "<p>Finding <code>\(e(w.id))</code> · first seen \(e(TextFormatting.short(w.firstSeen)))</p><p>\(TextFormatting.htmlProse(w.evidence))</p>\n"
                h += "<p>Exchanges: \(w.exchangeIDs.map { "<code>\(e($0))</code>" }.joined(separator: ", "))</p><p><b>Fix:</b> \(TextFormatting.htmlProse(w.fix.summary))</p></div>\n"
            }
        }
        h += "</body></html>\n"
        return Array(h.utf8)
    }

    private static func e(_ text: String) -> String { TextFormatting.html(text) }

    private static func group(_ g: BlockedGroup) -> String {
        var h = "<div class=\"group\" id=\"\(e(g.id))\"><h3>\(e(g.reason)): <code>\(e(g.endpoint))</code> on \(e(g.host)) (\(g.count)×)</h3>\n"
        h += "<p>Group <code>\(e(g.id))</code> · stage \(e(g.stage)) · first seen \(e(TextFormatting.short(g.firstSeen))) · last seen \(e(TextFormatting.short(g.lastSeen)))"
        if let p = g.failedParameter { h += " · failed parameter <code>\(e(p))</code>" }
        h += "</p>\n<p>\(TextFormatting.htmlProse(g.explanation))</p>\n"
        if let a = g.assumption { h += "<p><b>Assumed:</b> \(TextFormatting.htmlProse(a.text)).</p>\n" }
        for m in g.messages { h += "<p>Console (\(e(m.browser))):</p><pre>\(e(m.text))</pre>\n" }
        h += "<p><b>Layer at fault:</b> \(e(g.layer.layer.rawValue))\(g.layer.component.map { " (\(e($0)))" } ?? ""), confidence \(e(g.layer.confidence))</p><ul>\n"
        for line in g.layer.reasoning { h += "<li>\(TextFormatting.htmlProse(line))</li>\n" }
        h += "</ul>"
        if MarkdownWriter.showsLayersSeen(g.layer.seen) { h += "<p><b>Layers seen:</b> \(TextFormatting.htmlProse(MarkdownWriter.layersSeen(g.layer.seen)))</p>" }
        h += "<p><b>Fix:</b> \(TextFormatting.htmlProse(g.fix.summary))</p>\n"
        for s in g.fix.snippets { h += "<details><summary>\(e(s.target)) configuration</summary><pre>\(e(s.code))</pre></details>\n" }
        h += "<details><summary>Example exchange \(e(g.example.id))</summary><pre>\(e(MarkdownWriter.exchangeText(g.example)))</pre></details>\n"
        h += "<p>Exchanges: \(g.exchangeIDs.map { "<code>\(e($0))</code>" }.joined(separator: ", "))</p></div>\n"
        return h
    }

    private static let palette = ["#c0392b", "#2471a3", "#d68910", "#229954", "#7d3c98", "#148f77", "#a04000", "#566573"]

    /// Blocked requests over capture time: one row of bars per origin on a common axis, each
    /// row labelled with its peak per bin, the axis with its start and end times. Only when the
    /// blocks spread over at least a minute and three bins: a chart of one burst says nothing
    /// the table does not.
    private static func timelineChart(_ report: CORSReport) -> String {
        let rows = report.origins.filter { $0.blocked > 0 }
        let bins = report.timeline.binCount
        guard bins >= 3, Double(bins) * report.timeline.binSeconds >= 60, !rows.isEmpty,
              let start = report.timeline.start else { return "" }
        let labelWidth = 220, barArea = 600, rowHeight = 34, axisHeight = 34
        let barWidth = max(1, barArea / bins)
        let height = rows.count * rowHeight + axisHeight
        var s = "<h3>Blocked requests over time</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barArea + 60)\" height=\"\(height)\" role=\"img\" aria-label=\"Blocked requests per origin over time\">\n"
        for (row, o) in rows.enumerated() {
            let top = row * rowHeight + 4
            let peak = max(1, o.blockedOverTime.max() ?? 1)
            s += "<text x=\"0\" y=\"\(top + 18)\">\(e(String(o.origin.prefix(34))))</text>\n"
            s += "<line x1=\"\(labelWidth)\" y1=\"\(top + rowHeight - 8)\" x2=\"\(labelWidth + barWidth * bins)\" y2=\"\(top + rowHeight - 8)\" stroke=\"#999\"/>\n"
            for (i, count) in o.blockedOverTime.enumerated() where count > 0 {
                let barHeight = max(2, count * (rowHeight - 8) / peak)
                s += "<rect x=\"\(labelWidth + i * barWidth)\" y=\"\(top + rowHeight - 8 - barHeight)\" width=\"\(max(1, barWidth - 1))\" height=\"\(barHeight)\" fill=\"\(palette[row % palette.count])\"><title>\(count) blocked</title></rect>\n"
            }
            s += "<text x=\"\(labelWidth + barWidth * bins + 6)\" y=\"\(top + 12)\">max \(peak)</text>\n"
        }
        let end = Timestamp(seconds: start.seconds + Int64(Double(bins) * report.timeline.binSeconds), nanoseconds: 0)
        let axis = rows.count * rowHeight + 14
        s += "<text x=\"\(labelWidth)\" y=\"\(axis)\">\(e(TextFormatting.short(start)))</text>\n"
        s += "<text x=\"\(labelWidth + barWidth * bins)\" y=\"\(axis)\" text-anchor=\"end\">\(e(TextFormatting.short(end)))</text>\n"
        s += "<text x=\"\(labelWidth)\" y=\"\(axis + 16)\">blocked requests per \(e(TextFormatting.seconds(report.timeline.binSeconds))) (\(TextFormatting.count(bins, "bin")))</text>\n</svg>\n"
        return s
    }

    /// Blocked requests by reason, all origins together.
    private static func reasonChart(_ report: CORSReport) -> String {
        var byReason: [String: Int] = [:]
        for o in report.origins { for g in o.groups { byReason[g.reason, default: 0] += g.count } }
        guard !byReason.isEmpty else { return "" }
        let rows = byReason.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let peak = rows[0].value
        let labelWidth = 300, barArea = 400, rowHeight = 22
        var s = "<h3>Blocked requests by reason</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barArea + 60)\" height=\"\(rows.count * rowHeight + 8)\" role=\"img\" aria-label=\"Blocked requests by reason\">\n"
        for (i, row) in rows.enumerated() {
            let y = i * rowHeight + 4
            let width = max(2, row.value * barArea / peak)
            s += "<text x=\"0\" y=\"\(y + 14)\">\(e(row.key))</text><rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"\(rowHeight - 6)\" fill=\"\(palette[0])\"/><text x=\"\(labelWidth + width + 4)\" y=\"\(y + 14)\">\(row.value)</text>\n"
        }
        return s + "</svg>\n"
    }
}

import CorscopeCapture
import CorscopeExchanges

/// `corscope merge`: reports of different files, hosts or `watch` snapshots combined as if one
/// run had read everything.
///
/// Associative and commutative: counts add up; groups, cache findings and WebSocket findings
/// with the same (stable) id combine — first seen is the earliest, last seen the latest, the
/// example is the one of the part that saw the group first, the evidence ids are the first
/// `evidencePerGroup` in the order the parts first saw the group (ties broken by content); the
/// time series are re-binned onto one axis of at most `timelineBins` bins. Exchange ids are
/// per input, so each part's ids are qualified by its input (`file#id`) once, when they are not yet.
///
/// What a merge cannot give: a cross-request cache finding whose two requests were in different
/// parts, a preflight and its request split across parts, and the exact bin edges of a whole
/// run when the parts' axes were coarser than the whole one's.
public enum ReportMerge {
    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }

    public static func merge(_ reports: [CORSReport], evidencePerGroup: Int = 10, timelineBins: Int = 48) throws -> CORSReport {
        guard var merged = reports.first.map({ qualified($0) }) else { throw Mismatch(description: "no report to merge") }
        for next in reports.dropFirst() {
            merged = try merge(merged, qualified(next), evidencePerGroup: evidencePerGroup, timelineBins: timelineBins)
        }
        merged.inputWarnings = merged.inputWarnings.filter { !$0.hasPrefix(cutNotePrefix) }
        if let note = cutNote(merged.edges) { merged.inputWarnings = (merged.inputWarnings + [note]).sorted() }
        return merged
    }

    static let cutNotePrefix = "Cut at the parts' edges: "

    /// What the parts' edges cut, said once: a split of one capture leaves each exchange that
    /// straddles it as an unanswered request at the end of one part and an answer without its
    /// request at the start of the next, so it is counted twice.
    static func cutNote(_ edges: CORSReport.Edges) -> String? {
        guard edges.requestsWithoutResponse > 0 && edges.responsesWithoutRequest > 0 else { return nil }
        let cut = min(edges.requestsWithoutResponse, edges.responsesWithoutRequest)
        return cutNotePrefix + "\(edges.requestsWithoutResponse) requests went unanswered at the end of a part and \(edges.responsesWithoutRequest) answers had no request at its start: where the parts are a split of one capture, up to \(cut) exchanges were cut by the split and are counted in both parts (the request undecidable, the answer without its request)."
    }

    /// Ids qualified by the part's input, so two parts' `0.3` stay apart (idempotent: an id that
    /// already has a `#` is left alone).
    static func qualified(_ report: CORSReport) -> CORSReport {
        guard let input = report.inputs.count == 1 ? report.inputs.first : nil else { return report }
        let name = input.split(separator: "/").last.map(String.init) ?? input
        func q(_ id: String) -> String { id.contains("#") ? id : name + "#" + id }
        func qe(_ e: ExampleExchange) -> ExampleExchange {
            var e = e
            e.id = q(e.id)
            e.preflight = e.preflight.map(qe)
            return e
        }
        var report = report
        for o in report.origins.indices {
            for g in report.origins[o].groups.indices {
                report.origins[o].groups[g].exchangeIDs = report.origins[o].groups[g].exchangeIDs.map(q)
                report.origins[o].groups[g].example = qe(report.origins[o].groups[g].example)
            }
        }
        for c in report.cacheFindings.indices { report.cacheFindings[c].exchangeIDs = report.cacheFindings[c].exchangeIDs.map(q) }
        for w in report.websocketFindings.indices { report.websocketFindings[w].exchangeIDs = report.websocketFindings[w].exchangeIDs.map(q) }
        return report
    }

    static func merge(_ a: CORSReport, _ b: CORSReport, evidencePerGroup: Int, timelineBins: Int) throws -> CORSReport {
        guard a.browser == b.browser else {
            throw Mismatch(description: "the reports judged with different browsers' rules (\(a.browser), \(b.browser)): merge reports of one --browser")
        }
        let axis = commonAxis(a.timeline, b.timeline, maxBins: timelineBins)
        var t = CORSReport.Totals()
        t.exchanges = a.totals.exchanges + b.totals.exchanges
        t.notCORS = a.totals.notCORS + b.totals.notCORS
        t.passed = a.totals.passed + b.totals.passed
        t.blocked = a.totals.blocked + b.totals.blocked
        t.undecidable = a.totals.undecidable + b.totals.undecidable
        t.preflightsPassed = a.totals.preflightsPassed + b.totals.preflightsPassed
        t.assumedCredentials = a.totals.assumedCredentials + b.totals.assumedCredentials
        t.warnings = a.totals.warnings + b.totals.warnings

        var origins: [String: OriginReport] = [:]
        for report in [a, b] {
            for var origin in report.origins {
                origin.blockedOverTime = rebin(origin.blockedOverTime, from: report.timeline, to: axis)
                guard let existing = origins[origin.origin] else {
                    origins[origin.origin] = origin
                    continue
                }
                origins[origin.origin] = mergeOrigin(existing, origin, evidencePerGroup: evidencePerGroup)
            }
        }
        var merged = CORSReport(
            redacted: a.redacted && b.redacted, browser: a.browser, inputs: Array(Set(a.inputs + b.inputs)).sorted(),
            totals: t, origins: origins.values.sorted { $0.origin < $1.origin },
            cacheFindings: mergeFindings(a.cacheFindings, b.cacheFindings, evidencePerGroup: evidencePerGroup),
            websocketFindings: mergeWebSocket(a.websocketFindings, b.websocketFindings, evidencePerGroup: evidencePerGroup),
            timeline: axis)
        merged.unreadInputs = Array(Set(a.unreadInputs + b.unreadInputs)).sorted()
        merged.inputWarnings = Array(Set(a.inputWarnings + b.inputWarnings)).sorted()
        merged.notAnalysed = mergeNotAnalysed(a.notAnalysed, b.notAnalysed)
        var skipped: [String: Int] = [:]
        for (kind, count) in a.skippedPackets + b.skippedPackets { skipped[kind, default: 0] += count }
        merged.skippedPackets = skipped.keys.sorted().map { ($0, skipped[$0]!) }
        merged.edges.requestsWithoutResponse = a.edges.requestsWithoutResponse + b.edges.requestsWithoutResponse
        merged.edges.responsesWithoutRequest = a.edges.responsesWithoutRequest + b.edges.responsesWithoutRequest
        merged.omittedGroups = a.omittedGroups + b.omittedGroups
        merged.omittedGroupRequests = a.omittedGroupRequests + b.omittedGroupRequests
        merged.isSummary = a.isSummary
        merged.markdownFolds = a.markdownFolds
        return merged
    }

    private static func mergeOrigin(_ x: OriginReport, _ y: OriginReport, evidencePerGroup: Int) -> OriginReport {
        var warnings: [String: WarningCount] = [:]
        for w in x.warningCounts + y.warningCounts {
            if var existing = warnings[w.code] {
                existing.count += w.count
                if w.summary < existing.summary { existing.summary = w.summary }
                warnings[w.code] = existing
            } else {
                warnings[w.code] = w
            }
        }
        var groups: [String: BlockedGroup] = [:]
        for g in x.groups + y.groups {
            guard let existing = groups[g.id] else { groups[g.id] = g; continue }
            groups[g.id] = mergeGroup(existing, g, evidencePerGroup: evidencePerGroup)
        }
        var series = x.blockedOverTime
        for (i, v) in y.blockedOverTime.enumerated() {
            if i < series.count { series[i] += v } else { series.append(v) }
        }
        return OriginReport(
            origin: x.origin, passed: x.passed + y.passed, blocked: x.blocked + y.blocked, undecidable: x.undecidable + y.undecidable,
            warnings: x.warnings + y.warnings, warningCounts: warnings.values.sorted { $0.code < $1.code },
            groups: groups.values.sorted { ($1.count, $0.reason, $0.host, $0.endpoint) < ($0.count, $1.reason, $1.host, $1.endpoint) },
            blockedOverTime: series)
    }

    /// The part that saw the group first keeps its example, its texts and its evidence first.
    private static func earlierFirst<T>(_ x: T, _ y: T, firstSeen: (T) -> Timestamp, tieBreak: (T) -> String) -> (T, T) {
        let fx = firstSeen(x), fy = firstSeen(y)
        if fx != fy { return fx < fy ? (x, y) : (y, x) }
        return tieBreak(x) <= tieBreak(y) ? (x, y) : (y, x)
    }

    private static func mergeGroup(_ x: BlockedGroup, _ y: BlockedGroup, evidencePerGroup: Int) -> BlockedGroup {
        let (first, second) = earlierFirst(x, y, firstSeen: \.firstSeen, tieBreak: { $0.exchangeIDs.joined(separator: ",") + $0.example.id })
        var merged = first
        merged.count = x.count + y.count
        merged.lastSeen = max(x.lastSeen, y.lastSeen)
        merged.exchangeIDs = Array((first.exchangeIDs + second.exchangeIDs).prefix(evidencePerGroup))
        return merged
    }

    private static func mergeFindings(_ a: [CacheFinding], _ b: [CacheFinding], evidencePerGroup: Int) -> [CacheFinding] {
        var byID: [String: CacheFinding] = [:]
        for f in a + b {
            guard let existing = byID[f.id] else { byID[f.id] = f; continue }
            let (first, second) = earlierFirst(existing, f, firstSeen: \.firstSeen, tieBreak: { $0.exchangeIDs.joined(separator: ",") })
            var merged = first
            merged.count = existing.count + f.count
            merged.lastSeen = max(existing.lastSeen, f.lastSeen)
            merged.exchangeIDs = Array((first.exchangeIDs + second.exchangeIDs).prefix(evidencePerGroup))
            byID[f.id] = merged
        }
        // As CachePoisoningAnalyzer orders them: severity, then URL, then kind.
        return byID.values.sorted {
            ($0.severity.rank, $0.host, $0.urlTemplate, $0.kind.rawValue) < ($1.severity.rank, $1.host, $1.urlTemplate, $1.kind.rawValue)
        }
    }

    private static func mergeWebSocket(_ a: [WebSocketFinding], _ b: [WebSocketFinding], evidencePerGroup: Int) -> [WebSocketFinding] {
        var byID: [String: WebSocketFinding] = [:]
        for f in a + b {
            guard let existing = byID[f.id] else { byID[f.id] = f; continue }
            let (first, second) = earlierFirst(existing, f, firstSeen: \.firstSeen, tieBreak: { $0.exchangeIDs.joined(separator: ",") })
            var merged = first
            merged.count = existing.count + f.count
            merged.lastSeen = max(existing.lastSeen, f.lastSeen)
            merged.exchangeIDs = Array((first.exchangeIDs + second.exchangeIDs).prefix(evidencePerGroup))
            byID[f.id] = merged
        }
        // As WebSocketOriginAnalyzer orders them.
        return byID.values.sorted { ($0.host, $0.pathTemplate, $0.origin, $0.status) < ($1.host, $1.pathTemplate, $1.origin, $1.status) }
    }

    private static func mergeNotAnalysed(_ a: [NotAnalysedTraffic], _ b: [NotAnalysedTraffic]) -> [NotAnalysedTraffic] {
        var byKey: [String: NotAnalysedTraffic] = [:]
        for t in a + b {
            let key = t.kind.rawValue + " " + t.server
            guard var existing = byKey[key] else { byKey[key] = t; continue }
            existing.connections += t.connections
            existing.bytes += t.bytes
            existing.serverNames = Array(Set(existing.serverNames + t.serverNames)).sorted()
            existing.protocols = Array(Set(existing.protocols + t.protocols)).sorted()
            existing.versions = Array(Set(existing.versions + t.versions)).sorted()
            byKey[key] = existing
        }
        // Largest first, as NotAnalysedTally orders them.
        return byKey.values.sorted { ($0.bytes, $1.server, $1.kind.rawValue) > ($1.bytes, $0.server, $0.kind.rawValue) }
    }

    // MARK: Time axis

    /// The smallest power-of-two bin width (at least both parts' widths) whose aligned bins cover
    /// both parts' ranges in at most `maxBins` bins, as `ReportBuilder` picks its axis.
    static func commonAxis(_ a: CORSReport.Timeline, _ b: CORSReport.Timeline, maxBins: Int) -> CORSReport.Timeline {
        let parts = [a, b].filter { $0.start != nil && $0.binCount > 0 }
        guard !parts.isEmpty else { return CORSReport.Timeline(start: nil, binSeconds: 1, binCount: 0) }
        var low = Int64.max, high = Int64.min
        var width: Int64 = 1
        for p in parts {
            let w = Int64(p.binSeconds)
            low = min(low, p.start!.seconds)
            high = max(high, p.start!.seconds + Int64(p.binCount) * w - 1)
            width = max(width, w)
        }
        while true {
            let start = low - floorMod(low, width)
            if (high - start) / width + 1 <= Int64(max(1, maxBins)) {
                return CORSReport.Timeline(start: Timestamp(seconds: start, nanoseconds: 0), binSeconds: Double(width),
                                           binCount: Int((high - start) / width + 1))
            }
            width *= 2
        }
    }

    static func rebin(_ bins: [Int], from: CORSReport.Timeline, to axis: CORSReport.Timeline) -> [Int] {
        var out = [Int](repeating: 0, count: axis.binCount)
        guard let start = from.start, let outStart = axis.start else { return out }
        let width = Int64(from.binSeconds), outWidth = Int64(axis.binSeconds)
        for (i, v) in bins.enumerated() where v > 0 {
            let index = Int((start.seconds + Int64(i) * width - outStart.seconds) / outWidth)
            if index >= 0 && index < out.count { out[index] += v }
        }
        return out
    }

    private static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }
}

#if canImport(Glibc)
import Glibc
#endif

/// The live screen of `watch` when stdout is a terminal: per-origin counts, redrawn in place.
enum WatchTerminalView {
    /// Redraws more often than this only flicker.
    static let minimumRedrawInterval = 0.5
    /// Origins listed before the rest are summed in one line (the screen is finite).
    static let maximumRows = 20

    static func render(_ snapshot: WatchSnapshot) -> String {
        var screen = "\u{1B}[H\u{1B}[2J"  // cursor home, clear screen
        screen += "corscope watch on \(snapshot.interface)"
        if let filter = snapshot.filter { screen += "  filter: \(filter)" }
        screen += "  (\(snapshot.browser))  \(Int(snapshot.seconds)) s\n"
        screen += "packets \(snapshot.packets)   kernel drops \(snapshot.kernel.dropped)"
        screen += " (interface \(snapshot.kernel.interfaceDropped))   open connections \(snapshot.openConnections)"
        screen += "   exchanges \(snapshot.exchanges)   findings \(snapshot.findings)\n\n"
        screen += pad("ORIGIN", 40) + pad("PASSED", 8) + pad("BLOCKED", 9) + pad("UNDECIDED", 11) + pad("WARNINGS", 10) + "REASONS\n"

        let ranked = snapshot.origins.sorted { lhs, rhs in
            let left = lhs.value.count("blocked") + lhs.value.count("undecidable") + lhs.value.warnings
            let right = rhs.value.count("blocked") + rhs.value.count("undecidable") + rhs.value.warnings
            return left != right ? left > right : lhs.key < rhs.key
        }
        for (origin, tally) in ranked.prefix(maximumRows) {
            let reasons = tally.blockedByReason.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
                + tally.warningsByCode.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
            screen += pad(origin, 40) + pad(String(tally.count("passed")), 8) + pad(String(tally.count("blocked")), 9)
                + pad(String(tally.count("undecidable")), 11) + pad(String(tally.warnings), 10)
                + reasons.joined(separator: ", ") + "\n"
        }
        if ranked.count > maximumRows {
            screen += "… and \(ranked.count - maximumRows) more origins\n"
        }
        screen += "\nCtrl-C stops and prints the summary.\n"
        return screen
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        let clipped = text.count >= width ? String(text.prefix(width - 2)) + "…" : text
        return clipped + String(repeating: " ", count: max(1, width - clipped.count))
    }
}

/// The closing summary on stderr: what was seen, what was judged, and what the kernel dropped,
/// so a reader knows how much the analysis missed.
enum WatchSummary {
    static func lines(_ snapshot: WatchSnapshot) -> [String] {
        var lines: [String] = []
        let seconds = (snapshot.seconds * 10).rounded() / 10
        lines.append("watched \(snapshot.interface) for \(seconds) s: \(snapshot.packets) packets, "
                     + "\(snapshot.exchanges) exchanges (\(snapshot.total("passed")) passed, \(snapshot.total("blocked")) blocked, "
                     + "\(snapshot.total("undecidable")) undecidable, \(snapshot.total("not-cors")) not CORS), \(snapshot.findings) findings")
        lines.append("kernel: \(snapshot.kernel.received) received, \(snapshot.kernel.dropped) dropped by the capture buffer, "
                     + "\(snapshot.kernel.interfaceDropped) dropped by the interface"
                     + (snapshot.kernel.dropped + snapshot.kernel.interfaceDropped > 0 ? " (exchanges in dropped packets are missing or incomplete)" : ""))
        for origin in snapshot.origins.keys.sorted() {
            let tally = snapshot.origins[origin]!
            var line = "origin \(origin): \(tally.count("passed")) passed, \(tally.count("blocked")) blocked"
            if !tally.blockedByReason.isEmpty {
                line += " (" + tally.blockedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
            }
            line += ", \(tally.count("undecidable")) undecidable, \(tally.warnings) warnings"
            if !tally.warningsByCode.isEmpty {
                line += " (" + tally.warningsByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
            }
            lines.append(line)
        }
        return lines
    }
}

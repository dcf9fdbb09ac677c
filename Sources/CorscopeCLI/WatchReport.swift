import CorscopeExchanges
#if canImport(Glibc)
import Glibc
#endif

/// The periodic and final report of `watch --output`.
///
/// The loop calls the report hook every `--report-interval` seconds and once at exit: with
/// `--format`, the file gets `analyze`'s report in that format for the traffic seen so far;
/// without it, the live per-origin summary as JSON (`summaryJSON`).
enum WatchReport {
    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): cannot write the report: \(reason)" }
    }

    /// Replaces the report at `path` atomically (written beside it, then renamed), so a reader
    /// polling the file never sees half a report.
    static func write(_ snapshot: WatchSnapshot, final: Bool, to path: String) throws {
        try write(bytes: summaryJSON(snapshot, final: final), to: path)
    }

    /// Replaces the file at `path` atomically with `bytes`.
    static func write(bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp"
        // A failed write keeps the previous report rather than renaming a partial one over it.
        if let reason = Terminal.writeFile(temporary, bytes) {
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
    }

    /// `{"final":…,"interface":…,"kernel":{…},"origins":[{"origin":…,"verdicts":{…},"blocked":{…},"warnings":{…}}]}`
    static func summaryJSON(_ snapshot: WatchSnapshot, final: Bool) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("final"); json.bool(final)
        json.key("interface"); json.string(snapshot.interface)
        json.key("filter")
        if let filter = snapshot.filter { json.string(filter) } else { json.null() }
        json.key("browser"); json.string(snapshot.browser)
        json.key("startedAt"); json.double(snapshot.startedAt)
        json.key("generatedAt"); json.double(snapshot.takenAt)
        json.key("seconds"); json.double((snapshot.seconds * 1000).rounded() / 1000)
        json.key("packets"); json.int(snapshot.packets)
        json.key("kernel")
        json.beginObject()
        json.key("received"); json.int(Int(clamping: snapshot.kernel.received))
        json.key("dropped"); json.int(Int(clamping: snapshot.kernel.dropped))
        json.key("interfaceDropped"); json.int(Int(clamping: snapshot.kernel.interfaceDropped))
        json.endObject()
        json.key("openConnections"); json.int(snapshot.openConnections)
        json.key("exchanges"); json.int(snapshot.exchanges)
        json.key("findings"); json.int(snapshot.findings)
        json.key("cachePoisoningWarnings"); json.int(snapshot.cachePoisoningWarnings)
        json.key("origins")
        json.beginArray()
        for origin in snapshot.origins.keys.sorted() {
            let tally = snapshot.origins[origin]!
            json.beginObject()
            json.key("origin"); json.string(origin)
            json.key("verdicts"); writeCounts(tally.verdicts, to: &json)
            json.key("blocked"); writeCounts(tally.blockedByReason, to: &json)
            json.key("warnings"); writeCounts(tally.warningsByCode, to: &json)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    private static func writeCounts(_ counts: [String: Int], to json: inout JSONWriter) {
        json.beginObject()
        for (key, count) in counts.sorted(by: { $0.key < $1.key }) {
            json.key(key); json.int(count)
        }
        json.endObject()
    }
}

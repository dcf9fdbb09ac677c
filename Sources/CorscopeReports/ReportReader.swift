import CorscopeCapture
import CorscopeExchanges
import Foundation

/// Reads a `corscope.report/1` JSON report (what `analyze --format json` and `watch --output
/// --format json` write) back into a `CORSReport`, for `corscope merge`.
///
/// A report is small (bounded by groups, not exchanges), so Foundation's parser is enough; every
/// field is checked, and what is wrong is said with its path (`origins[2].groups[0].count`).
public enum ReportReader {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ bytes: [UInt8]) throws -> CORSReport {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            throw Problem(description: "not JSON (\(error.localizedDescription))")
        }
        let r = Node(root, "")
        guard try r.string("schema") == CORSReport.schema else {
            throw Problem(description: "not a \(CORSReport.schema) report (schema: \(String(describing: (root as? [String: Any])?["schema"] ?? "missing")))")
        }
        let totals = try r.object("totals")
        var t = CORSReport.Totals()
        t.exchanges = try totals.int("exchanges")
        t.notCORS = try totals.int("notCors")
        t.passed = try totals.int("passed")
        t.blocked = try totals.int("blocked")
        t.undecidable = try totals.int("undecidable")
        t.preflightsPassed = try totals.int("preflightsPassed")
        t.warnings = try totals.int("warnings")
        t.assumedCredentials = try totals.int("assumedCredentials")
        let timeline = try r.object("timeline")
        var report = CORSReport(
            redacted: try r.bool("redacted"), browser: try r.string("browser"), inputs: try r.strings("inputs"),
            totals: t, origins: try r.array("origins").map(origin), cacheFindings: try r.array("cacheFindings").map(cacheFinding),
            websocketFindings: try r.array("websocketFindings").map(websocketFinding),
            timeline: CORSReport.Timeline(start: try timeline.optionalString("start").map { try time($0, timeline.path + ".start") },
                                          binSeconds: Double(try timeline.int("binSeconds")), binCount: try timeline.int("binCount")))
        report.unreadInputs = try r.strings("unreadInputs")
        report.inputWarnings = r.has("inputWarnings") ? try r.strings("inputWarnings") : []
        if r.has("edges") {
            let edges = try r.object("edges")
            report.edges.requestsWithoutResponse = try edges.int("requestsWithoutResponse")
            report.edges.responsesWithoutRequest = try edges.int("responsesWithoutRequest")
        }
        let notAnalysed = try r.object("notAnalysed")
        report.notAnalysed = try notAnalysed.array("connections").map { c in
            guard let kind = NotAnalysedTraffic.Kind(rawValue: try c.string("kind")) else { throw c.problem("kind", "an unknown kind") }
            return NotAnalysedTraffic(kind: kind, server: try c.string("server"), connections: try c.int("connections"),
                                      bytes: try c.int("bytes"), serverNames: try c.strings("serverNames"),
                                      protocols: try c.strings("protocols"), versions: try c.strings("versions"))
        }
        let skipped = try notAnalysed.object("skippedPackets")
        report.skippedPackets = try skipped.keys.sorted().map { ($0, try skipped.int($0)) }
        let omitted = try r.object("omittedGroups")
        report.omittedGroups = try omitted.int("groups")
        report.omittedGroupRequests = try omitted.int("blocked")
        return report
    }

    static func time(_ text: String, _ path: String) throws -> Timestamp {
        guard let time = TextFormatting.parseISO(text) else { throw Problem(description: "\(path): '\(text)' is not an RFC 3339 UTC time") }
        return time
    }

    private static func origin(_ o: Node) throws -> OriginReport {
        OriginReport(
            origin: try o.string("origin"), passed: try o.int("passed"), blocked: try o.int("blocked"),
            undecidable: try o.int("undecidable"), warnings: try o.int("warnings"),
            warningCounts: try o.array("warningCounts").map { WarningCount(code: try $0.string("code"), summary: try $0.string("summary"), count: try $0.int("count")) },
            groups: try o.array("groups").map(group), blockedOverTime: try o.ints("blockedOverTime"))
    }

    private static func group(_ g: Node) throws -> BlockedGroup {
        let layer = try g.object("layer")
        guard let kind = LayerFinding.Layer(rawValue: try layer.string("layer")) else { throw layer.problem("layer", "an unknown layer") }
        var finding = LayerFinding(layer: kind, component: try layer.optionalString("component"),
                                   confidence: try layer.string("confidence"), reasoning: try layer.strings("reasoning"))
        finding.seen = layer.has("seen") ? try layer.array("seen").map(seen) : []
        let assumed = try g.optionalObject("assumed").map { a in
            GroupAssumption(credentials: try a.string("credentials"), because: try a.string("because"), alternative: try a.optionalString("alternative"))
        }
        return BlockedGroup(
            id: try g.string("id"), reason: try g.string("reason"), stage: try g.string("stage"),
            failedParameter: try g.optionalString("failedParameter"), method: try g.string("method"), host: try g.string("host"),
            pathTemplate: try g.string("pathTemplate"), count: try g.int("count"),
            firstSeen: try time(try g.string("firstSeen"), g.path + ".firstSeen"), lastSeen: try time(try g.string("lastSeen"), g.path + ".lastSeen"),
            exchangeIDs: try g.strings("exchangeIds"), example: try example(try g.object("example")),
            messages: try g.array("messages").map { ConsoleMessage(browser: try $0.string("browser"), text: try $0.string("text")) },
            explanation: try g.string("explanation"), assumption: assumed, layer: finding, fix: try fix(try g.object("fix")))
    }

    static func seen(_ s: Node) throws -> SeenLayer {
        SeenLayer(id: try s.string("id"), name: try s.string("name"), evidence: try s.strings("evidence"), answered: try s.bool("answered"))
    }

    private static func example(_ e: Node) throws -> ExampleExchange {
        func lines(_ key: String) throws -> [HeaderLine] {
            try e.array(key).map { line in
                guard let pair = line.value as? [Any], pair.count == 2, let name = pair[0] as? String, let value = pair[1] as? String else {
                    throw line.problem("", "a [name, value] pair")
                }
                return HeaderLine(name: name, value: value)
            }
        }
        var request = try lines("requestHeaders")
        for inferred in try e.array("inferredRequestHeaders") {
            let name = try inferred.string("name")
            if let index = request.lastIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                request[index].inferred = try inferred.string("because")
            }
        }
        return ExampleExchange(
            id: try e.string("id"), time: try e.optionalString("time").map { try time($0, e.path + ".time") },
            method: try e.string("method"), url: try e.string("url"), status: try e.optionalInt("status"),
            transport: try e.optionalString("transport"), requestHeaders: request, responseHeaders: try lines("responseHeaders"),
            preflight: try e.optionalObject("preflight").map { [try example($0)] } ?? [])
    }

    static func fix(_ f: Node) throws -> FixAdvice {
        FixAdvice(summary: try f.string("summary"), snippets: try f.array("snippets").map {
            ConfigSnippet(target: try $0.string("target"), language: try $0.string("language"), code: try $0.string("code"))
        })
    }

    private static func cacheFinding(_ c: Node) throws -> CacheFinding {
        guard let kind = CacheFinding.Kind(rawValue: try c.string("kind")) else { throw c.problem("kind", "an unknown finding kind") }
        return CacheFinding(id: try c.string("id"), kind: kind, scheme: try c.string("scheme"), host: try c.string("host"),
                            urlTemplate: try c.string("urlTemplate"), count: try c.int("count"), exchangeIDs: try c.strings("exchangeIds"),
                            cdn: try c.optionalString("cdn"), evidence: try c.string("evidence"),
                            firstSeen: try time(try c.string("firstSeen"), c.path + ".firstSeen"),
                            lastSeen: try time(try c.string("lastSeen"), c.path + ".lastSeen"), fix: try fix(try c.object("fix")))
    }

    private static func websocketFinding(_ w: Node) throws -> WebSocketFinding {
        WebSocketFinding(id: try w.string("id"), origin: try w.string("origin"), scheme: try w.string("scheme"), host: try w.string("host"),
                         pathTemplate: try w.string("pathTemplate"), status: try w.int("status"), count: try w.int("count"),
                         exchangeIDs: try w.strings("exchangeIds"),
                         firstSeen: try time(try w.string("firstSeen"), w.path + ".firstSeen"),
                         lastSeen: try time(try w.string("lastSeen"), w.path + ".lastSeen"),
                         evidence: try w.string("evidence"), fix: try fix(try w.object("fix")))
    }

    /// One JSON value with its path, for errors that say where.
    struct Node {
        let value: Any
        let path: String
        init(_ value: Any, _ path: String) { self.value = value; self.path = path }

        private var fields: [String: Any] { value as? [String: Any] ?? [:] }
        /// JSONSerialization gives `true`/`false` as NSNumbers of type "c" (numbers are "i", "q", "d").
        static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }
        var keys: [String] { Array(fields.keys) }
        func has(_ key: String) -> Bool { fields[key] != nil }
        func problem(_ key: String, _ expected: String) -> Problem {
            Problem(description: "\(path.isEmpty ? "" : path + ".")\(key): expected \(expected)")
        }
        private func field(_ key: String) throws -> Any {
            guard value is [String: Any] else { throw Problem(description: "\(path.isEmpty ? "the report" : path): expected an object") }
            guard let field = fields[key] else { throw problem(key, "a value (missing)") }
            return field
        }
        func string(_ key: String) throws -> String {
            guard let s = try field(key) as? String else { throw problem(key, "a string") }
            return s
        }
        func optionalString(_ key: String) throws -> String? {
            let f = try field(key)
            if f is NSNull { return nil }
            guard let s = f as? String else { throw problem(key, "a string or null") }
            return s
        }
        func int(_ key: String) throws -> Int {
            guard let number = try field(key) as? NSNumber, !Self.isBoolean(number),
                  let exact = Int(exactly: number.doubleValue), exact >= 0 else { throw problem(key, "a count") }
            return exact
        }
        func optionalInt(_ key: String) throws -> Int? {
            if try field(key) is NSNull { return nil }
            return try int(key)
        }
        func bool(_ key: String) throws -> Bool {
            guard let number = try field(key) as? NSNumber, Self.isBoolean(number) else { throw problem(key, "true or false") }
            return number.boolValue
        }
        func object(_ key: String) throws -> Node {
            let f = try field(key)
            guard f is [String: Any] else { throw problem(key, "an object") }
            return Node(f, path.isEmpty ? key : path + "." + key)
        }
        func optionalObject(_ key: String) throws -> Node? {
            if try field(key) is NSNull { return nil }
            return try object(key)
        }
        func array(_ key: String) throws -> [Node] {
            guard let items = try field(key) as? [Any] else { throw problem(key, "an array") }
            let base = path.isEmpty ? key : path + "." + key
            return items.enumerated().map { Node($0.element, "\(base)[\($0.offset)]") }
        }
        func strings(_ key: String) throws -> [String] {
            try array(key).map { item in
                guard let s = item.value as? String else { throw Problem(description: "\(item.path): expected a string") }
                return s
            }
        }
        func ints(_ key: String) throws -> [Int] {
            try array(key).map { item in
                guard let n = item.value as? NSNumber, !Self.isBoolean(n), let exact = Int(exactly: n.doubleValue), exact >= 0 else {
                    throw Problem(description: "\(item.path): expected a count")
                }
                return exact
            }
        }
    }
}

import CorscopeReports
import Foundation
import XCTest

/// `corscope merge` against the report of the whole: a real capture split by server port with
/// tcpdump (connections stay whole, nanosecond times kept; the API and the redirect target it
/// sends browsers to stay together, so no redirect chain is cut), each part analysed, the JSON
/// reports merged.
final class ReportMergeTests: XCTestCase {
    private let capture = "Captures/chromium/chromium-cors.pcapng"
    private let parts = ["tcp port 24480 or tcp port 24483", "tcp port 24490", "not (tcp port 24480 or tcp port 24483 or tcp port 24490)"]

    private func json(_ paths: [String], _ extra: [String] = []) throws -> [UInt8] {
        let run = try Support.run(try Support.binary(), ["analyze", "--format", "json", "--fail-on", "never"] + extra + paths)
        XCTAssertEqual(run.status, 0, run.stderr)
        return Array(run.stdout.utf8)
    }

    /// The capture split into `parts` (pcap files in a temporary folder, removed by the caller).
    private func split() throws -> (folder: URL, files: [String]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [String] = []
        for (index, filter) in parts.enumerated() {
            let out = folder.appendingPathComponent("part\(index).pcap").path
            let run = try Support.run("/usr/bin/env", ["tcpdump", "--time-stamp-precision=nano", "-r", capture, "-w", out, filter])
            XCTAssertEqual(run.status, 0, run.stderr)
            files.append(out)
        }
        return (folder, files)
    }

    /// What must be equal between a merged report and the whole one: everything but the exchange
    /// ids (numbered per input, also where a text quotes one: "(0.56)") and the input names.
    private func comparable(_ bytes: [UInt8]) throws -> [String: Any] {
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        root["inputs"] = nil
        let quotedID = try NSRegularExpression(pattern: #"\((?:[\w.-]+#)?\d+\.s?\d+\)"#)
        func strip(_ value: Any) -> Any {
            if let text = value as? String {
                return quotedID.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "(id)")
            }
            if var object = value as? [String: Any] {
                for key in ["exchangeIds", "id"] where object[key] != nil && (object["url"] != nil || key == "exchangeIds") { object[key] = nil }
                for (key, child) in object { object[key] = strip(child) }
                return object
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        return strip(root) as! [String: Any]
    }

    func testEveryCommittedJSONReportReadsBackToTheSameBytes() throws {
        let folder = Support.packageRoot.appendingPathComponent("Reports")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 8)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            let report = try ReportReader.read(bytes)
            XCTAssertEqual(ReportFormat.json.render(report), bytes, "\(name) does not round-trip")
        }
    }

    func testSplitByServerThenMergedEqualsTheWhole() throws {
        let (folder, files) = try split()
        defer { try? FileManager.default.removeItem(at: folder) }
        let whole = try json([capture])
        var reports: [String] = []
        for (index, file) in files.enumerated() {
            let path = folder.appendingPathComponent("part\(index).json").path
            try Data(try json([file])).write(to: URL(fileURLWithPath: path))
            reports.append(path)
        }
        let merged = try Support.run(try Support.binary(), ["merge", "--format", "json", "--fail-on", "never"] + reports)
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let a = try canonical(try comparable(Array(merged.stdout.utf8))), b = try canonical(try comparable(whole))
        if a != b {
            let at = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            XCTFail("the merged report differs from the whole one at byte \(at):\nmerged …\(String(decoding: a.dropFirst(max(0, at - 200)).prefix(400), as: UTF8.self))\nwhole  …\(String(decoding: b.dropFirst(max(0, at - 200)).prefix(400), as: UTF8.self))")
        }
        // Ids are qualified by their part, and the blocked totals come from all three.
        XCTAssertTrue(merged.stdout.contains("part0.pcap#"))
        // A merged report is a corscope.report/1 report like any other.
        let file = try Support.temporaryFile(Array(merged.stdout.utf8), suffix: ".json")
        defer { try? FileManager.default.removeItem(at: file) }
        let schema = Support.packageRoot.appendingPathComponent("docs/report.schema.json").path
        try Support.python("""
            import json, sys, jsonschema
            schema = json.load(open(\(String(reflecting: schema))))
            jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[1])))
            """, file: file)
        let wholeReport = try ReportReader.read(whole)
        let mergedReport = try ReportReader.read(Array(merged.stdout.utf8))
        XCTAssertEqual(mergedReport.totals, wholeReport.totals)
        XCTAssertGreaterThan(mergedReport.totals.blocked, 10)
    }

    /// Split by time instead (editcap -B/-A), first between two scenarios (23:28:10 UTC): every
    /// exchange is whole in one part and the merge equals the whole; then inside the long poll
    /// (23:28:13.8, its answer came a second after its request): the merge counts that exchange
    /// in both parts — an undecidable request in the first, an answer without its request in the
    /// second — and says so.
    func testSplitByTimeThenMergedEqualsTheWholeAndReportsWhatTheSplitCut() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func splitAndMerge(at time: String) throws -> [UInt8] {
            var reports: [String] = []
            for (index, flag) in ["-B", "-A"].enumerated() {
                let part = folder.appendingPathComponent("t\(index).pcapng").path
                let run = try Support.run("/usr/bin/env", ["TZ=UTC", "editcap", flag, time, capture, part])
                XCTAssertEqual(run.status, 0, run.stderr)
                let report = folder.appendingPathComponent("t\(index).json").path
                try Data(try json([part])).write(to: URL(fileURLWithPath: report))
                reports.append(report)
            }
            let merged = try Support.run(try Support.binary(), ["merge", "--format", "json", "--fail-on", "never"] + reports)
            XCTAssertEqual(merged.status, 0, merged.stderr)
            return Array(merged.stdout.utf8)
        }
        let whole = try json([capture])
        let between = try splitAndMerge(at: "2026-12-04 23:28:10")
        XCTAssertEqual(try canonical(try comparable(between)), try canonical(try comparable(whole)))

        let inside = try ReportReader.read(try splitAndMerge(at: "2026-12-04 23:28:13.8"))
        let all = try ReportReader.read(whole)
        XCTAssertEqual(inside.edges.requestsWithoutResponse, 1)
        XCTAssertEqual(inside.edges.responsesWithoutRequest, 1)
        XCTAssertEqual(inside.totals.exchanges, all.totals.exchanges + 1, "the cut exchange is in both parts")
        XCTAssertEqual(inside.totals.undecidable, all.totals.undecidable + 1)
        XCTAssertEqual(inside.totals.passed, all.totals.passed - 1, "the long poll passed in the whole")
        XCTAssertEqual(inside.inputWarnings.filter { $0.hasPrefix("Cut at the parts' edges: ") }.count, 1, "\(inside.inputWarnings)")
        XCTAssertTrue(inside.inputWarnings.contains { $0.contains("up to 1 exchanges were cut by the split") })
    }

    func testMergeIsAssociativeAndCommutative() throws {
        let (folder, files) = try split()
        defer { try? FileManager.default.removeItem(at: folder) }
        let parts = try files.map { try ReportReader.read(try json([$0])) }
        func render(_ report: CORSReport) -> [UInt8] { ReportFormat.json.render(report) }
        let left = try ReportMerge.merge([try ReportMerge.merge([parts[0], parts[1]]), parts[2]])
        let right = try ReportMerge.merge([parts[0], try ReportMerge.merge([parts[1], parts[2]])])
        let reversed = try ReportMerge.merge([parts[2], parts[1], parts[0]])
        let flat = try ReportMerge.merge(parts)
        XCTAssertEqual(render(left), render(flat))
        XCTAssertEqual(render(right), render(flat))
        XCTAssertEqual(render(reversed), render(flat))
        // A merged report merges again to itself with nothing: merge is idempotent on one input.
        XCTAssertEqual(render(try ReportMerge.merge([flat])), render(flat))
    }

    func testABadReportIsNamedWithTheField() throws {
        let corscope = try Support.binary()
        let good = try Support.temporaryFile(try json(["Captures/nginx-cors.pcap"]), suffix: ".json")
        var text = String(decoding: try Data(contentsOf: good), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"passed\":", with: "\"passed\":\"x\",\"was\":", options: [], range: text.range(of: "\"passed\":"))
        let bad = try Support.temporaryFile(Array(text.utf8), suffix: ".json")
        let notJSON = try Support.temporaryFile(Array("nope".utf8), suffix: ".json")
        defer { for f in [good, bad, notJSON] { try? FileManager.default.removeItem(at: f) } }
        let run = try Support.run(corscope, ["merge", good.path, bad.path])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains(bad.path) && run.stderr.contains("origins[0].passed: expected a count"), run.stderr)
        let garbage = try Support.run(corscope, ["merge", notJSON.path])
        XCTAssertEqual(garbage.status, 2)
        XCTAssertTrue(garbage.stderr.contains("not JSON"), garbage.stderr)
        let firefox = try Support.temporaryFile(try json(["Captures/nginx-cors.pcap"], ["--browser", "firefox"]), suffix: ".json")
        defer { try? FileManager.default.removeItem(at: firefox) }
        let mixed = try Support.run(corscope, ["merge", good.path, firefox.path])
        XCTAssertEqual(mixed.status, 2)
        XCTAssertTrue(mixed.stderr.contains("different browsers"), mixed.stderr)
    }

    private func canonical(_ value: [String: Any]) throws -> [UInt8] {
        [UInt8](try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]))
    }
}

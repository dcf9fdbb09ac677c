import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `corscope analyze` as users run it: the built binary, separate processes (so the per-process
/// hash seed differs between runs and any dictionary-order leak shows), exit codes.
final class AnalyzeCommandTests: XCTestCase {
    func testEveryFormatIsByteIdenticalAcrossRuns() throws {
        let binary = try Support.binary()
        for format in ["markdown", "html", "json", "sarif", "junit"] {
            let arguments = ["analyze", "--format", format, "--fail-on", "never",
                             "Captures/nginx-cors.pcap", "Captures/chromium/chromium-cors.pcapng"]
            let first = try Support.run(binary, arguments)
            let second = try Support.run(binary, arguments)
            XCTAssertEqual(first.status, 0, first.stderr)
            XCTAssertFalse(first.stdout.isEmpty)
            XCTAssertEqual(first.stdout, second.stdout, format)
        }
    }

    func testFailOnSetsTheExitStatus() throws {
        let binary = try Support.binary()
        let blocked = "Captures/nginx-cors.pcap"
        // Plain HTTP without any cross-origin request.
        let quiet = "Captures/variants/retransmit-dup.pcap"
        XCTAssertEqual(try Support.run(binary, ["analyze", blocked]).status, 1, "default is --fail-on blocked")
        XCTAssertEqual(try Support.run(binary, ["analyze", "--fail-on", "blocked", blocked]).status, 1)
        XCTAssertEqual(try Support.run(binary, ["analyze", "--fail-on", "warning", blocked]).status, 1)
        XCTAssertEqual(try Support.run(binary, ["analyze", "--fail-on", "never", blocked]).status, 0)
        XCTAssertEqual(try Support.run(binary, ["analyze", quiet]).status, 0)
        XCTAssertEqual(try Support.run(binary, ["analyze", "--fail-on", "warning", quiet]).status, 0)
        let missing = try Support.run(binary, ["analyze", "--fail-on", "never", "no/such/file.pcap"])
        XCTAssertEqual(missing.status, 2, "an unreadable input is an error whatever --fail-on says")
        XCTAssertEqual(missing.stdout, "", "nothing was read: no report")
        let mixed = try Support.run(binary, ["analyze", "--fail-on", "never", "--format", "json", "no/such/file.pcap", blocked])
        XCTAssertEqual(mixed.status, 2, "an error outranks findings")
        let document = try JSONSerialization.jsonObject(with: Data(mixed.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(document?["unreadInputs"] as? [String], ["no/such/file.pcap: cannot open: No such file or directory"],
                       "the report covers what was read and names what was not")
        XCTAssertEqual((document?["totals"] as? [String: Any])?["exchanges"] as? Int, 27)
        XCTAssertEqual(try Support.run(binary, ["analyze", "Captures/../README.md"]).status, 2, "not a capture, not a HAR")
        XCTAssertNotEqual(try Support.run(binary, ["analyze", "--fail-on", "sometimes", blocked]).status, 0)
    }

    func testOutputFileAndSummaryLine() throws {
        let binary = try Support.binary()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-analyze-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Support.run(binary, ["analyze", "--format", "json", "--output", output.path, "--browser", "firefox",
                                              "Captures/nginx-cors.pcap"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "", "the report goes to the file")
        XCTAssertTrue(result.stderr.contains("27 exchanges"), result.stderr)
        XCTAssertTrue(result.stderr.contains("9 blocked"), result.stderr)
        XCTAssertTrue(result.stderr.contains("0 undecidable"), result.stderr)
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any]
        XCTAssertEqual(document?["schema"] as? String, "corscope.report/1")
        XCTAssertEqual(document?["browser"] as? String, "firefox")
        XCTAssertEqual(document?["redacted"] as? Bool, true)

        let unredacted = try Support.run(binary, ["analyze", "--no-redact", "--fail-on", "never", "Captures/nginx-cors.pcap"])
        XCTAssertTrue(unredacted.stdout.contains("redaction is OFF"))
        XCTAssertTrue(unredacted.stdout.contains("session=s3cr3t"))
        XCTAssertTrue(unredacted.stderr.contains("NOT redacted"))
        let redacted = try Support.run(binary, ["analyze", "--fail-on", "never", "Captures/nginx-cors.pcap"])
        XCTAssertFalse(redacted.stdout.contains("s3cr3t"))
    }

    /// `tcpdump -w - | corscope analyze -`: standard input, pipes, FIFOs and process
    /// substitution, for captures (plain or gzip) and HAR files (plain or gzip), streamed.
    func testInputsFromPipesAndStandardInput() throws {
        let binary = try Support.binary()
        func shell(_ command: String) throws -> Support.Run {
            try Support.run("/bin/sh", ["-c", command.replacingOccurrences(of: "CORSCOPE", with: "'\(binary)'")])
        }
        let fromFile = try Support.run(binary, ["analyze", "--format", "json", "--fail-on", "never", "Captures/nginx-cors.pcap"])
        func withoutInputs(_ json: String) throws -> NSDictionary {
            let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            return NSDictionary(dictionary: document.filter { $0.key != "inputs" })
        }
        for command in ["cat Captures/nginx-cors.pcap | CORSCOPE analyze --format json --fail-on never -",
                        "CORSCOPE analyze --format json --fail-on never - < Captures/nginx-cors.pcap.gz"] {
            let piped = try shell(command)
            XCTAssertEqual(piped.status, 0, "\(command): \(piped.stderr)")
            XCTAssertEqual(try withoutInputs(piped.stdout), try withoutInputs(fromFile.stdout), "\(command): the same report as from the file")
        }
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-fifo-\(UUID().uuidString)").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        defer { unlink(fifo) }
        let throughFIFO = try shell("cat Captures/chromium/chromium-cors.pcapng > '\(fifo)' & CORSCOPE exchanges '\(fifo)'; wait")
        XCTAssertEqual(throughFIFO.status, 0, throughFIFO.stderr)
        let fromCapture = try Support.run(binary, ["exchanges", "Captures/chromium/chromium-cors.pcapng"])
        XCTAssertEqual(throughFIFO.stdout, fromCapture.stdout)
        // A HAR, plain and gzip-compressed, from standard input.
        let har = try Support.run(binary, ["exchanges", "--json", "Captures/chromium/chromium-cors.har"])
        for command in ["CORSCOPE exchanges --json - < Captures/chromium/chromium-cors.har",
                        "gzip -c Captures/chromium/chromium-cors.har | CORSCOPE exchanges --json -"] {
            let piped = try shell(command)
            XCTAssertEqual(piped.status, 0, "\(command): \(piped.stderr)")
            XCTAssertEqual(piped.stdout.split(separator: "\n").count, har.stdout.split(separator: "\n").count, command)
        }
        // Nothing, or garbage, on standard input is an error (exit 2), said in one line.
        let empty = try shell("CORSCOPE analyze - < /dev/null")
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("-: not a readable pcap/pcapng capture: the input is empty"), empty.stderr)
        XCTAssertEqual(try shell("echo garbage | CORSCOPE exchanges -").status, 2)
        // A capture cut short in the pipe: everything before the cut, with a warning.
        let cut = try shell("head -c 3000 Captures/nginx-cors.pcap | CORSCOPE exchanges -")
        XCTAssertEqual(cut.status, 0)
        XCTAssertTrue(cut.stderr.contains("truncated"), cut.stderr)
        XCTAssertFalse(cut.stdout.isEmpty)
    }

    /// Narrowing a big capture offline, as tcpdump users do: -f (BPF, compiled by libpcap for the
    /// file's link type), --host, --origin, --since/--until, -r; the same on every command.
    func testFiltersNarrowTheInput() throws {
        let binary = try Support.binary()
        let capture = "Captures/chromium/chromium-cors.pcapng"
        func lines(_ arguments: [String]) throws -> [String] {
            let result = try Support.run(binary, arguments)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            return result.stdout.split(separator: "\n").map(String.init)
        }
        let all = try lines(["exchanges", capture])
        let port = try lines(["exchanges", "-f", "tcp port 24490", capture])
        XCTAssertFalse(port.isEmpty)
        XCTAssertLessThan(port.count, all.count)
        XCTAssertTrue(port.allSatisfy { $0.contains(":24490") }, "\(port)")
        XCTAssertEqual(port, all.filter { $0.contains("→ 127.0.0.1:24490 ") }, "the BPF keeps exactly that server's connections")
        let filtered = try Support.run(binary, ["exchanges", "--stats", "-f", "tcp port 24490", capture])
        XCTAssertTrue(filtered.stderr.contains("packets left out by --filter"), filtered.stderr)
        let localhost = try lines(["exchanges", "--json", "--host", "localhost", "-r", capture])
        XCTAssertEqual(localhost.count, 3, "the three requests to the API reached as localhost")
        XCTAssertTrue(localhost.allSatisfy { $0.contains("\"Host\",\"localhost:24480\"") })
        let pageB = try lines(["exchanges", "--origin", "http://127.0.0.1:24484", capture])
        XCTAssertEqual(pageB.count, 1, "one request from page origin B")
        // Capture time: the first half of the run.
        let times = all.compactMap { $0.split(separator: " ").first.map(String.init) }.sorted()
        let middle = times[times.count / 2]
        let early = try lines(["exchanges", "--until", middle, capture])
        XCTAssertTrue(early.allSatisfy { String($0.prefix(middle.count)) <= middle })
        XCTAssertGreaterThan(early.count, 0)
        XCTAssertLessThan(early.count, all.count)
        // analyze takes the same options; a HAR is narrowed by host too.
        let report = try Support.run(binary, ["analyze", "--format", "json", "--fail-on", "never", "--host", "127.0.0.1:24490",
                                              "Captures/chromium/chromium-cors.har"])
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let groups = (document["origins"] as? [[String: Any]] ?? []).flatMap { $0["groups"] as? [[String: Any]] ?? [] }
        XCTAssertFalse(groups.isEmpty)
        XCTAssertTrue(groups.allSatisfy { $0["host"] as? String == "127.0.0.1:24490" }, "\(groups.map { $0["host"] ?? "" })")
        // A filter that does not compile, or a bad time, is a command-line error: exit 2, before any input is read.
        XCTAssertEqual(try Support.run(binary, ["exchanges", "-f", "tcp port", capture]).status, 2)
        XCTAssertEqual(try Support.run(binary, ["analyze", "--since", "yesterday", capture]).status, 2)
    }

    /// Reports sized for tickets: the full Markdown of Chromium's run is over a GitHub issue's
    /// limit (and says so); --summary and --max-groups bring it under, counts kept whole.
    func testSummaryAndMaxGroupsFitATicket() throws {
        let binary = try Support.binary()
        let capture = "Captures/chromium/chromium-cors.pcapng"
        let full = try Support.run(binary, ["analyze", "--fail-on", "never", capture])
        XCTAssertGreaterThan(full.stdout.utf8.count, 65_536)
        XCTAssertTrue(full.stderr.contains("--summary or --max-groups"), full.stderr)
        let summary = try Support.run(binary, ["analyze", "--fail-on", "never", "--summary", capture])
        XCTAssertLessThan(summary.stdout.utf8.count, 65_536)
        XCTAssertFalse(summary.stderr.contains("--summary or --max-groups"))
        XCTAssertTrue(summary.stdout.contains("- **MultipleAllowOriginValues** `GET /proxy/cors`"), summary.stdout)
        XCTAssertFalse(summary.stdout.contains("<details>"), "no examples or configuration in a summary")
        // For Jira, which shows HTML tags as text: the bulky parts under bold titles instead.
        let jira = try Support.run(binary, ["analyze", "--fail-on", "never", "--no-details", "Captures/nginx-cors.pcap"])
        XCTAssertFalse(jira.stdout.contains("<details>") || jira.stdout.contains("<summary>"))
        XCTAssertTrue(jira.stdout.contains("**nginx configuration**"), jira.stdout)
        XCTAssertTrue(jira.stdout.contains("```http\n# "), "the example exchange is still there")
        let json = try Support.run(binary, ["analyze", "--fail-on", "never", "--format", "json", "--max-groups", "3", capture])
        let limited = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let whole = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(
            try Support.run(binary, ["analyze", "--fail-on", "never", "--format", "json", capture]).stdout.utf8)) as? [String: Any])
        func groups(_ document: [String: Any]) -> [[String: Any]] {
            (document["origins"] as? [[String: Any]] ?? []).flatMap { $0["groups"] as? [[String: Any]] ?? [] }
        }
        XCTAssertEqual(groups(limited).count, 3)
        let omitted = try XCTUnwrap(limited["omittedGroups"] as? [String: Int])
        XCTAssertEqual(omitted["groups"], groups(whole).count - 3)
        XCTAssertEqual(omitted["blocked"], groups(whole).compactMap { $0["count"] as? Int }.reduce(0, +)
                       - groups(limited).compactMap { $0["count"] as? Int }.reduce(0, +))
        XCTAssertEqual((limited["totals"] as? [String: Any])?["blocked"] as? Int, (whole["totals"] as? [String: Any])?["blocked"] as? Int,
                       "the counts stay whole")
        let largest = groups(whole).compactMap { $0["count"] as? Int }.sorted(by: >).prefix(3)
        XCTAssertEqual(groups(limited).compactMap { $0["count"] as? Int }.sorted(by: >), Array(largest))
    }

    /// A capture whose every packet is of a link type corscope does not decode (the nginx
    /// capture with its header's link type changed to 802.11): an error that says why, exit 2,
    /// never an empty report that reads as "no CORS problem".
    func testACaptureWithNothingToAnalyseIsAnError() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Support.capture("nginx-cors.pcap"))))
        bytes[20] = 105  // LINKTYPE_IEEE802_11, little-endian u32 at offset 20
        bytes[21] = 0; bytes[22] = 0; bytes[23] = 0
        let file = try Support.temporaryFile(bytes, suffix: ".pcap")
        defer { try? FileManager.default.removeItem(at: file) }
        let binary = try Support.binary()
        let result = try Support.run(binary, ["analyze", "--fail-on", "never", file.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stdout, "", "nothing was read: no report")
        XCTAssertTrue(result.stderr.contains("every one of its 238 packets was skipped (238 of a link-layer type corscope does not decode)"), result.stderr)
        let exchanges = try Support.run(binary, ["exchanges", "--stats", file.path])
        XCTAssertEqual(exchanges.status, 2)
    }
}

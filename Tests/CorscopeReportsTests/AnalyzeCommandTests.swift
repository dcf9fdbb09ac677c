import Foundation
import XCTest

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
}

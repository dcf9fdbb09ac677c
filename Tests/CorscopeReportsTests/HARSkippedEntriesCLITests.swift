import Foundation
import XCTest

/// Through the command line: a HAR entry over the 64 MiB entry limit (the CLI's limit) is
/// skipped with a warning naming the file and the count, `exchanges` still exits 0 with the
/// other entry, and `analyze` lists the partial read in its report (Markdown and JSON).
final class HARSkippedEntriesCLITests: XCTestCase {
    func testAnOversizedEntryIsNamedByEveryCommand() throws {
        let binary = try Support.binary()
        func entry(_ url: String, _ text: String) -> String {
            #"{"startedDateTime":"2024-01-01T00:00:00.000Z","time":1,"request":{"method":"GET","url":"\#(url)","httpVersion":"HTTP/1.1","headers":[{"name":"Origin","value":"http://app.example"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"text/plain"}],"cookies":[],"content":{"size":\#(text.utf8.count),"mimeType":"text/plain","text":"\#(text)"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}"#
        }
        let big = String(repeating: "A", count: (64 << 20) + 1024)
        let text = #"{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":["#
            + entry("http://api.example/big", big) + "," + entry("http://api.example/small", "ok") + "]}}"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-oversized-\(UUID().uuidString).har")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let exchanges = try Support.run(binary, ["exchanges", "--stats", file.path])
        XCTAssertEqual(exchanges.status, 0)
        XCTAssertTrue(exchanges.stderr.contains("warning: \(file.path): 1 entry skipped: 1 over the 64 MiB entry limit"), exchanges.stderr)
        XCTAssertTrue(exchanges.stderr.contains("1 warning"), exchanges.stderr)
        XCTAssertTrue(exchanges.stderr.contains(" 1 exchanges,"), "the other entry is read: \(exchanges.stderr)")

        let markdown = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-oversized-\(UUID().uuidString).md")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-oversized-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: markdown); try? FileManager.default.removeItem(at: json) }
        let analyze = try Support.run(binary, ["analyze", "--fail-on", "never", file.path, "-o", markdown.path])
        XCTAssertEqual(analyze.status, 0, analyze.stderr)
        XCTAssertTrue(analyze.stderr.contains("warning: \(file.path): 1 entry skipped"), analyze.stderr)
        let md = try String(contentsOf: markdown, encoding: .utf8)
        XCTAssertTrue(md.contains("**Read in part**") && md.contains("1 entry skipped: 1 over the 64 MiB entry limit"), md)
        XCTAssertEqual(try Support.run(binary, ["analyze", "--fail-on", "never", "--format", "json", file.path, "-o", json.path]).status, 0)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(report["inputWarnings"] as? [String], ["\(file.path): 1 entry skipped: 1 over the 64 MiB entry limit"])
        XCTAssertEqual(report["unreadInputs"] as? [String], [])
    }
}

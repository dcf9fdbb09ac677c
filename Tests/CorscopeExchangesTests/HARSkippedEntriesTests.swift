import CorscopeExchanges
import CorscopeHAR
import Foundation
import XCTest

/// A HAR entry over the entry size limit (or one that is not an entry object) is skipped; the
/// read then ends `.partial` saying how many and why, so every command warns.
final class HARSkippedEntriesTests: XCTestCase {
    static func entry(_ url: String, text: String) -> String {
        #"{"startedDateTime":"2024-01-01T00:00:00.000Z","time":1,"request":{"method":"GET","url":"\#(url)","httpVersion":"HTTP/1.1","headers":[{"name":"Origin","value":"http://app.example"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"text/plain"}],"cookies":[],"content":{"size":\#(text.utf8.count),"mimeType":"text/plain","text":"\#(text)"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}"#
    }

    static func har(_ entries: [String]) throws -> URL {
        let text = #"{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":["# + entries.joined(separator: ",") + "]}}"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-skipped-\(UUID().uuidString).har")
        try Data(text.utf8).write(to: url)
        return url
    }

    func read(_ file: URL, maximumEntryBytes: Int) throws -> (ExchangeSource.Outcome, Int) {
        var configuration = ExchangePipeline.Configuration()
        configuration.har = HARReaderConfiguration(maximumEntryBytes: maximumEntryBytes)
        var count = 0
        let outcome = try ExchangeSources(paths: [file.path], configuration: configuration).sources[0].read { _ in count += 1 }
        return (outcome, count)
    }

    func testAnOversizedEntryMakesTheReadPartial() throws {
        let file = try Self.har([Self.entry("http://api.example/big", text: String(repeating: "A", count: 8192)),
                                 Self.entry("http://api.example/small", text: "ok")])
        defer { try? FileManager.default.removeItem(at: file) }
        let (outcome, count) = try read(file, maximumEntryBytes: 4096)
        XCTAssertEqual(count, 1)
        XCTAssertEqual(outcome, .partial("1 entry skipped: 1 over the 4 KiB entry limit"))
        // Under a limit that fits both, nothing is skipped.
        let (whole, both) = try read(file, maximumEntryBytes: 1 << 20)
        XCTAssertEqual(whole, .complete)
        XCTAssertEqual(both, 2)
    }

    func testInvalidAndOversizedEntriesAreCountedTogether() throws {
        let file = try Self.har([Self.entry("http://api.example/big", text: String(repeating: "A", count: 8192)),
                                 #"{"notARequest":1}"#, "42",
                                 Self.entry("http://api.example/small", text: "ok")])
        defer { try? FileManager.default.removeItem(at: file) }
        let (outcome, count) = try read(file, maximumEntryBytes: 4096)
        XCTAssertEqual(count, 1)
        XCTAssertEqual(outcome, .partial("3 entries skipped: 1 over the 4 KiB entry limit, 2 not an object with a request"))
    }
}

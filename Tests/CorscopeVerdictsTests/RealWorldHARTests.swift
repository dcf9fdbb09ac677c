import CorscopeExchanges
import CorscopeHTTP
import CorscopeTestSupport
import CorscopeVerdicts
import Foundation
import XCTest

/// The real-world HARs of Captures/har (sources and licences in its SOURCES.md) and of
/// ../shared/public-captures (WebPageTest, chrome-har, Chrome DevTools, Firefox, Safari,
/// Charles, Fiddler, Proxyman, IE exports of real sites) list the headers their browsers sent. A
/// request sent without `Origin` — a script, image, stylesheet or JSONP load — was not made as
/// CORS, and must get no CORS verdict. An `Origin` is restored only where the HAR shows Chrome's
/// provisional headers for a CORS-mode load, and then it is marked as inferred.
final class RealWorldHARTests: XCTestCase {
    func testNoCORSVerdictOnARequestSentWithoutOrigin() throws {
        func hars(in folder: URL) throws -> [URL] {
            try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".har") }.sorted()
                .map { folder.appendingPathComponent($0) }
        }
        var files = try hars(in: URL(fileURLWithPath: PackagePaths.path("Captures/har")))
        XCTAssertGreaterThanOrEqual(files.count, 12, "Captures/har")
        do {
            files += try hars(in: try PackagePaths.publicCaptures())
        } catch let skip as XCTSkip {
            print("RealWorldHARTests: \(skip.message ?? "../shared/public-captures absent"): only Captures/har is read")
        }
        var withoutOrigin = 0
        var inferred = 0
        var judgedAsCORS = 0
        for file in files {
            let name = file.lastPathComponent
            let judge = ExchangeJudge(profile: .chromium)
            var judged: [JudgedExchange] = []
            for source in ExchangeSources(paths: [file.path]).sources {
                _ = try source.read { exchange in judged += judge.judge(exchange) }
            }
            judged += judge.finish()
            XCTAssertFalse(judged.isEmpty, name)
            for entry in judged {
                guard let har = entry.exchange.har, let headers = entry.exchange.requestHead?.headers else { continue }
                let restored = har.inferredRequestHeaders.contains { $0.name == "Origin" }
                if restored {
                    inferred += 1
                    // Only Chrome's provisional headers of a CORS-mode load, marked with the reason.
                    XCTAssertFalse(headers.contains(named: "Host") || headers.contains(named: ":authority"),
                                   "\(name) entry \(har.entryIndex): Origin restored although the HAR shows the wire's headers")
                    XCTAssertTrue(["fetch", "xhr", "preflight"].contains(har.resourceType?.lowercased() ?? ""),
                                  "\(name) entry \(har.entryIndex): Origin restored on a \(har.resourceType ?? "untyped") load")
                    XCTAssertTrue(entry.verdict.notes.contains { $0.contains("Origin header inferred") }, "\(name) entry \(har.entryIndex)")
                    continue
                }
                guard !headers.contains(named: "Origin") else { continue }
                withoutOrigin += 1
                if entry.verdict.kind != .notCORS {
                    judgedAsCORS += 1
                    XCTFail("\(name) entry \(har.entryIndex) \(har.url): sent without Origin (\(har.resourceType ?? "no resource type")), judged \(entry.verdict.kind)")
                }
            }
        }
        print("Real-world HARs: \(withoutOrigin) requests sent without Origin, \(judgedAsCORS) judged as CORS; \(inferred) Origins restored (provisional headers of fetch/xhr loads)")
        XCTAssertGreaterThan(withoutOrigin, 50, "the corpus has many requests without Origin")
    }
}

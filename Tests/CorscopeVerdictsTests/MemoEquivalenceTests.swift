import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
@testable import CorscopeVerdicts
import Foundation
import XCTest

/// The verdict memo must change nothing: every bundled capture (and the Chromium HAR), read
/// twice through one judge — the second pass repeats every exchange at another URL, as traffic
/// does — gives byte-identical NDJSON with and without it, under every browser profile. The
/// memoised run also reuses rendered verdict text (`VerdictJSONCache`): that must change
/// nothing either.
final class MemoEquivalenceTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testMemoisedVerdictsEqualFreshOnes() throws {
        var inputs = ["Captures/nginx-cors.pcap", "Captures/edge-http1.pcap", "Captures/ipv6-edge.pcap",
                      "Captures/any-sll2.pcap", "Captures/chromium/chromium-cors.pcapng", "Captures/chromium/chromium-cors.har",
                      // HTTP/2 over TLS (its key log embedded) and in cleartext: `:path` is a field there.
                      "Captures/chromium-https/chromium-https.pcapng", "Captures/h2c/nginx-prior-knowledge.pcap"]
        inputs += try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Captures/variants").path)
            .filter { $0.hasSuffix(".pcap") }.sorted().map { "Captures/variants/" + $0 }
        var compared = 0
        var memoHits = 0
        for input in inputs {
            var exchanges: [HTTPExchange] = []
            let sources = ExchangeSources(paths: [Self.root.appendingPathComponent(input).path])
            for source in sources.sources { _ = try source.read { exchanges.append($0) } }
            let again = exchanges.map { exchange -> HTTPExchange in
                var copy = exchange
                if let target = copy.request?.head.target {
                    copy.request!.head.target = target + (target.contains("?") ? "&" : "?") + "again=1"
                }
                return copy
            }
            for profile in [BrowserProfile.chromium, .firefox, .safari] {
                let fresh = Self.render(exchanges + again, judge: ExchangeJudge(profile: profile, memoize: false), profile: profile)
                let memoisingJudge = ExchangeJudge(profile: profile, memoize: true)
                let memoised = Self.render(exchanges + again, judge: memoisingJudge, profile: profile,
                                           cache: VerdictJSONCache(profile: profile))
                memoHits += memoisingJudge.memoHits
                XCTAssertEqual(fresh.count, memoised.count, input)
                for (a, b) in zip(fresh, memoised) where a != b {
                    XCTFail("\(input) [\(profile)]: memoised verdict differs:\n\(String(decoding: a, as: UTF8.self))\n\(String(decoding: b, as: UTF8.self))")
                    break
                }
                compared += fresh.count
            }
        }
        XCTAssertGreaterThan(compared, 1000)
        // The comparison means something only if the memo was actually used.
        XCTAssertGreaterThan(memoHits, 500)
    }

    static func render(_ exchanges: [HTTPExchange], judge: ExchangeJudge, profile: BrowserProfile,
                       cache: VerdictJSONCache? = nil) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        func write(_ judged: JudgedExchange) {
            var json = JSONWriter()
            ExchangeJSON.write(judged.exchange, to: &json) { VerdictJSON.write(judged, profile: profile, to: &$0, cache: cache) }
            lines.append(json.bytes)
        }
        for exchange in exchanges { judge.judge(exchange).forEach(write) }
        judge.finish().forEach(write)
        return lines
    }
}

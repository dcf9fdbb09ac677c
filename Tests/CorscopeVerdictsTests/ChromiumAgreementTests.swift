import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
import CorscopeVerdicts
import Foundation
import XCTest

/// The browser is the judge: for every scenario real Chromium ran (Captures/browser, recorded
/// with the pcap of the same run), corscope's verdict and reason from the pcap alone must equal
/// what Chromium's DevTools reported (`Network.loadingFailed` → `corsErrorStatus`).
///
/// An `undecidable` verdict (the wire cannot show the credentials mode, and it matters) agrees
/// when Chromium's outcome is the one corscope gives for some credentials mode.
final class ChromiumAgreementTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct ChromiumOutcome: Equatable, CustomStringConvertible {
        var blocked: Bool
        var corsError: String?
        var failedParameter: String?
        var description: String { blocked ? "blocked \(corsError ?? "(not CORS)") '\(failedParameter ?? "")'" : "passed" }
    }

    /// Recordings: `<name>.results.json` with `<name>.pcapng` beside it.
    static func recordings() throws -> [(results: URL, capture: URL)] {
        var found: [(URL, URL)] = []
        for folder in ["Captures", "Captures/chromium"] {
            let directory = packageRoot.appendingPathComponent(folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
            for name in names.sorted() where name.hasSuffix(".results.json") {
                let base = String(name.dropLast(".results.json".count))
                let capture = directory.appendingPathComponent(base + ".pcapng")
                if FileManager.default.fileExists(atPath: capture.path) {
                    found.append((directory.appendingPathComponent(name), capture))
                }
            }
        }
        return found
    }

    func testVerdictsEqualChromiumOnEveryRecordedScenario() throws {
        let recordings = try Self.recordings()
        XCTAssertFalse(recordings.isEmpty, "no Chromium recording in Captures/")
        var agreed = 0
        var total = 0
        for (resultsURL, captureURL) in recordings {
            let chromium = try Self.chromiumOutcomes(resultsURL)
            let ours = try Self.corscopeVerdicts(captureURL)
            for (scenario, expected) in chromium.sorted(by: { $0.key < $1.key }) {
                total += 1
                guard let judged = ours[scenario], !judged.isEmpty else {
                    XCTFail("\(resultsURL.lastPathComponent) \(scenario): no exchange in the capture (Chromium: \(expected))")
                    continue
                }
                let (agrees, ourText) = Self.agrees(judged, with: expected)
                if agrees { agreed += 1 }
                XCTAssertTrue(agrees, "\(scenario): Chromium \(expected), corscope \(ourText)")
            }
        }
        print("Chromium agreement: \(agreed)/\(total) scenarios")
        XCTAssertGreaterThanOrEqual(total, 50)
    }

    /// The HAR of the same run, read like a user's DevTools export: judged from the HAR alone.
    func testVerdictsFromTheHAREqualChromium() throws {
        var agreed = 0
        var total = 0
        var disagreements: [String] = []
        for (resultsURL, captureURL) in try Self.recordings() {
            let har = captureURL.deletingPathExtension().appendingPathExtension("har")
            guard FileManager.default.fileExists(atPath: har.path) else { continue }
            let chromium = try Self.chromiumOutcomes(resultsURL)
            let ours = try Self.corscopeVerdicts(har)
            for (scenario, expected) in chromium.sorted(by: { $0.key < $1.key }) {
                total += 1
                let (agrees, text) = ours[scenario].map { Self.agrees($0, with: expected) } ?? (false, "no entry")
                if agrees { agreed += 1 } else { disagreements.append("\(scenario): Chromium \(expected), corscope \(text)") }
            }
        }
        print("Chromium agreement from the HAR: \(agreed)/\(total) scenarios")
        for line in disagreements { print("  HAR disagreement: " + line) }
        XCTAssertGreaterThanOrEqual(total, 50)
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
    }

    /// Chromium's outcome per scenario: blocked when DevTools reported a CORS error for any of
    /// its requests, passed when its last request got a response.
    static func chromiumOutcomes(_ url: URL) throws -> [String: ChromiumOutcome] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var outcomes: [String: ChromiumOutcome] = [:]
        for result in root["results"] as! [[String: Any]] {
            let name = result["name"] as! String
            let events = result["devtools"] as? [[String: Any]] ?? []
            let failures = events.filter { ($0["event"] as? String) == "loadingFailed" }
            // A failed preflight also fails its request; the event with the CORS status names why.
            if let failure = failures.first(where: { $0["corsErrorStatus"] is [String: Any] }) ?? failures.first {
                let status = failure["corsErrorStatus"] as? [String: Any]
                outcomes[name] = ChromiumOutcome(blocked: true, corsError: status?["corsError"] as? String,
                                                 failedParameter: status?["failedParameter"] as? String)
            } else if events.contains(where: { ($0["event"] as? String) == "responseReceived" }) {
                outcomes[name] = ChromiumOutcome(blocked: false)
            } else if (result["js"] as? String) == "ok" {
                // WebSocket handshakes are not Network.* request events; the page saw it open.
                outcomes[name] = ChromiumOutcome(blocked: false)
            } else {
                XCTFail("\(url.lastPathComponent) \(name): Chromium's DevTools log has no event for this scenario: re-record it")
            }
        }
        return outcomes
    }

    /// corscope's judged exchanges per scenario (requests carry `?scenario=<name>`), in order.
    static func corscopeVerdicts(_ capture: URL) throws -> [String: [JudgedExchange]] {
        let judge = ExchangeJudge(profile: .chromium)
        var byScenario: [String: [JudgedExchange]] = [:]
        let inputs = ExchangeSources(paths: [capture.path])
        func file(_ judged: JudgedExchange) {
            guard let target = judged.exchange.request?.head.target, let range = target.range(of: "scenario=") else { return }
            let name = String(target[range.upperBound...].prefix { $0 != "&" })
            byScenario[name, default: []].append(judged)
        }
        for source in inputs.sources { _ = try source.read { exchange in judge.judge(exchange).forEach(file) } }
        judge.finish().forEach(file)
        return byScenario
    }

    /// The scenario's verdict is its first blocked exchange (a failed preflight, or the request,
    /// or a redirect hop), else passed.
    static func agrees(_ judged: [JudgedExchange], with expected: ChromiumOutcome) -> (Bool, String) {
        if let blocked = judged.first(where: { $0.verdict.kind == .blocked }) {
            let error = blocked.verdict.corsError?.cdpName
            let parameter = blocked.verdict.failedParameter ?? ""
            let text = "blocked \(error ?? "-") '\(parameter)' (exchange \(blocked.exchange.id))"
            return (expected.blocked && expected.corsError == error && (expected.failedParameter ?? "") == parameter, text)
        }
        if let undecided = judged.first(where: { $0.verdict.kind == .undecidable }) {
            let outcomes = undecided.verdict.outcomesByCredentials
            let text = "undecidable: " + outcomes.map { "\($0.assumption.rawValue) → \($0.kind.rawValue) \($0.failure?.error.cdpName ?? "")" }
                .joined(separator: ", ")
            let matches = outcomes.contains { outcome in
                expected.blocked
                    ? outcome.kind == .blocked && outcome.failure?.error.cdpName == expected.corsError
                    : outcome.kind == .passed
            }
            return (matches, text)
        }
        return (!expected.blocked, "passed")
    }
}

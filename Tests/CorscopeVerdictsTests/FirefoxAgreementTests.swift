import BrowserRules
import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopeVerdicts
import Foundation
import XCTest

/// Real Firefox ESR is the judge of corscope's Firefox profile: for every scenario Firefox ran
/// (Captures/firefox, recorded by Captures/record-firefox.sh with the pcap of the same run),
/// corscope's verdict from the pcap alone, judged with `.firefox`, must block exactly when
/// Firefox reported a CORS reason, with the same reason key (`CORSFailure.firefoxReason`).
///
/// Firefox's verdict per scenario is its first CORS console error (nsCORSListenerProxy logs
/// every failure with the security.properties key as category; run_firefox.py keeps them).
/// A scenario JavaScript saw fail without any CORS reason (a WebSocket handshake refused with
/// 403) was not refused by CORS: corscope must not block it either.
///
/// The wire cannot show a credentials mode when no cookie exists for the host; where the page
/// asked for `include` (the recording says so), corscope's outcome under the `included`
/// assumption is accepted too (`outcomesByCredentials`).
final class FirefoxAgreementTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let recording = packageRoot.appendingPathComponent("Captures/firefox/firefox-cors")

    struct FirefoxOutcome: CustomStringConvertible {
        var blocked: Bool
        /// The reason key (MDN name, e.g. `CORSMissingAllowOrigin`); nil: no CORS reason.
        var reason: String?
        /// Firefox's console text for `reason` (the first CORS error).
        var message: String?
        var includeCredentials = false
        /// The `?scenario=` value, and the wall-clock span of the scenario (pcap clock).
        var tag = ""
        var span: ClosedRange<Double> = 0...0
        var blockedByCORS: Bool { blocked && reason != nil }
        var description: String { blockedByCORS ? "blocked \(reason!)" : blocked ? "failed (not CORS)" : "passed" }
    }

    static func firefoxOutcomes() throws -> [String: FirefoxOutcome] {
        let url = recording.appendingPathExtension("results.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var outcomes: [String: FirefoxOutcome] = [:]
        for result in root["results"] as! [[String: Any]] {
            let name = result["name"] as! String
            let started = result["started"] as? Double ?? 0
            outcomes[name] = FirefoxOutcome(
                blocked: result["blocked"] as? Bool ?? false, reason: result["reason"] as? String,
                message: result["message"] as? String,
                includeCredentials: (result["credentials"] as? String) == "include",
                tag: result["tag"] as? String ?? name,
                span: started...max(started, result["finished"] as? Double ?? started))
        }
        return outcomes
    }

    /// corscope's judged exchanges per `?scenario=` value, in order.
    static func corscopeVerdicts() throws -> [String: [JudgedExchange]] {
        let judge = ExchangeJudge(profile: .firefox)
        var byScenario: [String: [JudgedExchange]] = [:]
        func file(_ judged: JudgedExchange) {
            guard let target = judged.exchange.request?.head.target, let range = target.range(of: "scenario=") else { return }
            let name = String(target[range.upperBound...].prefix { $0 != "&" })
            byScenario[name, default: []].append(judged)
        }
        let inputs = ExchangeSources(paths: [recording.appendingPathExtension("pcapng").path])
        for source in inputs.sources { _ = try source.read { exchange in judge.judge(exchange).forEach(file) } }
        judge.finish().forEach(file)
        return byScenario
    }

    /// The first blocked exchange decides (a failed preflight, a redirect hop, or the request);
    /// an undecidable one agrees when one of its credentials outcomes matches Firefox.
    static func agrees(_ judged: [JudgedExchange], with firefox: FirefoxOutcome) -> (Bool, String) {
        let (agrees, text) = agreesAsJudged(judged, with: firefox)
        guard !agrees, firefox.includeCredentials else { return (agrees, text) }
        for exchange in judged {
            for outcome in exchange.verdict.outcomesByCredentials where outcome.assumption == .included {
                let key = outcome.kind == .blocked ? outcome.failure?.firefoxReason : nil
                if firefox.blockedByCORS ? key == firefox.reason : outcome.kind != .blocked {
                    return (true, text + ", with credentials: " + (key ?? outcome.kind.rawValue))
                }
            }
        }
        return (false, text)
    }

    static func agreesAsJudged(_ judged: [JudgedExchange], with firefox: FirefoxOutcome) -> (Bool, String) {
        if let blocked = judged.first(where: { $0.verdict.kind == .blocked }) {
            let key = blocked.verdict.failure?.firefoxReason
            let text = "blocked \(blocked.verdict.corsError?.cdpName ?? "-") → \(key ?? "no Firefox reason") (exchange \(blocked.exchange.id))"
            return (firefox.blockedByCORS && key == firefox.reason, text)
        }
        if let undecided = judged.first(where: { $0.verdict.kind == .undecidable }) {
            let outcomes = undecided.verdict.outcomesByCredentials
            let text = "undecidable: " + outcomes.map {
                "\($0.assumption.rawValue) → \($0.kind.rawValue) \($0.failure?.firefoxReason ?? "")"
            }.joined(separator: ", ")
            let matches = outcomes.contains { outcome in
                firefox.blockedByCORS
                    ? outcome.kind == .blocked && outcome.failure?.firefoxReason == firefox.reason
                    : outcome.kind != .blocked
            }
            return (matches, text)
        }
        return (!firefox.blockedByCORS, "passed")
    }

    func testVerdictsEqualFirefoxOnEveryRecordedScenario() throws {
        guard FileManager.default.fileExists(atPath: Self.recording.appendingPathExtension("pcapng").path) else {
            throw XCTSkip("no Firefox recording (Captures/record-firefox.sh)")
        }
        let firefox = try Self.firefoxOutcomes()
        let ours = try Self.corscopeVerdicts()
        var agreed = 0
        var disagreements: [String] = []
        var sameText = 0
        var textDifferences: [(scenario: String, text: String)] = []
        let sharedTags = Dictionary(grouping: firefox.values, by: \.tag).filter { $0.value.count > 1 }
        for (scenario, expected) in firefox.sorted(by: { $0.key < $1.key }) {
            var judged = ours[expected.tag] ?? []
            if sharedTags[expected.tag] != nil {
                // Several scenarios requested the same URL: each owns the exchanges it started.
                judged = judged.filter {
                    expected.span.contains(Double($0.exchange.startTime.totalNanoseconds) / 1e9)
                }
            }
            guard !judged.isEmpty else {
                // Nothing on the wire (e.g. answered from Firefox's own cache): nothing to judge.
                if expected.blockedByCORS { disagreements.append("\(scenario): Firefox \(expected), no exchange in the capture") }
                continue
            }
            let (agrees, text) = Self.agrees(judged, with: expected)
            if agrees { agreed += 1 } else { disagreements.append("\(scenario): Firefox \(expected), corscope \(text)") }
            if agrees, let recorded = expected.message,
               let failure = judged.first(where: { $0.verdict.kind == .blocked })?.verdict.failure {
                let ours = failure.message(for: .firefox) ?? "(none)"
                if ours == recorded {
                    sameText += 1
                } else {
                    textDifferences.append((scenario, "\(scenario):\n    Firefox:  \(recorded)\n    corscope: \(ours)"))
                }
            }
        }
        print("Firefox agreement: \(agreed)/\(firefox.count) scenarios; console text identical for \(sameText) blocked ones")
        for difference in textDifferences { print("  Firefox console text differs: " + difference.text) }
        for line in disagreements { print("  Firefox disagreement: " + line) }
        XCTAssertGreaterThanOrEqual(firefox.count, 50)
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
        XCTAssertTrue(textDifferences.isEmpty, textDifferences.map(\.text).joined(separator: "\n"))
    }
}

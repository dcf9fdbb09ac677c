import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
import CorscopeTLS
import CorscopeVerdicts
import Foundation
import XCTest

/// The browser is the judge: for every scenario real Chromium ran (Captures/browser, recorded
/// with the pcap of the same run), corscope's verdict and reason from the pcap alone must equal
/// what Chromium's DevTools reported (`Network.loadingFailed` → `corsErrorStatus`).
///
/// Scored strictly: an `undecidable` verdict where Chromium decided is a disagreement. Where the
/// wire does not show the credentials mode, corscope decides under the browser's default (no
/// credentials) and names the other mode's outcome; the one case where that assumption is wrong
/// by construction — `credentials: 'include'` with an empty cookie jar, which puts nothing on
/// the wire — is listed by name in `includeWithEmptyCookieJar`, and only there does the
/// alternative count.
final class ChromiumAgreementTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Scenarios whose page used `credentials: 'include'` towards a host with no cookies: the
    /// request is byte-identical to one without credentials, so only the alternative outcome can
    /// match what Chromium did. Each is named here, never matched by pattern.
    static let includeWithEmptyCookieJar: Set<String> = [
        "reflect-creds-localhost-nocookie",
        "wildcard-creds-localhost-nocookie",
        "include-emptyjar-acac-missing",
    ]

    /// Scenarios Chromium answered without putting the request on the wire: a capture cannot
    /// show them (the HAR of the same run can, and is held to them).
    static let notOnTheWire: [String: String] = [
        "browser-cache-reuse": "Chromium answered the fetch from its HTTP cache (the <img> load stored the response): only the <img> request is in the pcap",
    ]

    struct ChromiumOutcome: Equatable, CustomStringConvertible {
        var blocked: Bool
        var corsError: String?
        var failedParameter: String?
        /// The load failed, but not by CORS (a WebSocket handshake the server refused): corscope
        /// must give no CORS block for it.
        var failedOutsideCORS = false
        var description: String {
            if failedOutsideCORS { return "failed outside CORS" }
            return blocked ? "blocked \(corsError ?? "(not CORS)") '\(failedParameter ?? "")'" : "passed"
        }
    }

    /// Recordings: `<name>.results.json` with `<name>.pcapng` beside it. The HTTPS suite's
    /// pcapng carries its key log as a Decryption Secrets Block, as `editcap --inject-secrets`
    /// writes it: read like a user's file, with no key log given.
    static func recordings() throws -> [(results: URL, capture: URL)] {
        var found: [(URL, URL)] = []
        for folder in ["Captures", "Captures/chromium", "Captures/chromium-https"] {
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
        var notOnTheWire = 0
        for (resultsURL, captureURL) in recordings {
            let chromium = try Self.chromiumOutcomes(resultsURL)
            let ours = try Self.corscopeVerdicts(captureURL, tags: try Self.tags(resultsURL), browserPorts: try Self.browserPorts(resultsURL))
            for (scenario, expected) in chromium.sorted(by: { $0.key < $1.key }) {
                if let why = Self.notOnTheWire[scenario] {
                    XCTAssertNil(ours[scenario], "\(scenario) is said not to be on the wire, but the capture has it")
                    print("  not on the wire, judged from the HAR only: \(scenario): \(why)")
                    notOnTheWire += 1
                    continue
                }
                total += 1
                guard let judged = ours[scenario], !judged.isEmpty else {
                    XCTFail("\(resultsURL.lastPathComponent) \(scenario): no exchange in the capture (Chromium: \(expected))")
                    continue
                }
                let (agrees, ourText) = Self.agrees(judged, with: expected, scenario: scenario)
                if agrees { agreed += 1 }
                XCTAssertTrue(agrees, "\(scenario): Chromium \(expected), corscope \(ourText)")
            }
        }
        print("Chromium agreement: \(agreed)/\(total) scenarios (\(notOnTheWire) not on the wire)")
        XCTAssertGreaterThanOrEqual(total, 60 + 75)
    }

    /// The HTTPS suite from the raw pcap and Chromium's key log (`--ssl-key-log-file`), given
    /// as `--tls-keylog` would: the same verdicts as from the pcapng with embedded secrets, every
    /// exchange `https`, and none without a key.
    func testHTTPSVerdictsFromThePcapAndKeyLogEqualChromium() throws {
        let folder = Self.packageRoot.appendingPathComponent("Captures/chromium-https")
        let results = folder.appendingPathComponent("chromium-https.results.json")
        let keys = TLSKeyStore()
        XCTAssertEqual(try keys.add(contentsOfFile: folder.appendingPathComponent("chromium-https.keylog").path), [])
        var configuration = ExchangePipeline.Configuration()
        configuration.tlsKeys = keys
        let (ours, statistics) = try Self.corscopeVerdictsAndStatistics(folder.appendingPathComponent("chromium-https.pcap"), tags: try Self.tags(results),
                                                                        browserPorts: try Self.browserPorts(results), configuration: configuration)
        XCTAssertFalse(ours.isEmpty)
        var disagreements: [String] = []
        for (scenario, expected) in try Self.chromiumOutcomes(results).sorted(by: { $0.key < $1.key }) where Self.notOnTheWire[scenario] == nil {
            let (agrees, text) = ours[scenario].map { Self.agrees($0, with: expected, scenario: scenario) } ?? (false, "no exchange")
            if !agrees { disagreements.append("\(scenario): Chromium \(expected), corscope \(text)") }
        }
        XCTAssertTrue(disagreements.isEmpty, disagreements.joined(separator: "\n"))
        for judged in ours.values.joined() {
            XCTAssertEqual(judged.exchange.transport.scheme, "https", judged.exchange.id)
            XCTAssertEqual(judged.exchange.requestURL?.hasPrefix("https://"), true, judged.exchange.id)
        }
        XCTAssertEqual(statistics.tls.connections, statistics.tls.decryptedConnections, "every TLS connection decrypted")
        XCTAssertEqual(statistics.notAnalysed.traffic.filter { $0.kind == .tls }.count, 0)
        // HTTP/2 for the h2 ports, HTTP/1.1 inside TLS for the others.
        let exchanges = ours.values.joined().map(\.exchange)
        XCTAssertTrue(exchanges.contains { $0.streamID != nil && $0.transport.tls?.alpn == "h2" })
        XCTAssertTrue(exchanges.contains { $0.streamID == nil && $0.transport.tls != nil })
        // Without the key log, the pcap holds nothing to judge, and says why.
        let (none, withoutKeys) = try Self.corscopeVerdictsAndStatistics(folder.appendingPathComponent("chromium-https.pcap"),
                                                                         browserPorts: try Self.browserPorts(results))
        XCTAssertTrue(none.isEmpty)
        XCTAssertEqual(withoutKeys.tls.decryptedConnections, 0)
        XCTAssertEqual(withoutKeys.notAnalysed.traffic.filter { $0.kind == .tls }.reduce(0) { $0 + $1.connections }, withoutKeys.tls.connections)
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
            let ours = try Self.corscopeVerdicts(har, tags: try Self.tags(resultsURL))
            for (scenario, expected) in chromium.sorted(by: { $0.key < $1.key }) {
                total += 1
                let (agrees, text) = ours[scenario].map { Self.agrees($0, with: expected, scenario: scenario) } ?? (false, "no entry")
                if agrees { agreed += 1 } else { disagreements.append("\(scenario): Chromium \(expected), corscope \(text)") }
            }
        }
        // The fetches Chromium failed before sending show provisional headers only: their Origin is
        // restored, and every output marks it as inferred.
        let har = try XCTUnwrap(try Self.recordings().first).capture.deletingPathExtension().appendingPathExtension("har")
        let restored = try Self.corscopeVerdicts(har).values.joined().filter { !($0.exchange.har?.inferredRequestHeaders.isEmpty ?? true) }
        XCTAssertFalse(restored.isEmpty, "Chromium's HAR has provisional-header fetches")
        for judged in restored {
            XCTAssertEqual(judged.exchange.har?.inferredRequestHeaders.map(\.name), ["Origin"])
            XCTAssertTrue(judged.verdict.notes.contains { $0.contains("Origin header inferred") }, judged.exchange.id)
        }
        print("Chromium agreement from the HAR: \(agreed)/\(total) scenarios (\(restored.count) Origins restored from provisional headers)")
        for line in disagreements { print("  HAR disagreement: " + line) }
        XCTAssertGreaterThanOrEqual(total, 60)
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
            } else if let frameError = events.first(where: { ($0["event"] as? String) == "webSocketFrameError" }),
                      (frameError["errorMessage"] as? String)?.contains("handshake") == true {
                // A refused WebSocket handshake: Chromium reports no CORS error, only the failure.
                outcomes[name] = ChromiumOutcome(blocked: false, failedOutsideCORS: true)
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

    /// Scenarios that request another scenario's URL on purpose (`tag`: the fetch that must hit
    /// the cache entry an `<img>` made): tag → scenario.
    /// The server ports Chromium itself connected to (every URL in its DevTools log). A capture
    /// on the server host also holds the reverse proxy's hops to its upstreams (the HTTPS
    /// suite's nginx → plain HTTP upstream), which carry the scenario's URL and Origin but were
    /// never seen by the browser: they are not what Chromium judged.
    static func browserPorts(_ url: URL) throws -> Set<UInt16> {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var ports: Set<UInt16> = []
        for result in root["results"] as! [[String: Any]] {
            for event in result["devtools"] as? [[String: Any]] ?? [] {
                guard let text = event["url"] as? String, let components = URLComponents(string: text) else { continue }
                ports.insert(UInt16(components.port ?? (components.scheme == "https" || components.scheme == "wss" ? 443 : 80)))
            }
        }
        return ports
    }

    static func tags(_ url: URL) throws -> [String: String] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var tags: [String: String] = [:]
        for result in root["results"] as! [[String: Any]] {
            if let tag = result["tag"] as? String { tags[tag] = result["name"] as? String }
        }
        return tags
    }

    /// corscope's judged exchanges per scenario (requests carry `?scenario=<name>`), in order. A
    /// HAR entry the browser cache answered, under a tag, is the tagging scenario's.
    static func corscopeVerdicts(_ capture: URL, tags: [String: String] = [:], browserPorts: Set<UInt16>? = nil) throws -> [String: [JudgedExchange]] {
        try corscopeVerdictsAndStatistics(capture, tags: tags, browserPorts: browserPorts).verdicts
    }

    static func corscopeVerdictsAndStatistics(_ capture: URL, tags: [String: String] = [:], browserPorts: Set<UInt16>? = nil,
                                              configuration: ExchangePipeline.Configuration = .init())
        throws -> (verdicts: [String: [JudgedExchange]], statistics: PipelineStatistics) {
        let judge = ExchangeJudge(profile: .chromium)
        var byScenario: [String: [JudgedExchange]] = [:]
        let inputs = ExchangeSources(paths: [capture.path], configuration: configuration)
        func file(_ judged: JudgedExchange) {
            guard let target = judged.exchange.request?.head.target, let range = target.range(of: "scenario=") else { return }
            if let browserPorts, !judged.exchange.isFromHAR, !browserPorts.contains(judged.exchange.connection.server.port) { return }
            var name = String(target[range.upperBound...].prefix { $0 != "&" })
            if let tagging = tags[name], judged.exchange.har?.fromCache != nil { name = tagging }
            byScenario[name, default: []].append(judged)
        }
        for source in inputs.sources { _ = try source.read { exchange in judge.judge(exchange).forEach(file) } }
        judge.finish().forEach(file)
        return (byScenario, inputs.statistics)
    }

    /// The scenario's verdict is its first blocked exchange (a failed preflight, or the request,
    /// or a redirect hop), else passed. Any undecidable exchange is a disagreement.
    static func agrees(_ judged: [JudgedExchange], with expected: ChromiumOutcome, scenario: String) -> (Bool, String) {
        if expected.failedOutsideCORS {
            let judgedAsCORS = judged.filter { $0.verdict.kind != .notCORS }
            return (judgedAsCORS.isEmpty, judgedAsCORS.isEmpty ? "not CORS" : "judged as CORS: \(judgedAsCORS.map { $0.verdict.kind.rawValue })")
        }
        if let undecided = judged.first(where: { $0.verdict.kind == .undecidable }) {
            return (false, "undecidable (exchange \(undecided.exchange.id): \(undecided.verdict.missingEvidence.joined(separator: "; ")))")
        }
        func matches(blocked: Bool, error: String?, parameter: String) -> Bool {
            blocked ? expected.blocked && expected.corsError == error && (expected.failedParameter ?? "") == parameter : !expected.blocked
        }
        let text: String
        if let blocked = judged.first(where: { $0.verdict.kind == .blocked }) {
            let error = blocked.verdict.corsError?.cdpName
            let parameter = blocked.verdict.failedParameter ?? ""
            text = "blocked \(error ?? "-") '\(parameter)' (exchange \(blocked.exchange.id))"
            if matches(blocked: true, error: error, parameter: parameter) { return (true, text) }
        } else {
            text = "passed"
            if matches(blocked: false, error: nil, parameter: "") { return (true, text) }
        }
        // Only where the page used 'include' with an empty jar may the alternative be right.
        guard includeWithEmptyCookieJar.contains(scenario) else { return (false, text) }
        for exchange in judged {
            guard let alternative = exchange.verdict.alternative else { continue }
            let parameter = alternative.failure?.failedParameter ?? ""
            if matches(blocked: alternative.kind == .blocked, error: alternative.failure?.error.cdpName, parameter: parameter) {
                return (true, text + ", alternative with credentials: " + (alternative.failure?.error.cdpName ?? alternative.kind.rawValue))
            }
        }
        return (false, text + " (no alternative matches)")
    }
}

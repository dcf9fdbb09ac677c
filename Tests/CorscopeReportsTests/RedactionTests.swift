import Foundation
import CorscopeExchanges
import CorscopeHTTP
@testable import CorscopeRedaction
import CorscopeReports
import CorscopeTestSupport
import CorscopeVerdicts
import XCTest

/// Canary secrets planted in every exchange of real captures must appear in no report format.
final class RedactionTests: XCTestCase {
    static let cookieCanary = "CANARYcookie7Qx2"
    static let authorizationCanary = "CANARYbearer9Vw4"
    static let queryCanary = "CANARYquery3Lm8"
    static let apiKeyCanary = "CANARYapikey5Rt1"
    static let jwtSignatureCanary = "CANARYjwtSig0Kp6aB"
    static let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkiLCJpYXQiOjE3MDAwMDAwMDB9." + jwtSignatureCanary
    static let setCookieCanary = "CANARYsetcookie2Hn7"
    static let passwordCanary = "CANARYpassword4Zz9"
    static let canaries = [cookieCanary, authorizationCanary, queryCanary, apiKeyCanary, jwtSignatureCanary, jwt,
                           setCookieCanary, passwordCanary]

    /// Every exchange of the capture with secrets in all the usual places.
    static func plantedExchanges(_ capture: String) throws -> [HTTPExchange] {
        try Support.exchanges(capture).map { exchange in
            var copy = exchange
            guard var request = copy.request else { return copy }
            request.head.headers = Support.fields(request.head.headers, set: [
                ("Cookie", "session=\(cookieCanary); theme=dark"),
                ("Authorization", "Bearer \(authorizationCanary)"),
                ("X-Api-Key", apiKeyCanary),
                ("X-Debug-Context", jwt),
                ("Referer", "http://127.0.0.1:24482/app?password=\(passwordCanary)&tab=2"),
            ])
            request.head.target += (request.head.target.contains("?") ? "&" : "?") + "token=\(queryCanary)"
            copy.request = request
            if var response = copy.response {
                response.head.headers = Support.fields(response.head.headers,
                                                       add: [("Set-Cookie", "sid=\(setCookieCanary); Path=/; HttpOnly")])
                copy.response = response
            }
            return copy
        }
    }

    func testNoCanaryInAnyFormat() throws {
        for capture in ["nginx-cors.pcap", "chromium/chromium-cors.pcapng", "chromium-https/chromium-https.pcapng"] {
            let report = Support.report(try Self.plantedExchanges(capture))
            XCTAssertGreaterThan(report.totals.blocked, 0)
            XCTAssertTrue(report.redacted)
            for format in ReportFormat.allCases {
                let output = String(decoding: format.render(report), as: UTF8.self)
                XCTAssertFalse(output.isEmpty)
                for canary in Self.canaries {
                    XCTAssertFalse(output.contains(canary), "\(capture) \(format): \(canary) leaked")
                }
                // SARIF and JUnit carry no headers or URLs with queries: nothing to mark there.
                if format == .markdown || format == .html || format == .json {
                    XCTAssertTrue(output.contains("[redacted]"), "\(capture) \(format) shows where it redacted")
                }
            }
            // The cookie names stay: they say which cookies were sent.
            let example = try XCTUnwrap(report.origins.flatMap(\.groups).first?.example)
            XCTAssertTrue(example.requestHeaders.contains { $0.name == "Cookie" && $0.value == "session=[redacted]; theme=[redacted]" })
            XCTAssertTrue(example.requestHeaders.contains { $0.name == "Authorization" && $0.value == "Bearer [redacted]" })
            XCTAssertTrue(example.responseHeaders.contains { $0.name == "Set-Cookie" && $0.value == "sid=[redacted]; Path=/; HttpOnly" })
            XCTAssertTrue(example.url.contains("token=[redacted]"), example.url)
            XCTAssertTrue(example.requestHeaders.contains { $0.name == "Referer" && $0.value.hasSuffix("?password=[redacted]&tab=2") })
        }
    }

    /// The NDJSON exchanges and findings (`exchanges --json`, `watch --events`) hide the same
    /// secrets, in headers, targets and the verdict texts built from them.
    func testNoCanaryInNDJSON() throws {
        for capture in ["nginx-cors.pcap", "chromium/chromium-cors.pcapng"] {
            let judge = ExchangeJudge(profile: .chromium)
            let redactor = Redactor()
            let texts = VerdictJSONCache(profile: .chromium, redactor: redactor)
            var json = JSONWriter(capacity: 1 << 16)
            var judged: [JudgedExchange] = []
            for exchange in try Self.plantedExchanges(capture) { judged += judge.judge(exchange) }
            judged += judge.finish()
            for exchange in judged {
                ExchangeJSON.write(exchange.exchange, to: &json, redactor: redactor) { json in
                    VerdictJSON.write(exchange, profile: .chromium, to: &json, cache: texts)
                }
                json.newline()
            }
            let output = String(decoding: json.bytes, as: UTF8.self)
            for canary in Self.canaries { XCTAssertFalse(output.contains(canary), "\(capture) NDJSON: \(canary) leaked") }
            XCTAssertTrue(output.contains("\"Cookie\",\"session=[redacted]; theme=[redacted]\""), capture)
            XCTAssertTrue(output.contains("token=[redacted]"), capture)
            for line in output.split(separator: "\n") {
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), "valid JSON")
            }
            // Without a redactor, the same writer shows the capture as it is.
            var plain = JSONWriter(capacity: 1 << 16)
            ExchangeJSON.write(judged[0].exchange, to: &plain)
            XCTAssertTrue(String(decoding: plain.bytes, as: UTF8.self).contains(Self.cookieCanary))
        }
    }

    /// The byte check a stream asks first never waves through a field `header(name:value:)`
    /// would change: on every header of the bundled and planted captures.
    func testByteCheckCoversEveryFieldTheRedactorChanges() throws {
        let redactor = Redactor()
        var checked = 0, passedOnBytes = 0
        for capture in ["nginx-cors.pcap", "chromium/chromium-cors.pcapng", "edge-http1.pcap", "chromium/chromium-cors.har"] {
            let exchanges = try Support.exchanges(capture) + (capture.hasSuffix(".har") ? [] : try Self.plantedExchanges(capture))
            for exchange in exchanges {
                for fields in [exchange.request?.head.headers, exchange.response?.head.headers].compactMap({ $0 }) {
                    for index in 0..<fields.count {
                        checked += 1
                        let name = fields.name(at: index), value = fields.value(at: index)
                        if !redactor.mayHideSecret(name: fields.nameBytes(at: index), value: fields.valueBytes(at: index)) {
                            passedOnBytes += 1
                            XCTAssertEqual(redactor.header(name: name, value: value), value, "\(name): \(value)")
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(passedOnBytes * 2, checked, "most fields are decided on their bytes (\(passedOnBytes) of \(checked))")
        XCTAssertTrue(Redactor.mayHideSecret(value: ArraySlice("Bearer abc".utf8)))
        XCTAssertTrue(Redactor.mayHideSecret(value: ArraySlice("/path?x=1".utf8)))
        XCTAssertFalse(Redactor.mayHideSecret(value: ArraySlice("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36".utf8)))
    }

    /// The byte checks `text` and `valueLooksSecret` ask first (a run of token bytes with `eyJ` or
    /// letters mixed with digits; a credential scheme; `eyJ`) are necessary conditions: on random
    /// texts built from the pieces tokens, URLs and sentences are made of, every word the scrubber
    /// would replace and every value the classifier calls secret passes them.
    func testTokenPrechecksNeverSkipASecret() {
        var random = SeededGenerator(seed: 0xC0FFEE)
        let pieces = ["eyJ", "hbGci", "OiJIUz", "I1NiJ9", ".", "/", "-", "_", "=", "+", "~", " ", "  ", "\t", "?", "&", ":",
                      "k8Jq2", "LmZ0p", "Xr7Vt", "Y4nWc", "abcdef", "ghijkl", "0123", "4567", "89", "api", "items",
                      "\"", "'", "(", ")", ",", ";", "<", ">", "[", "]", "Bearer ", "basic ", "BEARER", "é", "ü"]
        var texts = 0, withRun = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 1...14, using: &random)
            let text = (0..<count).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &random)] }.joined()
            texts += 1
            let mayHold = Redactor.mayHoldToken(text)
            if mayHold { withRun += 1 }
            for word in text.split(separator: " ", omittingEmptySubsequences: false) {
                let core = word.trimmingCharacters(in: "\"'(),;<>[]")
                if core.utf8.count >= 20, Redactor.looksLikeJWT(core) || Redactor.looksHighEntropy(core) {
                    XCTAssertTrue(mayHold, "scrubTokens would replace \(core) in \(text)")
                }
            }
            let trimmed = text.trimmingSpaces, lower = trimmed.lowercased()
            let secretByTheOldRule = lower.hasPrefix("bearer ") || lower.hasPrefix("basic ")
                || Redactor.looksLikeJWT(trimmed) || Redactor.looksHighEntropy(trimmed)
            XCTAssertEqual(Redactor().valueLooksSecret(text), secretByTheOldRule, text)
        }
        // URLs: whatever the byte check lets through unsplit, the redactor would not change.
        let urlPieces = ["https://", "http://", "u:pw@", "api.example", ":8443", "/x", "/api/items/42", "?", "&", "=", "#top",
                         "page", "2", "token", "Sig", "apikey", "scenario", "preflight-405-static", "k8Jq2LmZ0pXr7VtY4nWc9sQe1bHf6dGa",
                         "eyJhbGciOiJIUzI1NiJ9.e30.", "Bearer%20x", "é", "\u{212A}", "@", "copy"]
        var unchanged = 0, skipped = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 1...12, using: &random)
            let url = (0..<count).map { _ in urlPieces[Int.random(in: 0..<urlPieces.count, using: &random)] }.joined()
            let redacted = Redactor().url(url)
            if redacted == url { unchanged += 1 }
            var bytes = url
            if !bytes.withUTF8(Redactor.urlMayChange(bytes:)) {
                skipped += 1
                XCTAssertEqual(redacted, url, "the byte check let through a URL the redactor changes")
            }
        }
        XCTAssertGreaterThan(skipped, 1000, "most plain URLs are decided on bytes")
        XCTAssertGreaterThan(unchanged - skipped, 0, "some URLs go the slow way and come back unchanged")
        XCTAssertGreaterThan(withRun, texts / 20, "the generator makes texts with token runs too")
        XCTAssertLessThan(withRun, texts, "and texts without")
        XCTAssertFalse(Redactor.mayHoldToken("http://127.0.0.1:24480/api/noalways/ok?scenario=simple-get-ok&copy=2"))
        XCTAssertTrue(Redactor.mayHoldToken("see k8Jq2LmZ0pXr7VtY4nWc9sQe1bHf6dGa"))
    }

    func testNoRedactShowsSecretsAndSaysSoAtTheTop() throws {
        let report = Support.report(try Self.plantedExchanges("nginx-cors.pcap"), redact: false)
        XCTAssertFalse(report.redacted)
        for format in ReportFormat.allCases {
            let output = String(decoding: format.render(report), as: UTF8.self)
            if format == .markdown || format == .html || format == .json {
                XCTAssertTrue(output.contains(Self.cookieCanary), "\(format) with --no-redact shows the capture as is")
            }
            XCTAssertTrue(output.prefix(400).contains("redaction is OFF"), "\(format) does not say at the top that it is unredacted")
        }
    }

    func testClassifiers() {
        let redactor = Redactor()
        XCTAssertEqual(redactor.header(name: "Access-Control-Allow-Credentials", value: "true"), "true")
        XCTAssertEqual(redactor.header(name: "Access-Control-Allow-Headers", value: "authorization, x-api-key"), "authorization, x-api-key")
        XCTAssertEqual(redactor.header(name: "X-Auth-Token", value: "abc"), "[redacted]")
        XCTAssertEqual(redactor.header(name: "Proxy-Authorization", value: "Basic dXNlcjpwYXNz"), "Basic [redacted]")
        XCTAssertEqual(redactor.header(name: "User-Agent", value: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"),
                       "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0")
        XCTAssertEqual(redactor.header(name: "X-Trace", value: "k8Jq2LmZ0pXr7VtY4nWc9sQe1bHf6dGa"), "[redacted]")
        XCTAssertEqual(redactor.header(name: "Date", value: "Sun, 22 Nov 2026 22:15:08 GMT"), "Sun, 22 Nov 2026 22:15:08 GMT")
        XCTAssertEqual(redactor.url("https://u:pw@api.example/x?sig=abc&page=2&apikey=k#top"),
                       "https://[redacted]@api.example/x?sig=[redacted]&page=2&apikey=[redacted]#top")
        XCTAssertEqual(redactor.text("token k8Jq2LmZ0pXr7VtY4nWc9sQe1bHf6dGa seen"), "token [redacted] seen")
        XCTAssertEqual(redactor.url("/x?scenario=preflight-405-static&page=2"), "/x?scenario=preflight-405-static&page=2")
        XCTAssertEqual(Redactor(enabled: false).header(name: "Cookie", value: "a=b"), "a=b")
        // HTTP/2's pseudo-headers: `:authority` is the host (not a credential for its "auth"), `:path` a target.
        XCTAssertEqual(redactor.header(name: ":authority", value: "api.example:8443"), "api.example:8443")
        XCTAssertFalse(redactor.mayHideSecret(name: Array(":authority".utf8)[...], value: Array("api.example:8443".utf8)[...]))
        XCTAssertEqual(redactor.header(name: ":path", value: "/x?token=abc&page=2"), "/x?token=[redacted]&page=2")
    }

    /// Over HTTP/2 the host is shown, not taken for a secret and scrubbed from every message.
    func testHTTPSReportShowsTheHost() throws {
        let report = try Support.report(capture: "chromium-https/chromium-https.pcapng")
        let markdown = String(decoding: ReportFormat.markdown.render(report), as: UTF8.self)
        XCTAssertFalse(markdown.contains("https://[redacted]/"), "the authority is no secret")
        XCTAssertTrue(markdown.contains("Access to fetch at 'https://127.0.0.1:24700/api/"), "console messages name the URL")
    }
}

import BrowserRules
import Foundation
import XCTest

/// Throughput of `CORSEngine.evaluate` on realistic exchanges. Skipped unless CORSCOPE_BENCH=1:
/// `CORSCOPE_BENCH=1 swift test -c release --filter EngineBenchmarkTests`.
final class EngineBenchmarkTests: XCTestCase {
    static let browserHeaders: [(name: String, value: String)] = [
        (name: "Host", value: "api.example.com:8080"),
        (name: "User-Agent", value: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
        (name: "Accept", value: "application/json, text/plain, */*"),
        (name: "Accept-Language", value: "en-US,en;q=0.9"),
        (name: "Accept-Encoding", value: "gzip, deflate, br"),
        (name: "Sec-Fetch-Site", value: "cross-site"),
        (name: "Referer", value: "https://app.example.org/dashboard"),
        (name: "Connection", value: "keep-alive"),
    ]

    static func request(_ method: String, _ path: String, origin: String, extra: [(name: String, value: String)] = [],
                        credentials: CredentialsMode = .unknown) -> CORSRequest {
        var fields = browserHeaders
        fields.insert((name: "Origin", value: origin), at: 2)
        fields += extra
        return CORSRequest(method: method, url: "http://api.example.com:8080" + path, headers: HTTPHeaders(fields),
                           credentials: credentials)
    }

    static func response(_ status: Int, _ fields: [(name: String, value: String)]) -> CORSResponse {
        CORSResponse(status: status, headers: HTTPHeaders([
            (name: "Server", value: "nginx/1.27.0"),
            (name: "Date", value: "Sun, 22 Nov 2026 22:00:00 GMT"),
            (name: "Content-Type", value: "application/json"),
            (name: "Content-Length", value: "512"),
            (name: "Connection", value: "keep-alive"),
        ] + fields))
    }

    static func exchanges(count: Int) -> [CORSExchange] {
        var result: [CORSExchange] = []
        for index in 0..<count {
            let origin = "https://app\(index % 7).example.org"
            switch index % 4 {
            case 0: // simple GET, ACAO reflected, Vary: Origin
                result.append(CORSExchange(
                    request: request("GET", "/api/items/\(index)?page=2", origin: origin, extra: [(name: "Sec-Fetch-Mode", value: "cors")]),
                    response: response(200, [(name: "Access-Control-Allow-Origin", value: origin), (name: "Vary", value: "Origin")])))
            case 1: // preflighted PUT with its OPTIONS
                let put = request("PUT", "/api/items/\(index)", origin: origin,
                                  extra: [(name: "Content-Type", value: "application/json"), (name: "X-Request-Id", value: "abc\(index)")])
                let options = CORSRequest(method: "OPTIONS", url: put.url, headers: HTTPHeaders(browserHeaders + [
                    (name: "Origin", value: origin), (name: "Access-Control-Request-Method", value: "PUT"),
                    (name: "Access-Control-Request-Headers", value: "content-type,x-request-id"),
                ]), mode: .cors)
                let optionsResponse = response(204, [
                    (name: "Access-Control-Allow-Origin", value: origin),
                    (name: "Access-Control-Allow-Methods", value: "GET, POST, PUT, DELETE"),
                    (name: "Access-Control-Allow-Headers", value: "Content-Type, X-Request-Id"),
                    (name: "Access-Control-Max-Age", value: "600"), (name: "Vary", value: "Origin"),
                ])
                result.append(CORSExchange(
                    request: put,
                    response: response(200, [(name: "Access-Control-Allow-Origin", value: origin), (name: "Vary", value: "Origin")]),
                    preflight: .exchange(request: options, response: optionsResponse)))
            case 2: // blocked: no ACAO
                result.append(CORSExchange(
                    request: request("GET", "/private/\(index)", origin: origin),
                    response: response(200, [])))
            default: // credentialed, cookie
                result.append(CORSExchange(
                    request: request("GET", "/api/me", origin: origin, extra: [(name: "Cookie", value: "session=abcdef\(index)")],
                                     credentials: .include),
                    response: response(200, [(name: "Access-Control-Allow-Origin", value: origin),
                                             (name: "Access-Control-Allow-Credentials", value: "true"),
                                             (name: "Vary", value: "Origin")])))
            }
        }
        return result
    }

    func testEvaluateThroughput() throws {
        guard ProcessInfo.processInfo.environment["CORSCOPE_BENCH"] == "1" else {
            throw XCTSkip("set CORSCOPE_BENCH=1 to run the engine benchmark")
        }
        let exchanges = Self.exchanges(count: 400)
        let context = EvaluationContext(profile: .chromium, requestTime: 1000)
        for readAll in [false, true] {
            var evaluations = 0
            var sink = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed: UInt64 = 0
            while elapsed < 1_000_000_000 {
                for exchange in exchanges {
                    let verdict = CORSEngine.evaluate(exchange, context: context)
                    sink &+= verdict.kind.hashValue
                    if readAll {
                        // What the JSON writer reads per exchange.
                        sink &+= verdict.explanation.utf8.count &+ (verdict.fix?.utf8.count ?? 0)
                        sink &+= verdict.notes.count &+ verdict.warnings.count &+ verdict.missingEvidence.count
                        sink &+= verdict.message(for: .chromium)?.utf8.count ?? 0
                        sink &+= (verdict.failedParameter?.utf8.count ?? 0) &+ verdict.outcomesByCredentials.count
                    }
                }
                evaluations += exchanges.count
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            }
            let nanos = Double(elapsed) / Double(evaluations)
            print(String(format: "EngineBenchmark%@: %d evaluations, %.0f evaluations/s, %.0f ns/evaluation (sink %d)",
                         readAll ? " (+reading all text)" : "", evaluations, 1e9 / nanos, nanos, sink))
        }
    }
}

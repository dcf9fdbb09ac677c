import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly
import Foundation
import XCTest

/// Throughput of the HTTP layer alone. Skipped unless CORSCOPE_BENCH=1; run in release:
/// `CORSCOPE_BENCH=1 swift test -c release --filter ParserBenchmarkTests`.
final class ParserBenchmarkTests: XCTestCase {
    static let request = bytes(
        "GET /api/v1/items?page=2&sort=recent HTTP/1.1\r\nHost: api.example.com\r\nConnection: keep-alive\r\n"
            + "sec-ch-ua-platform: \"Linux\"\r\nsec-ch-ua: \"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n"
            + "sec-ch-ua-mobile: ?0\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
            + "Accept: application/json, text/plain, */*\r\nOrigin: https://app.example.com\r\nSec-Fetch-Site: same-site\r\n"
            + "Sec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\nReferer: https://app.example.com/\r\n"
            + "Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n")
    static let responseBody = bytes("{\"items\":[{\"id\":41,\"name\":\"alpha\"},{\"id\":42,\"name\":\"beta\"}],\"page\":2,\"total\":1289,\"next\":\"/api/v1/items?page=3\"}\n")
    static let response = bytes(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 22:14:47 GMT\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(responseBody.count)\r\nConnection: keep-alive\r\nVary: Origin\r\n"
            + "Access-Control-Allow-Origin: https://app.example.com\r\nAccess-Control-Allow-Credentials: true\r\n"
            + "Access-Control-Expose-Headers: X-Request-Id, X-RateLimit-Remaining\r\nX-Request-Id: 5f0c2a9e-8d1b-4c3e-9a7f-2b6d1e0c4a8b\r\n"
            + "X-RateLimit-Remaining: 4999\r\nCache-Control: private, max-age=0, no-cache\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n")
        + responseBody

    func testThroughput() throws {
        guard ProcessInfo.processInfo.environment["CORSCOPE_BENCH"] == "1" else {
            throw XCTSkip("set CORSCOPE_BENCH=1 (and build with -c release) to run")
        }
        let exchangesPerConnection = 100
        let connections = 2000
        // One connection's stream, in capture order: each request in one segment, each
        // response cut at a 1448-byte MSS boundary (responses are pipelined back to back).
        var client: [UInt8] = [], server: [UInt8] = []
        var events: [(FlowDirection, Range<Int>)] = []
        for _ in 0..<exchangesPerConnection {
            events.append((.clientToServer, client.count..<(client.count + Self.request.count)))
            client += Self.request
            var start = server.count
            server += Self.response
            while start < server.count {
                let end = min(server.count, start + 1448)
                events.append((.serverToClient, start..<end))
                start = end
            }
        }
        let bytesPerConnection = client.count + server.count
        let t = Timestamp(seconds: 1, nanoseconds: 0)
        // Best of several rounds: the build machine is shared, so single runs are noisy.
        var timings: [Double] = []
        for _ in 0..<5 {
            var emitted = 0
            var checksum = 0
            let started = DispatchTime.now().uptimeNanoseconds
            client.withUnsafeBytes { clientBytes in
                server.withUnsafeBytes { serverBytes in
                    for c in 0..<connections {
                        let info = ConnectionInfo(id: c, client: Harness.connection.client, server: Harness.connection.server, sawHandshake: true, firstSeen: t)
                        let analyzer = HTTP1ConnectionAnalyzer(connection: info) { exchange in
                            emitted += 1
                            checksum &+= exchange.response?.head.headers.count ?? 0
                        }
                        for (direction, range) in events {
                            let source = direction == .clientToServer ? clientBytes : serverBytes
                            analyzer.receive(UnsafeRawBufferPointer(rebasing: source[range]), direction: direction, time: t)
                        }
                        analyzer.end(direction: .clientToServer, time: t, reason: .fin)
                        analyzer.end(direction: .serverToClient, time: t, reason: .fin)
                    }
                }
            }
            timings.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            XCTAssertEqual(emitted, exchangesPerConnection * connections)
            XCTAssertEqual(checksum, emitted * 13)
        }
        let totalBytes = Double(bytesPerConnection * connections)
        let exchanges = Double(exchangesPerConnection * connections)
        let best = timings.min()!, median = timings.sorted()[timings.count / 2]
        print(String(format: "HTTP1ConnectionAnalyzer: %.0f exchanges (%d B each), %.1f MB per round; best %.0f MB/s (%.0f exchanges/s), median %.0f MB/s",
                     exchanges, bytesPerConnection / exchangesPerConnection, totalBytes / 1e6, totalBytes / 1e6 / best, exchanges / best, totalBytes / 1e6 / median))
    }
}

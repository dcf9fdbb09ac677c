import CorscopeHTTP
import CorscopeHTTP2
import CorscopeTestSupport
import XCTest

/// Every HTTP/2 request (method, `:authority`, `:path`, per stream, PUSH_PROMISE requests on the
/// promised stream) and response (`:status` per stream, 1xx included) tshark decodes, corscope
/// finds too, on the h2c captures recorded here (`Captures/h2c/record.sh`) and the public ones.
///
/// Deliberate differences, named where they apply:
/// - **h2c upgrade, stream 1**: the request is HTTP/1.1 (the upgrade request, which tshark shows
///   as HTTP, not HTTP/2); corscope's stream-1 exchange carries it as sent, so only HTTP/2 heads
///   are compared here (`TsharkHTTP2.ours` skips heads whose version is not 2).
/// - **A stream the client reset before any response** (`nginx-reset.pcap`: RST_STREAM CANCEL
///   sent with the request): nginx still sends a 200 head and DATA on it, which the client
///   answers with RST_STREAM STREAM_CLOSED. corscope reports the stream as reset without a
///   response (the browser never sees that answer) and counts the late frames; tshark lists
///   the 200. Those responses are taken out of tshark's list, and each one must be such a stream.
final class TsharkHTTP2DifferentialTests: XCTestCase {
    /// The server ports tshark is told to read as HTTP/2 (`-d tcp.port==N,http2`); none for the
    /// h2c upgrades, which tshark follows from the 101 itself (forcing HTTP/2 there hides them).
    static let recorded: [(file: String, ports: [Int])] = [
        ("Captures/h2c/nginx-prior-knowledge.pcap", [24641]),
        ("Captures/h2c/nginx-reset.pcap", [24641]),
        ("Captures/h2c/nghttpd-push.pcap", [24642]),
        ("Captures/h2c/h2c-upgrade-curl.pcap", []),
        ("Captures/h2c/h2c-upgrade-nghttp.pcap", []),
    ]
    static let publicCaptures: [(file: String, ports: [Int])] = [
        ("sv__http2-continuation.pcap", [8080]),
        ("sv__http2-ipv6-port3000.pcap", [3000]),
        ("sv__http2-keywords2-h2c-upgrade.pcap", []),
        ("sv__http2-range-h2c-upgrade.pcap", []),
        ("sv__dns-over-http2-post.pcap", [80]),
        ("arkime__http2-nghttp2.pcap", [80]),
    ]

    func testRecordedCapturesAgreeWithTshark() throws {
        let tshark = try ExternalTool.tshark()
        for (file, ports) in Self.recorded {
            try compare(PackagePaths.path(file), ports: ports, tshark: tshark)
        }
    }

    func testPublicCapturesAgreeWithTshark() throws {
        let tshark = try ExternalTool.tshark()
        let folder = try PackagePaths.publicCaptures()
        for (file, ports) in Self.publicCaptures {
            let path = folder.appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw XCTSkip("\(file) is absent from ../shared/public-captures: skipped")
            }
            try compare(path, ports: ports, tshark: tshark)
        }
    }

    private func compare(_ path: String, ports: [Int], tshark: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CaptureHarness.run(path)
        let ours = TsharkHTTP2.ours(result.exchanges)
        let theirs = try TsharkHTTP2.messages(tshark, file: path, serverPorts: ports)
        let name = (path as NSString).lastPathComponent
        XCTAssertFalse(theirs.requests.isEmpty && theirs.responses.isEmpty, "\(name): tshark decoded no HTTP/2 heads", file: file, line: line)
        XCTAssertEqual(sorted(ours.requests), sorted(theirs.requests), "\(name): requests", file: file, line: line)
        // Responses to streams the client reset before any response came: deliberately not ours.
        let resetBeforeResponse = Set(result.exchanges.filter { exchange in
            exchange.response == nil && result.details[exchange.id]?.resetBy == .clientToServer
        }.map { "\($0.connection.client.port)/s\($0.streamID ?? 0)" })
        let theirResponses = theirs.responses.filter { !resetBeforeResponse.contains("\($0.clientPort)/s\($0.stream)") }
        XCTAssertEqual(theirs.responses.count - theirResponses.count, resetBeforeResponse.count,
                       "\(name): tshark shows one late answer per stream reset by the client", file: file, line: line)
        XCTAssertEqual(sorted(ours.responses), sorted(theirResponses), "\(name): responses", file: file, line: line)
        print("\(name): \(theirs.requests.count) requests, \(theirs.responses.count) responses agree; \(result.http2Exchanges.count) HTTP/2 exchanges")
    }
}

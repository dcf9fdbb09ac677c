import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeTLS
import CorscopeTestSupport
import Foundation
import XCTest

/// HTTPS and HTTP/2 exchanges checked against tshark's TLS, HTTP/2 and HTTP dissectors on the
/// same captures with the same keys: every request (method, path) and final response (status)
/// tshark decrypts and decodes, corscope finds too, per connection, and no other.
///
/// Deliberate differences, each named where it is applied:
/// - Interim (1xx) responses are part of an exchange in corscope and left out.
/// - tshark decodes HTTP/2 on a plain port only when told (`-d tcp.port==N,http2`).
/// - tshark also decrypts CBC suites, which corscope lists as not decrypted: connections whose
///   ServerHello chose a suite outside `TsharkHTTPSDifferentialTests.aeadSuites` are left out.
/// - A close-delimited HTTP/1.x response inside TLS (no Content-Length, not chunked): tshark
///   waits for more of the reassembled PDU and never shows it; corscope ends it at the close.
/// - A pushed request comes in a PUSH_PROMISE (type 5), not a HEADERS frame.
final class TsharkHTTPSDifferentialTests: XCTestCase {
    typealias Row = TsharkExchangeDifferentialTests.Row

    /// The Chromium HTTPS suite as users share it: a pcapng with its key log embedded.
    func testChromiumHTTPSSuiteAgreesWithTshark() throws {
        try compare(PackagePaths.path("Captures/chromium-https/chromium-https.pcapng"), keyLog: nil, minimumExchanges: 100)
    }

    /// The same suite from the raw pcap and the key log file, given to both tools.
    func testChromiumHTTPSPcapWithKeyLogAgreesWithTshark() throws {
        let folder = PackagePaths.path("Captures/chromium-https")
        try compare(folder + "/chromium-https.pcap", keyLog: folder + "/chromium-https.keylog", minimumExchanges: 100)
    }

    /// Public captures: TLS 1.2 suites decrypted with their key log, HTTP/2 by prior knowledge
    /// and by h2c upgrade.
    func testPublicHTTPSAndHTTP2CapturesAgreeWithTshark() throws {
        let folder = try PackagePaths.publicCaptures()
        try compare(folder.appendingPathComponent("pcapfs__all_ciphers.pcap").path,
                    keyLog: folder.appendingPathComponent("pcapfs__all_ciphers.keylog").path, minimumExchanges: 4)
        for (name, port) in [("arkime__http2-nghttp2.pcap", 80), ("sv__http2-continuation.pcap", 80), ("sv__dns-over-http2-post.pcap", 80),
                             ("sv__http2-ipv6-port3000.pcap", 3000)] {
            try compare(folder.appendingPathComponent(name).path, keyLog: nil, http2Port: port, minimumExchanges: 1)
        }
    }

    private func compare(_ path: String, keyLog: String?, http2Port: Int? = nil, minimumExchanges: Int,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let tshark = try ExternalTool.tshark()
        let configuration = ExchangePipeline.Configuration()
        if let keyLog { XCTAssertEqual(try configuration.tlsKeys.add(contentsOfFile: keyLog), [], file: file, line: line) }
        var exchanges: [HTTPExchange] = []
        let pipeline = ExchangePipeline(configuration: configuration) { exchanges.append($0) }
        _ = try pipeline.read(file: path)
        var ourRequests: [Row] = []
        var ourResponses: [Row] = []
        for exchange in exchanges where exchange.transport.tls != nil || exchange.transport.isHTTP2 {
            let client = exchange.connection.client.description, server = exchange.connection.server.description
            if let head = exchange.requestHead {
                ourRequests.append(Row(client: client, server: server, method: head.method, target: head.target, status: nil))
            }
            if let head = exchange.responseHead, exchange.streamID == nil, exchange.transport.tls != nil,
               !head.headers.contains(named: "Content-Length"), !head.headers.contains(named: "Transfer-Encoding"),
               head.status >= 200, head.status != 204, head.status != 304, exchange.requestHead?.method != "HEAD" {
                continue  // close-delimited inside TLS: tshark never completes it
            }
            if let head = exchange.responseHead {
                ourResponses.append(Row(client: client, server: server, method: "", target: "", status: head.status))
            }
        }
        XCTAssertGreaterThanOrEqual(ourRequests.count, minimumExchanges, "\(path): exchanges decrypted and decoded", file: file, line: line)
        var (theirRequests, theirResponses) = try Self.tsharkMessages(tshark, file: path, keyLog: keyLog, http2Port: http2Port)
        let cbcClients = try Self.clientsOfSuitesNotDecrypted(tshark, file: path)
        theirRequests.removeAll { cbcClients.contains($0.client) }
        theirResponses.removeAll { cbcClients.contains($0.client) }
        let name = (path as NSString).lastPathComponent
        let missingRequests = TsharkExchangeDifferentialTests.subtract(theirRequests, ourRequests)
        let extraRequests = TsharkExchangeDifferentialTests.subtract(ourRequests, theirRequests)
        XCTAssertTrue(missingRequests.isEmpty && extraRequests.isEmpty,
                      "\(name): requests only tshark has: \(missingRequests); only corscope has: \(extraRequests)", file: file, line: line)
        let missingResponses = TsharkExchangeDifferentialTests.subtract(theirResponses, ourResponses)
        let extraResponses = TsharkExchangeDifferentialTests.subtract(ourResponses, theirResponses)
        XCTAssertTrue(missingResponses.isEmpty && extraResponses.isEmpty,
                      "\(name): responses only tshark has: \(missingResponses); only corscope has: \(extraResponses)", file: file, line: line)
    }

    /// The AEAD suites corscope decrypts (IANA code points): TLS 1.3's three, and TLS 1.2's
    /// RSA/DHE/DH_anon/ECDHE/PSK with AES-GCM and ChaCha20-Poly1305.
    static let aeadSuites: Set<String> = [
        "0x1301", "0x1302", "0x1303", "0x009c", "0x009d", "0x009e", "0x009f", "0x00a2", "0x00a3", "0x00a6", "0x00a7",
        "0xc02b", "0xc02c", "0xc02f", "0xc030", "0xcca8", "0xcca9", "0xccaa", "0x00a8", "0x00a9", "0xccab", "0xccac", "0xccad", "0xccae",
    ]

    /// Client endpoints of connections whose ServerHello chose a suite corscope does not decrypt.
    static func clientsOfSuitesNotDecrypted(_ tshark: String, file: String) throws -> Set<String> {
        var clients: Set<String> = []
        for f in try TsharkHTTP.run(tshark, ["-r", file, "-Y", "tls.handshake.type == 2", "-T", "fields",
                                             "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tls.handshake.ciphersuite"]) where f.count >= 4 {
            if !aeadSuites.contains(f[3]) { clients.insert(TsharkHTTP.endpoint(f[0].isEmpty ? f[1] : f[0], f[2])) }
        }
        return clients
    }

    /// tshark's decrypted HTTP/1.x messages (inside TLS) and HTTP/2 header blocks, as rows.
    static func tsharkMessages(_ tshark: String, file: String, keyLog: String?, http2Port: Int?) throws -> (requests: [Row], responses: [Row]) {
        var options = ["-r", file, "-o", "tcp.reassemble_out_of_order:TRUE", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1F}"]
        if let keyLog { options += ["-o", "tls.keylog_file:\(keyLog)"] }
        if let http2Port { options += ["-d", "tcp.port==\(http2Port),http2"] }
        let addresses = ["-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"]
        func endpoints(_ f: [String]) -> (source: String, destination: String) {
            (TsharkHTTP.endpoint(f[0].isEmpty ? f[1] : f[0], f[2]), TsharkHTTP.endpoint(f[3].isEmpty ? f[4] : f[3], f[5]))
        }
        func list(_ text: String) -> [String] { text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
        var requests: [Row] = []
        var responses: [Row] = []
        // HTTP/1.x inside TLS (only where TLS was decrypted: plain HTTP is the other test's).
        for f in try TsharkHTTP.run(tshark, options + ["-Y", "http.request && tls"] + addresses + ["-e", "http.request.method", "-e", "http.request.uri"]) where f.count >= 8 {
            let (source, destination) = endpoints(f)
            for (method, target) in zip(list(f[6]), list(f[7])) {
                requests.append(Row(client: source, server: destination, method: method, target: target, status: nil))
            }
        }
        for f in try TsharkHTTP.run(tshark, options + ["-Y", "http.response && tls"] + addresses + ["-e", "http.response.code"]) where f.count >= 7 {
            let (source, destination) = endpoints(f)
            for code in list(f[6]).compactMap({ Int($0) }) where !(100...199).contains(code) || code == 101 {
                responses.append(Row(client: destination, server: source, method: "", target: "", status: code))
            }
        }
        // HTTP/2 HEADERS: requests carry :method and :path, responses :status (trailers neither).
        for f in try TsharkHTTP.run(tshark, options + ["-Y", "http2.type == 1"] + addresses
                                    + ["-e", "http2.headers.method", "-e", "http2.headers.path", "-e", "http2.headers.status"]) where f.count >= 9 {
            let (source, destination) = endpoints(f)
            for (method, path) in zip(list(f[6]), list(f[7])) where !method.isEmpty {
                requests.append(Row(client: source, server: destination, method: method, target: path, status: nil))
            }
            for code in list(f[8]).compactMap({ Int($0) }) where !(100...199).contains(code) {
                responses.append(Row(client: destination, server: source, method: "", target: "", status: code))
            }
        }
        // Pushed requests: a PUSH_PROMISE travels server to client and names the request.
        for f in try TsharkHTTP.run(tshark, options + ["-Y", "http2.type == 5"] + addresses
                                    + ["-e", "http2.headers.method", "-e", "http2.headers.path"]) where f.count >= 8 {
            let (source, destination) = endpoints(f)
            for (method, path) in zip(list(f[6]), list(f[7])) where !method.isEmpty {
                requests.append(Row(client: destination, server: source, method: method, target: path, status: nil))
            }
        }
        return (requests, responses)
    }
}

/// The Chromium HTTPS suite's pcapng with its Decryption Secrets Block moved among the packets
/// (derived from the committed file block by block): the keys are picked up where they are, from
/// a file and from a stream, and every connection decrypts as with the block up front.
final class EmbeddedSecretsPipelineTests: XCTestCase {
    func testSecretsAmongThePacketsDecryptAsSecretsUpFront() throws {
        let original = PackagePaths.path("Captures/chromium-https/chromium-https.pcapng")
        let moved = try XCTUnwrap(PcapngBlocks.movingSecrets(Array(try Data(contentsOf: URL(fileURLWithPath: original))), afterPackets: 40))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-moved-secrets-\(UUID().uuidString).pcapng").path
        try Data(moved).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        func run(_ read: (ExchangePipeline) throws -> ExchangePipeline.FileResult) throws -> (exchanges: [String], statistics: PipelineStatistics) {
            var ids: [String] = []
            let pipeline = ExchangePipeline { ids.append("\($0.id) \($0.requestHead?.method ?? "-") \($0.requestHead?.target ?? "-") \($0.responseHead?.status ?? 0)") }
            let result = try read(pipeline)
            return (ids, result.statistics)
        }
        let upFront = try run { try $0.read(file: original) }
        let among = try run { try $0.read(file: path) }
        let streamed = try run { try $0.read(stream: try StreamedInput(path: path)) }
        XCTAssertGreaterThanOrEqual(upFront.statistics.tls.decryptedConnections, 20)
        for other in [among, streamed] {
            XCTAssertEqual(other.statistics.tls.decryptedConnections, upFront.statistics.tls.decryptedConnections)
            XCTAssertEqual(other.exchanges.count, upFront.exchanges.count)
            let missing = Set(upFront.exchanges).subtracting(other.exchanges), extra = Set(other.exchanges).subtracting(upFront.exchanges)
            XCTAssertTrue(missing.isEmpty && extra.isEmpty, "missing \(missing.sorted().prefix(5)), extra \(extra.sorted().prefix(5))")
            let firstDifference = other.exchanges.indices.first { $0 < upFront.exchanges.count && other.exchanges[$0] != upFront.exchanges[$0] }
            XCTAssertNil(firstDifference, "order: \(firstDifference.map { "\(other.exchanges[$0]) where up front \(upFront.exchanges[$0])" } ?? "")")
            XCTAssertTrue(other.statistics.keyLogProblems.isEmpty, "\(other.statistics.keyLogProblems)")
        }
    }
}

/// HTTP/2's own anomalies and stream facts reach the exchange through the pipeline.
final class HTTP2AnomalyHandOffTests: XCTestCase {
    /// Chromium resets the streams of the loads it abandons (a failed CORS check, a cancelled load):
    /// those exchanges say so.
    func testResetStreamsAreFlaggedOnTheirExchanges() throws {
        var exchanges: [HTTPExchange] = []
        let pipeline = ExchangePipeline { exchanges.append($0) }
        let result = try pipeline.read(file: PackagePaths.path("Captures/chromium-https/chromium-https.pcapng"))
        let reset = exchanges.filter { $0.anomalies.contains(.streamReset) }
        XCTAssertFalse(reset.isEmpty)
        XCTAssertTrue(reset.allSatisfy { $0.streamID != nil })
        XCTAssertEqual(reset.count, result.statistics.anomalies[.streamReset])
    }

    /// The RST_STREAM code and side, and the stream a pushed request was promised on, are on the
    /// exchange (nginx recordings: curl cancels one stream; nghttpd pushes a stylesheet).
    func testResetCodeAndPushedOnAreOnTheExchange() throws {
        var exchanges: [HTTPExchange] = []
        let pipeline = ExchangePipeline { exchanges.append($0) }
        _ = try pipeline.read(file: PackagePaths.path("Captures/h2c/nginx-reset.pcap"))
        let cancelled = try XCTUnwrap(exchanges.first { $0.anomalies.contains(.streamReset) })
        XCTAssertEqual(cancelled.http2?.resetCode, "CANCEL")
        XCTAssertEqual(cancelled.http2?.resetByClient, true)
        XCTAssertNil(cancelled.response, "reset before its response")
        exchanges = []
        _ = try pipeline.read(file: PackagePaths.path("Captures/h2c/nghttpd-push.pcap"))
        let pushed = try XCTUnwrap(exchanges.first { $0.anomalies.contains(.serverPush) })
        XCTAssertEqual(pushed.http2?.promisedOn.map { $0 % 2 }, 1, "promised on a client stream")
        XCTAssertEqual(pushed.streamID.map { $0 % 2 }, 0, "pushed streams are even")
    }
}

import CorscopeExchanges
import CorscopeHTTP
import Foundation
import CorscopeTestSupport
import XCTest

/// The exchanges corscope reassembles, checked against tshark's HTTP dissector on every capture
/// in `Captures/` and its variants: the multiset of (client, server, method, target, status)
/// must be equal.
///
/// Deliberate differences, each named where it is applied:
/// - Interim responses (1xx before the final one) are not exchanges of their own in corscope;
///   tshark lists `100 Continue` as a response, so 1xx responses other than 101 are left out.
/// - After bytes lost in the capture (a TCP gap), tshark gives up on the PDU and often on the
///   rest of that direction; corscope reports the damaged message (with `missingBytes` or a gap
///   anomaly) and resyncs at the next message start. tshark shows nothing from the gap on.
/// - A request pipelined behind a HEAD: tshark cannot tell that the HEAD response has no body
///   and takes the bytes after it (the next responses) as that body; corscope frames it per
///   RFC 9110 §9.3.2. tshark shows no status from the HEAD on, on that connection.
final class TsharkExchangeDifferentialTests: XCTestCase {
    struct Row: Hashable, CustomStringConvertible {
        var client: String
        var server: String
        var method: String
        var target: String
        var status: Int?
        var description: String { "\(client)->\(server) \(method) \(target) \(status.map(String.init) ?? "-")" }
    }

    static let packageRoot = PackagePaths.root

    static func captures(in folder: String) throws -> [String] {
        let path = packageRoot.appendingPathComponent(folder).path
        return try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") || $0.hasSuffix(".gz") }
            .sorted().map { folder + "/" + $0 }
    }

    func testBundledCapturesAgreeWithTshark() throws {
        let tshark = try TsharkHTTP.locate()
        let captures = try Self.captures(in: "Captures") + Self.captures(in: "Captures/chromium") + Self.captures(in: "Captures/layers")
        XCTAssertGreaterThanOrEqual(captures.count, 8)
        for capture in captures {
            try compare(capture, tshark: tshark)
        }
    }

    func testVariantsAgreeWithTshark() throws {
        let tshark = try TsharkHTTP.locate()
        for capture in try Self.captures(in: "Captures/variants") {
            try compare(capture, tshark: tshark)
        }
    }

    /// The public robustness corpus (`../shared/public-captures`), HTTP/1 captures only.
    func testPublicCapturesAgreeWithTshark() throws {
        let tshark = try TsharkHTTP.locate()
        let folder = try PackagePaths.publicCaptures()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        for name in names.sorted() where Self.publicHTTP1Captures.contains(name) {
            try compare("../shared/public-captures/" + name, tshark: tshark)
        }
    }

    /// Public captures whose HTTP is HTTP/1.x in the clear (the others are HTTP/2, TLS or
    /// not HTTP, which tshark dissects and corscope does not).
    static let publicHTTP1Captures: Set<String> = [
        "zeek__http_get.pcap", "zeek__http_post.pcap", "zeek__http_methods.pcap", "zeek__wikipedia.pcap",
        "zeek__http-vlan-0.pcap", "zeek__http-qinq-0.pcap", "zeek__http_100-continue.pcap",
        "zeek__http_get_nosyn.pcap", "zeek__http_entity_gap.pcap", "zeek__http_websocket.pcap",
        "zeek__http_1000-requests-one-dropped-response.pcap.gz", "zeek__tcp_handshake-reorder.pcap",
        "sv__http-chunked.pcap", "sv__http-tx-pipeline.pcap", "sv__http-gzip-layered-encodings.pcap",
        "sv__http-ipv6.pcap", "sv__http-multiple100.pcap", "sv__http-range-file.pcap", "sv__http-sll.pcap",
        "sv__http-sll2.pcap", "sv__http-pppoe.pcap", "sv__http-gap-simple.pcap", "sv__http-start-from-response.pcap",
        "sv__http-pipeline-files-with-gap.pcap", "sv__http-protocol-nodup.pcap", "ppp__http-packets2.pcap",
        "ppp__four_ipv6_http_streams.pcap", "ppp__unidirectional_tcp_stream_with_missing_packet.pcap",
        "arkime__wireshark-retrans.pcap", "arkime__tcp-reassembly-synthetic.pcap",
    ]

    private func compare(_ capture: String, tshark: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Self.packageRoot.appendingPathComponent(capture).path
        var exchanges: [HTTPExchange] = []
        let pipeline = ExchangePipeline { exchanges.append($0) }
        _ = try pipeline.read(file: path)
        let tsharkBlind = Self.exchangesTsharkCannotFrame(exchanges)
        // Requests and responses are compared as two multisets: tshark links a response to a
        // request by its own heuristics, which pipelining and reordering defeat (the pairing is
        // covered by the HTTP unit tests).
        var ourRequests: [Row] = []
        var blindRequests: [Row] = []
        var ourResponses: [Row] = []
        var blindResponses: [Row] = []
        for exchange in exchanges {
            let client = exchange.connection.client.description
            let server = exchange.connection.server.description
            if let request = exchange.request {
                let row = Row(client: client, server: server, method: request.head.method,
                              target: request.head.target, status: nil)
                if tsharkBlind.contains(exchange.id) { blindRequests.append(row) } else { ourRequests.append(row) }
            }
            if let response = exchange.response {
                let row = Row(client: client, server: server, method: "", target: "", status: response.head.status)
                if tsharkBlind.contains(exchange.id) { blindResponses.append(row) } else { ourResponses.append(row) }
            }
        }
        let theirs = try TsharkHTTP.exchanges(tshark, file: path)
        let theirRequests = theirs.filter { !$0.method.isEmpty }
        let theirResponses = theirs.filter { $0.method.isEmpty }
        let missingRequests = Self.subtract(theirRequests, ourRequests + blindRequests)
        let extraRequests = Self.subtract(Self.subtract(ourRequests + blindRequests, theirRequests), blindRequests)
        XCTAssertTrue(missingRequests.isEmpty && extraRequests.isEmpty,
                      "\(capture): requests only tshark has: \(missingRequests); only corscope has: \(extraRequests)",
                      file: file, line: line)
        // The deliberate differences: tshark shows no response where it cannot frame one.
        let missingResponses = Self.subtract(theirResponses, ourResponses + blindResponses)
        let extraResponses = Self.subtract(Self.subtract(ourResponses + blindResponses, theirResponses), blindResponses)
        XCTAssertTrue(missingResponses.isEmpty && extraResponses.isEmpty,
                      "\(capture): responses only tshark has: \(missingResponses); only corscope has: \(extraResponses)",
                      file: file, line: line)
        if !capture.contains("variants/") {
            XCTAssertFalse(ourRequests.isEmpty && blindRequests.isEmpty, "\(capture): no exchange", file: file, line: line)
        }
    }

    /// Exchanges whose status tshark cannot show (see the deliberate differences above).
    static func exchangesTsharkCannotFrame(_ exchanges: [HTTPExchange]) -> Set<String> {
        var blind = Set<String>()
        let gapAnomalies: Set<HTTPAnomaly> = [.contentGap, .messageInterruptedByGap, .incompleteMessage,
                                              .skippedUnparsableBytes, .midstreamStart]
        let byConnection = Dictionary(grouping: exchanges, by: \.connection.id)
        for (_, connection) in byConnection {
            let ordered = connection.sorted { $0.index < $1.index }
            if let firstGap = ordered.firstIndex(where: { $0.missingBytes > 0 || !gapAnomalies.isDisjoint(with: $0.anomalies) }) {
                for later in ordered[firstGap...] { blind.insert(later.id) }
            }
            for (position, exchange) in ordered.enumerated() where exchange.request?.head.method == "HEAD" {
                guard position + 1 < ordered.count, let answered = exchange.response?.lastByte,
                      let next = ordered[position + 1].request?.firstByte, next < answered else { continue }
                for later in ordered[position...] { blind.insert(later.id) }
            }
        }
        return blind
    }

    static func subtract(_ a: [Row], _ b: [Row]) -> [Row] {
        var remaining = b
        var left: [Row] = []
        for row in a {
            if let index = remaining.firstIndex(of: row) { remaining.remove(at: index) } else { left.append(row) }
        }
        return left
    }
}

enum TsharkHTTP {
    static func locate() throws -> String { try ExternalTool.tshark() }

    static func run(_ tshark: String, _ arguments: [String]) throws -> [[String]] {
        try ExternalTool.output(of: tshark, arguments).split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }

    static func endpoint(_ address: String, _ port: String) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// tshark's HTTP messages: requests (method and target) and final responses (status), as rows.
    static func exchanges(_ tshark: String, file: String) throws -> [TsharkExchangeDifferentialTests.Row] {
        // tshark dissects HTTP on well-known ports only: name every port a client connected to.
        let ports = Set(try run(tshark, ["-r", file, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields", "-e", "tcp.dstport"])
            .compactMap { $0.first }.filter { !$0.isEmpty })
        let decodeAs = ports.sorted().flatMap { ["-d", "tcp.port==\($0),http"] }
        // Several messages in one frame (pipelining) come as one row, values joined by 0x1F.
        let options = ["-o", "tcp.reassemble_out_of_order:TRUE", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1F}"]
        let requests = try run(tshark, ["-r", file] + decodeAs + options + ["-Y", "http.request",
            "-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
            "-e", "tcp.dstport", "-e", "http.request.method", "-e", "http.request.uri"])
        let responses = try run(tshark, ["-r", file] + decodeAs + options + ["-Y", "http.response",
            "-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
            "-e", "tcp.dstport", "-e", "http.response.code"])
        var rows: [TsharkExchangeDifferentialTests.Row] = []
        for f in requests where f.count >= 9 {
            let source = f[1].isEmpty ? f[2] : f[1]
            let destination = f[4].isEmpty ? f[5] : f[4]
            let methods = f[7].split(separator: "\u{1F}").map(String.init)
            let targets = f[8].split(separator: "\u{1F}").map(String.init)
            for (method, target) in zip(methods, targets) {
                rows.append(.init(client: endpoint(source, f[3]), server: endpoint(destination, f[6]),
                                  method: method, target: target, status: nil))
            }
        }
        for f in responses where f.count >= 8 {
            // A response travels server to client.
            let source = f[1].isEmpty ? f[2] : f[1]
            let destination = f[4].isEmpty ? f[5] : f[4]
            for code in f[7].split(separator: "\u{1F}").compactMap({ Int($0) }) where !(100...199).contains(code) || code == 101 {
                rows.append(.init(client: endpoint(destination, f[6]), server: endpoint(source, f[3]),
                                  method: "", target: "", status: code))
            }
        }
        return rows
    }
}

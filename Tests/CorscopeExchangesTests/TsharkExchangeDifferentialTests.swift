import CorscopeExchanges
import CorscopeHTTP
import Foundation
import XCTest

/// The exchanges corscope reassembles, checked against tshark's HTTP dissector on every capture
/// in `Captures/` and its variants: the multiset of (client, server, method, target, status)
/// must be equal.
///
/// Deliberate differences, each named where it is applied:
/// - Interim responses (1xx before the final one) are not exchanges of their own in corscope;
///   tshark lists `100 Continue` as a response, so 1xx responses other than 101 are left out.
/// - A response that lost bytes in the capture (a TCP gap): tshark gives up on the PDU, corscope
///   still reports it, with `missingBytes` or a gap anomaly. tshark shows no status there.
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

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func captures(in folder: String) throws -> [String] {
        let path = packageRoot.appendingPathComponent(folder).path
        return try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") || $0.hasSuffix(".gz") }
            .sorted().map { folder + "/" + $0 }
    }

    func testBundledCapturesAgreeWithTshark() throws {
        let tshark = try TsharkHTTP.locate()
        let captures = try Self.captures(in: "Captures")
        XCTAssertGreaterThanOrEqual(captures.count, 3)
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
        var ourResponses: [Row] = []
        var blindResponses: [Row] = []
        for exchange in exchanges {
            let client = exchange.connection.client.description
            let server = exchange.connection.server.description
            if let request = exchange.request {
                ourRequests.append(Row(client: client, server: server, method: request.head.method,
                                       target: request.head.target, status: nil))
            }
            if let response = exchange.response {
                let row = Row(client: client, server: server, method: "", target: "", status: response.head.status)
                if tsharkBlind.contains(exchange.id) { blindResponses.append(row) } else { ourResponses.append(row) }
            }
        }
        let theirs = try TsharkHTTP.exchanges(tshark, file: path)
        let theirRequests = theirs.filter { !$0.method.isEmpty }
        let theirResponses = theirs.filter { $0.method.isEmpty }
        let missingRequests = Self.subtract(theirRequests, ourRequests)
        let extraRequests = Self.subtract(ourRequests, theirRequests)
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
            XCTAssertFalse(ourRequests.isEmpty, "\(capture): no exchange", file: file, line: line)
        }
    }

    /// Exchanges whose status tshark cannot show (see the deliberate differences above).
    static func exchangesTsharkCannotFrame(_ exchanges: [HTTPExchange]) -> Set<String> {
        var blind = Set<String>()
        let gapAnomalies: Set<HTTPAnomaly> = [.contentGap, .messageInterruptedByGap, .incompleteMessage]
        for exchange in exchanges where exchange.missingBytes > 0 || !gapAnomalies.isDisjoint(with: exchange.anomalies) {
            blind.insert(exchange.id)
        }
        let byConnection = Dictionary(grouping: exchanges, by: \.connection.id)
        for (_, connection) in byConnection {
            let ordered = connection.sorted { $0.index < $1.index }
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
    static func locate() throws -> String {
        for path in ["/usr/bin/tshark", "/usr/local/bin/tshark"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw XCTSkip("tshark is not installed: run `make test`, which installs it, for the differential tests")
    }

    static func run(_ tshark: String, _ arguments: [String]) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tshark)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map {
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

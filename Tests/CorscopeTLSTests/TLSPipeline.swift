import CorscopeCapture
import CorscopeReassembly
import CorscopeTestSupport
import Foundation
import XCTest

@testable import CorscopeTLS

/// What a downstream handler saw: the plaintext per direction, gaps, ends.
final class PlaintextCollector: TCPStreamHandler {
    let session: TLSSession
    var bytes: [[UInt8]] = [[], []]
    var gaps: [[Int]] = [[], []]
    var ends: [StreamEndReason?] = [nil, nil]
    /// Calls in order, to check that nothing came after an end.
    var calledAfterEnd = false

    init(session: TLSSession) { self.session = session }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        if ends[direction.rawValue] != nil { calledAfterEnd = true }
        bytes[direction.rawValue] += data
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        if ends[direction.rawValue] != nil { calledAfterEnd = true }
        gaps[direction.rawValue].append(length)
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        if ends[direction.rawValue] != nil { calledAfterEnd = true }
        ends[direction.rawValue] = reason
    }

    var client: [UInt8] { bytes[0] }
    var server: [UInt8] { bytes[1] }
}

/// One connection after the capture was read.
struct DecryptedConnection {
    let connection: ConnectionInfo
    let decryptor: TLSConnectionDecryptor
    var collector: PlaintextCollector? { decryptor.plaintextHandler as? PlaintextCollector }
    var client: [UInt8] { collector?.client ?? [] }
    var server: [UInt8] { collector?.server ?? [] }
    var serverPort: UInt16 { connection.server.port }
    var clientPort: UInt16 { connection.client.port }
}

/// The real pipeline: capture file → PacketDecoder → TCPAssembler → one TLSConnectionDecryptor
/// per connection → a collector. `wrap` may put a handler between the assembler and the
/// decryptor (to inject losses); `everyPacket` runs after each packet (to add keys late).
final class TLSCaptureRun: TCPStreamFactory {
    let keys: TLSKeyStore
    let configuration: TLSConfiguration
    var connections: [DecryptedConnection] = []
    private let wrap: (ConnectionInfo, TLSConnectionDecryptor) -> any TCPStreamHandler

    init(keys: TLSKeyStore, configuration: TLSConfiguration = .init(),
         wrap: @escaping (ConnectionInfo, TLSConnectionDecryptor) -> any TCPStreamHandler = { $1 }) {
        self.keys = keys
        self.configuration = configuration
        self.wrap = wrap
    }

    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler {
        let decryptor = TLSConnectionDecryptor(connection: connection, keys: keys, configuration: configuration) { session in
            PlaintextCollector(session: session)
        }
        connections.append(DecryptedConnection(connection: connection, decryptor: decryptor))
        return wrap(connection, decryptor)
    }

    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {}

    @discardableResult
    func read(_ path: String, everyPacket: ((TLSCaptureRun) -> Void)? = nil) throws -> TLSCaptureRun {
        let reader = try CaptureFileReader(path: path)
        let assembler = TCPAssembler(factory: self)
        let decoder = PacketDecoder()
        _ = reader.forEachPacket { packet in
            decoder.decode(packet) { segment in assembler.process(segment) }
            everyPacket?(self)
        }
        assembler.flushAll()
        return self
    }

    func connection(serverPort: UInt16, index: Int = 0) throws -> DecryptedConnection {
        let matching = connections.filter { $0.serverPort == serverPort }
        guard index < matching.count else {
            throw XCTSkip("no connection \(index) to port \(serverPort) in the capture")
        }
        return matching[index]
    }
}

/// Puts a loss into one direction of a connection: the bytes at stream offsets
/// `range` become `gap(length:)`, the rest passes unchanged.
final class LossInjector: TCPStreamHandler {
    let inner: any TCPStreamHandler
    let direction: FlowDirection
    let range: Range<Int>
    private var offset = 0

    init(_ inner: any TCPStreamHandler, direction: FlowDirection, dropping range: Range<Int>) {
        self.inner = inner
        self.direction = direction
        self.range = range
    }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        guard direction == self.direction else { return inner.receive(data, direction: direction, time: time) }
        let start = offset
        offset += data.count
        let chunk = start..<offset
        let lost = chunk.clamped(to: range)
        guard !lost.isEmpty else { return inner.receive(data, direction: direction, time: time) }
        if lost.lowerBound > start {
            inner.receive(UnsafeRawBufferPointer(rebasing: data[0..<(lost.lowerBound - start)]), direction: direction, time: time)
        }
        inner.gap(length: lost.count, direction: direction, time: time)
        if lost.upperBound < offset {
            inner.receive(UnsafeRawBufferPointer(rebasing: data[(lost.upperBound - start)...]), direction: direction, time: time)
        }
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        if direction == self.direction { offset += length }
        inner.gap(length: length, direction: direction, time: time)
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        inner.end(direction: direction, time: time, reason: reason)
    }
}

enum TLSFixtures {
    static let loopbackCapture = PackagePaths.path("Captures/tls/loopback-tls.pcap")
    static let loopbackKeyLog = PackagePaths.path("Captures/tls/loopback-tls.keylog")

    static func keys(_ path: String) throws -> TLSKeyStore {
        let store = TLSKeyStore()
        let problems = try store.add(contentsOfFile: path)
        XCTAssertEqual(problems, [], "key log \(path)")
        return store
    }

    /// A key store with the key log's lines minus those of `clientRandoms` (hex).
    static func keys(_ path: String, without clientRandoms: Set<String>) throws -> TLSKeyStore {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let kept = text.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            return fields.count < 2 || !clientRandoms.contains(fields[1].lowercased())
        }
        let store = TLSKeyStore()
        store.add(keyLog: Array(kept.joined(separator: "\n").utf8), source: "filtered")
        return store
    }

    /// The public captures folder (`../shared/public-captures`), or a visible skip.
    static func publicCapture(_ name: String) throws -> String {
        let path = try PackagePaths.publicCaptures().appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(name) is absent from ../shared/public-captures") }
        return path
    }
}

/// What tshark says about a capture decrypted with a key log.
enum TShark {
    /// Decrypted application data per TCP stream, keyed by the client's port:
    /// (client bytes, server bytes) (`-z follow,tls,raw`).
    static func decryptedStreams(capture: String, keyLog: String) throws -> [UInt16: (client: [UInt8], server: [UInt8])] {
        let tshark = try ExternalTool.tshark()
        let streamList = try ExternalTool.output(of: tshark, ["-r", capture, "-T", "fields", "-e", "tcp.stream",
                                                              "-e", "tcp.srcport", "-e", "tcp.dstport", "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0"])
        var result: [UInt16: (client: [UInt8], server: [UInt8])] = [:]
        for line in streamList.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 3, let clientPort = UInt16(fields[1]), let serverPort = UInt16(fields[2]) else { continue }
            let follow = try ExternalTool.output(of: tshark, ["-r", capture, "-o", "tls.keylog_file:\(keyLog)", "-q",
                                                             "-z", "follow,tls,raw,\(fields[0])"])
            result[clientPort] = parseFollow(follow, serverPort: serverPort)
        }
        return result
    }

    /// Follow output: "Node 0: addr:port", then hex lines; lines of node 1 are indented with a tab.
    private static func parseFollow(_ text: String, serverPort: UInt16) -> (client: [UInt8], server: [UInt8]) {
        var node0: [UInt8] = []
        var node1: [UInt8] = []
        var node0IsServer = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("Node 0: ") {
                node0IsServer = line.hasSuffix(":\(serverPort)")
                continue
            }
            let indented = line.hasPrefix("\t")
            let hex = line.trimmingCharacters(in: .whitespaces)
            guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit), let bytes = Hex.decode(Array(hex.utf8)) else { continue }
            if indented { node1 += bytes } else { node0 += bytes }
        }
        return node0IsServer ? (node1, node0) : (node0, node1)
    }

    struct Handshake: Equatable {
        var serverName: String?
        var offeredProtocols: [String] = []
        var selectedProtocol: String?
        var version: String?
        var cipherSuite: String?
    }

    /// Per client port: SNI, ALPN offer and choice, version, suite name (as Wireshark names it).
    static func handshakes(capture: String, keyLog: String) throws -> [UInt16: Handshake] {
        let tshark = try ExternalTool.tshark()
        let fields = try ExternalTool.output(of: tshark, [
            "-r", capture, "-o", "tls.keylog_file:\(keyLog)", "-Y", "tls.handshake", "-T", "fields",
            "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.handshake.type", "-e", "tls.handshake.extensions_server_name",
            "-e", "tls.handshake.extensions_alpn_str", "-e", "tls.handshake.extensions.supported_version", "-e", "tls.handshake.version",
        ])
        var result: [UInt16: Handshake] = [:]
        var serverPorts: [UInt16: UInt16] = [:]
        for line in fields.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 7, let source = UInt16(f[0]), let destination = UInt16(f[1]) else { continue }
            let types = f[2].split(separator: ",")
            if types.contains("1") {
                var handshake = result[source] ?? Handshake()
                handshake.serverName = f[3].isEmpty ? nil : f[3]
                handshake.offeredProtocols = f[4].isEmpty ? [] : f[4].split(separator: ",").map(String.init)
                result[source] = handshake
                serverPorts[source] = destination
            } else if types.contains("2") || types.contains("8") {
                var handshake = result[destination] ?? Handshake()
                if !f[4].isEmpty { handshake.selectedProtocol = f[4] }
                if types.contains("2") {
                    let version = f[5].isEmpty ? f[6].split(separator: ",").first.map(String.init) : f[5]
                    handshake.version = version.flatMap { ["0x0303": "TLS 1.2", "0x0304": "TLS 1.3"][$0] }
                }
                result[destination] = handshake
            }
        }
        // Suite names: from the verbose ServerHello lines, "Cipher Suite: NAME (0x....)".
        let verbose = try ExternalTool.output(of: tshark, ["-r", capture, "-Y", "tls.handshake.type==2", "-V"])
        var port: UInt16?
        for line in verbose.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Transmission Control Protocol"), let range = text.range(of: "Dst Port: ") {
                port = UInt16(text[range.upperBound...].prefix(while: \.isNumber))
            } else if text.hasPrefix("Cipher Suite: "), let port, let open = text.lastIndex(of: "(") {
                result[port, default: Handshake()].cipherSuite =
                    String(text.dropFirst("Cipher Suite: ".count)[..<open]).trimmingCharacters(in: .whitespaces)
            }
        }
        return result
    }
}

extension Array where Element == UInt8 {
    func starts(withASCII prefix: String) -> Bool { starts(with: Array(prefix.utf8)) }
}

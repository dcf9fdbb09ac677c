@testable import CorscopeCapture
import CorscopeTestSupport
import Foundation
import XCTest

/// Decryption Secrets Blocks read from pcapng files that editcap wrote (`--inject-secrets`), as
/// users make them for Wireshark, and the same files with the block moved among the packets
/// (derived here from editcap's output, block by block): found wherever they are, from a file,
/// a gzip'd file or a stream, before the packets that follow them.
final class CaptureSecretsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func editcap() throws -> String {
        let path = "/usr/bin/editcap"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("editcap (tshark's package) is not installed: run `make test`, which installs it")
        }
        return path
    }

    private static let keyLog = Array(String(repeating: "CLIENT_RANDOM \(String(repeating: "ab", count: 32)) \(String(repeating: "cd", count: 48))\n", count: 50).utf8)

    /// `Captures/nginx-cors.pcap` with `keyLog` injected by editcap (its secrets block comes
    /// right after the section header).
    private func injected() throws -> String {
        let keyLogPath = folder.appendingPathComponent("keys.log").path
        try Data(Self.keyLog).write(to: URL(fileURLWithPath: keyLogPath))
        let output = folder.appendingPathComponent("with-secrets.pcapng").path
        _ = try ChildProcess.run(try editcap(), ["--inject-secrets", "tls,\(keyLogPath)", PackagePaths.path("Captures/nginx-cors.pcap"), output],
                                 timeout: 60).requireExit()
        return output
    }

    /// What a read delivers: the packet count at each delivery of secrets, and the secrets.
    private struct Read {
        var deliveries: [(packetsBefore: Int, secrets: [CaptureSecrets])] = []
        var packets = 0
        var outcome: ReadOutcome?
        var problem: String?
        var keyLogs: [[UInt8]] { deliveries.flatMap(\.secrets).filter { $0.type == CaptureSecrets.tlsKeyLog }.map(\.data) }
    }

    private func walk(_ reader: CaptureFileReader) -> Read {
        var result = Read()
        reader.onSecrets = { result.deliveries.append((result.packets, $0)) }
        result.outcome = reader.forEachPacket { _ in result.packets += 1 }
        result.problem = reader.secretsProblem
        return result
    }

    /// The file with its secrets block moved to just after packet block number `packets`.
    private func movingSecrets(of path: String, afterPackets packets: Int, name: String) throws -> String {
        let moved = try XCTUnwrap(PcapngBlocks.movingSecrets(Array(try Data(contentsOf: URL(fileURLWithPath: path))), afterPackets: packets))
        let output = folder.appendingPathComponent(name).path
        try Data(moved).write(to: URL(fileURLWithPath: output))
        return output
    }

    /// The key log editcap embedded comes back byte for byte from the plain file, the gzip'd
    /// file and the file read as a stream, before the first packet.
    func testSecretsInjectedByEditcapAreReadBack() throws {
        let output = try injected()
        _ = try ChildProcess.run("/bin/gzip", ["-k", output], timeout: 60).requireExit()
        for reader in [try CaptureFileReader(path: output), try CaptureFileReader(path: output + ".gz"),
                       try CaptureFileReader(stream: try StreamedInput(path: output))] {
            let read = walk(reader)
            XCTAssertNil(read.problem)
            XCTAssertEqual(read.outcome, .complete)
            XCTAssertEqual(read.deliveries.map(\.packetsBefore), [0], reader.path)
            XCTAssertEqual(read.deliveries.first?.secrets.map(\.type), [CaptureSecrets.tlsKeyLog])
            // editcap may add a final newline; the text is what matters.
            XCTAssertEqual(String(decoding: read.keyLogs.first ?? [], as: UTF8.self).trimmingCharacters(in: .newlines),
                           String(decoding: Self.keyLog, as: UTF8.self).trimmingCharacters(in: .newlines), reader.path)
            XCTAssertEqual(read.packets, 238)
        }
    }

    /// A secrets block among the packets (as a writer that adds keys during a capture puts it)
    /// is delivered before the packets after it, and no later than libpcap's read-ahead allows.
    func testSecretsAfterPacketsAreFoundWhereTheyAre() throws {
        let moved = try movingSecrets(of: try injected(), afterPackets: 100, name: "moved.pcapng")
        let read = walk(try CaptureFileReader(path: moved))
        XCTAssertNil(read.problem)
        XCTAssertEqual(read.packets, 238)
        XCTAssertEqual(read.deliveries.count, 1)
        XCTAssertLessThanOrEqual(read.deliveries.first?.packetsBefore ?? 999, 100)
        XCTAssertEqual(read.keyLogs.count, 1)
        let streamed = walk(try CaptureFileReader(stream: try StreamedInput(path: moved)))
        XCTAssertEqual(streamed.packets, 238)
        XCTAssertNil(streamed.problem)
        XCTAssertTrue(streamed.keyLogs == read.keyLogs, "streamed: \(streamed.keyLogs.map(\.count)) bytes of key logs, read: \(read.keyLogs.map(\.count))")
    }

    /// A pcap (not pcapng) and a pcapng without secrets have none, and say nothing is wrong.
    func testFilesWithoutSecretsHaveNone() throws {
        for path in ["Captures/nginx-cors.pcap", "Captures/nginx-cors.pcap.gz", "Captures/chromium/chromium-cors.pcapng"] {
            let read = walk(try CaptureFileReader(path: PackagePaths.path(path)))
            XCTAssertTrue(read.deliveries.isEmpty, path)
            XCTAssertNil(read.problem, path)
            XCTAssertEqual(read.outcome, .complete, path)
        }
    }

    /// A file cut inside its secrets block says so instead of handing over half a key log.
    func testATruncatedSecretsBlockIsAProblem() throws {
        let moved = try movingSecrets(of: try injected(), afterPackets: 10, name: "moved.pcapng")
        let whole = try Data(contentsOf: URL(fileURLWithPath: moved))
        let cut = folder.appendingPathComponent("cut.pcapng")
        // Past the section header, the interface and ten packets, inside the secrets block.
        let secretsStart = PcapngBlocks.blocks(Array(whole)).prefix(12).map(\.count).reduce(0, +)
        try whole.prefix(secretsStart + 400).write(to: cut)
        let read = walk(try CaptureFileReader(path: cut.path))
        XCTAssertTrue(read.deliveries.isEmpty)
        XCTAssertEqual(read.packets, 10)
        XCTAssertEqual(read.problem, "truncated decryption secrets block")
    }

    /// The walker takes the stream in pieces of any size: one byte at a time gives what one
    /// piece gives.
    func testTheWalkDoesNotDependOnHowTheBytesArrive() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try movingSecrets(of: try injected(), afterPackets: 3, name: "m.pcapng"))))
        var whole = PcapngSecretsWalker()
        bytes.withUnsafeBytes { whole.consume($0) }
        var byByte = PcapngSecretsWalker()
        for byte in bytes { withUnsafeBytes(of: byte) { byByte.consume($0) } }
        XCTAssertTrue(whole.take() == byByte.take())
        XCTAssertNil(whole.problem)
        XCTAssertNil(byByte.problem)
        XCTAssertTrue(whole.isPCAPNG)
    }
}

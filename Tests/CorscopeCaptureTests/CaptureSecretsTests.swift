import CorscopeCapture
import CorscopeTestSupport
import Foundation
import XCTest

/// Decryption Secrets Blocks read from pcapng files that editcap wrote (`--inject-secrets`), as
/// users make them for Wireshark.
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

    /// The key log text editcap embedded comes back byte for byte, from the plain and the gzip'd file.
    func testSecretsInjectedByEditcapAreReadBack() throws {
        let keyLog = Array("# a comment\nCLIENT_RANDOM \(String(repeating: "ab", count: 32)) \(String(repeating: "cd", count: 48))\n".utf8)
        let keyLogPath = folder.appendingPathComponent("keys.log").path
        try Data(keyLog).write(to: URL(fileURLWithPath: keyLogPath))
        let output = folder.appendingPathComponent("with-secrets.pcapng").path
        _ = try ChildProcess.run(try editcap(), ["--inject-secrets", "tls,\(keyLogPath)", PackagePaths.path("Captures/nginx-cors.pcap"), output],
                                 timeout: 60).requireExit()
        let walk = CaptureSecrets.read(path: output)
        XCTAssertNil(walk.problem)
        XCTAssertTrue(walk.stoppedAtPackets)
        XCTAssertEqual(walk.secrets.map(\.type), [CaptureSecrets.tlsKeyLog])
        // editcap may add a final newline; the text is what matters.
        XCTAssertEqual(String(decoding: walk.tlsKeyLogs.first ?? [], as: UTF8.self).trimmingCharacters(in: .newlines),
                       String(decoding: keyLog, as: UTF8.self).trimmingCharacters(in: .newlines))

        _ = try ChildProcess.run("/bin/gzip", ["-k", output], timeout: 60).requireExit()
        XCTAssertEqual(CaptureSecrets.read(path: output + ".gz").tlsKeyLogs, walk.tlsKeyLogs)
    }

    /// A pcap (not pcapng) and a pcapng without secrets have none, and say nothing is wrong.
    func testFilesWithoutSecretsHaveNone() throws {
        let pcap = CaptureSecrets.read(path: PackagePaths.path("Captures/nginx-cors.pcap"))
        XCTAssertEqual(pcap, CaptureSecrets.Walk())
        let pcapng = CaptureSecrets.read(path: PackagePaths.path("Captures/chromium/chromium-cors.pcapng"))
        XCTAssertTrue(pcapng.secrets.isEmpty)
        XCTAssertNil(pcapng.problem)
        XCTAssertTrue(pcapng.stoppedAtPackets)
    }

    /// A file cut inside its secrets block says so instead of returning half a key log.
    func testATruncatedSecretsBlockIsAProblem() throws {
        let keyLogPath = folder.appendingPathComponent("keys.log").path
        try Data(String(repeating: "CLIENT_RANDOM \(String(repeating: "ab", count: 32)) \(String(repeating: "cd", count: 48))\n", count: 50).utf8)
            .write(to: URL(fileURLWithPath: keyLogPath))
        let output = folder.appendingPathComponent("with-secrets.pcapng").path
        _ = try ChildProcess.run(try editcap(), ["--inject-secrets", "tls,\(keyLogPath)", PackagePaths.path("Captures/nginx-cors.pcap"), output],
                                 timeout: 60).requireExit()
        let whole = try Data(contentsOf: URL(fileURLWithPath: output))
        let cut = folder.appendingPathComponent("cut.pcapng")
        try whole.prefix(400).write(to: cut)
        let walk = CaptureSecrets.read(path: cut.path)
        XCTAssertTrue(walk.secrets.isEmpty)
        XCTAssertEqual(walk.problem, "truncated decryption secrets block")
    }
}

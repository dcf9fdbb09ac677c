import CorscopeHAR
import CorscopeHTTP
import Foundation
@_exported import CorscopeTestSupport
import XCTest

/// The public HAR files live next to the repository (../shared/public-captures), never inside it.
enum PublicHARs {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // CorscopeHARTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/public-captures")

    /// The path of a public HAR, or a visible skip when it is not there.
    static func path(_ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("public HAR \(name) not found in \(directory.path): run with ../shared/public-captures present")
        }
        return url.path
    }

    /// Every `.har` in the folder, or a visible skip.
    static func all() throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw XCTSkip("public captures folder \(directory.path) not found: HAR tests on real files skipped")
        }
        let hars = names.filter { $0.hasSuffix(".har") }.sorted().map { directory.appendingPathComponent($0).path }
        if hars.isEmpty { throw XCTSkip("no .har files in \(directory.path)") }
        return hars
    }
}

/// Everything one read produced.
struct HARRead {
    var exchanges: [HTTPExchange]
    var outcome: HARReadOutcome
    var metadata: HARLogMetadata
    var statistics: HARReadStatistics
}

func readHAR(_ path: String, configuration: HARReaderConfiguration = .init()) throws -> HARRead {
    let reader = try HARReader(path: path, configuration: configuration)
    var exchanges: [HTTPExchange] = []
    let outcome = reader.forEachExchange { exchanges.append($0) }
    return HARRead(exchanges: exchanges, outcome: outcome, metadata: reader.metadata, statistics: reader.statistics)
}

/// Temporary files of this test process, in one folder removed by `removeAll()`.
enum TemporaryFiles {
    static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("corscope-har-tests-\(ProcessInfo.processInfo.processIdentifier)")

    static func removeAll() { try? FileManager.default.removeItem(at: directory) }
}

/// Writes `bytes` (or text) to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], name: String = "test.har") throws -> String {
    let folder = TemporaryFiles.directory.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

func temporaryFile(_ text: String, name: String = "test.har") throws -> String {
    try temporaryFile(Array(text.utf8), name: name)
}

/// Runs python3 with `script` (reading the file named in argv[1]) and returns its stdout, or a
/// visible skip when python3 is not installed.
func python(_ script: String, _ arguments: [String]) throws -> String {
    let candidates = ["/usr/bin/python3", "/usr/local/bin/python3"]
    guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("python3 not installed: cross-check with Python's json module skipped")
    }
    let outcome = try ChildProcess.run(executable, ["-c", script] + arguments, timeout: 300)
    guard outcome.exitStatus == 0 else {
        XCTFail("python3 on \(arguments): \(outcome.summary)")
        return ""
    }
    return outcome.stdout
}


import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
import CorscopeReports
import CorscopeTestSupport
import CorscopeVerdicts
import Foundation
import XCTest

/// Shared by the report tests: real exchanges from the bundled captures, reports built the way
/// `corscope analyze` builds them, and helpers to run the Python checkers and the binary.
enum Support {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func capture(_ name: String) -> String { packageRoot.appendingPathComponent("Captures/" + name).path }

    /// Every exchange of a bundled capture, in the order the pipeline emits them.
    /// The exchanges of a capture or a HAR file, in order.
    static func exchanges(_ name: String) throws -> [HTTPExchange] {
        var exchanges: [HTTPExchange] = []
        for source in ExchangeSources(paths: [capture(name)]).sources {
            _ = try source.read { exchanges.append($0) }
        }
        return exchanges
    }

    static func report(_ exchanges: [HTTPExchange], redact: Bool = true, profile: BrowserProfile = .chromium,
                       inputs: [String] = ["test"]) -> CORSReport {
        var options = ReportBuilder.Options()
        options.redact = redact
        options.profile = profile
        options.inputs = inputs
        let builder = ReportBuilder(options: options)
        let judge = ExchangeJudge(profile: profile)
        for exchange in exchanges { judge.judge(exchange).forEach(builder.add) }
        judge.finish().forEach(builder.add)
        return builder.finish()
    }

    static func report(capture name: String, redact: Bool = true, profile: BrowserProfile = .chromium) throws -> CORSReport {
        report(try exchanges(name), redact: redact, profile: profile, inputs: [name])
    }

    /// Header fields with `set` replacing any field of the same name (or appended), `remove` dropped.
    static func fields(_ fields: HTTPHeaderFields, set: [(String, String)] = [], add: [(String, String)] = [],
                       remove: [String] = []) -> HTTPHeaderFields {
        let replaced = Set((set.map(\.0) + remove).map { $0.lowercased() })
        var pairs = fields.pairs.filter { !replaced.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        pairs += set
        pairs += add
        return HTTPHeaderFields(pairs)
    }

    static func exchange(_ exchanges: [HTTPExchange], method: String, target: String) throws -> HTTPExchange {
        try XCTUnwrap(exchanges.first { $0.request?.head.method == method && $0.request?.head.target == target },
                      "\(method) \(target) not in the capture")
    }

    static func temporaryFile(_ bytes: [UInt8], suffix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-report-\(UUID().uuidString)\(suffix)")
        try Data(bytes).write(to: url)
        return url
    }

    /// How a run ended: status, stdout, stderr (see `ChildOutcome`).
    typealias Run = ChildOutcome

    /// Runs a program from the package root to its end. One still running after `timeout`
    /// seconds is killed and reaped, and the call throws saying so (as it does for a crash), so
    /// no status is ever read from a child that did not exit.
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> Run {
        try ChildProcess.run(executable, arguments, currentDirectory: packageRoot, timeout: timeout).requireExit()
    }

    /// Runs a Python snippet with the file as `sys.argv[1]`; fails the test with its stderr.
    static func python(_ script: String, file: URL, line: UInt = #line) throws {
        let result = try run("/usr/bin/env", ["python3", "-c", script, file.path])
        XCTAssertEqual(result.status, 0, "python check failed:\n\(result.stderr)\(result.stdout)", line: line)
    }

    struct BinaryNotBuilt: Error, CustomStringConvertible {
        var looked: [String]
        var description: String { "corscope is not built beside the tests (looked in \(looked)): `swift build --build-tests` builds it" }
    }

    /// The `corscope` built beside this test bundle.
    static func binary() throws -> String {
        let bundle = Bundle(for: BundleMarker.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("corscope").path }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BinaryNotBuilt(looked: candidates)
        }
        return found
    }

    private final class BundleMarker {}
}

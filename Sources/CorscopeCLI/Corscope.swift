import ArgumentParser
import CorscopeCapture
#if canImport(Glibc)
import Glibc
#endif

/// The `corscope` command: reads like its `--help`.
public struct Corscope: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "corscope",
        abstract: "Find the cross-origin requests a browser blocked, and why, from recorded or live HTTP traffic.",
        discussion: """
            Reads pcap and pcapng captures (also gzip-compressed), HAR files, or a live interface; \
            reassembles TCP streams into HTTP/1.x exchanges and judges them like a browser would. \
            Secrets are redacted in every output unless --no-redact.

            Exit status: 0 nothing matched --fail-on (or nothing to report), 1 something did, \
            2 an error (an unreadable input, an unwritable output, a command line that does not parse).
            """,
        version: CorscopeVersion.line,
        subcommands: [AnalyzeCommand.self, DiffCommand.self, ExchangesCommand.self, MergeCommand.self, WatchCommand.self]
    )

    public init() {}

    /// Runs the command line and exits like grep: 0, 1 (findings matched `--fail-on`), 2 (an
    /// error; a command line that does not parse included, where argument-parser alone would
    /// exit 64).
    public static func runAndExit() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            exit()
        } catch {
            if exitCode(for: error) == .validationFailure {
                let text = Array((fullMessage(for: error) + "\n").utf8)
                _ = text.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

public enum CorscopeVersion: BuildCommitStamped {
    public static let current = "0.1.0"

    /// What `corscope --version` prints: the version, the commit it was built from, and the
    /// libpcap and zlib it runs with, e.g. `corscope 0.1.0 (commit abc1234), libpcap version
    /// 1.10.3 (with TPACKET_V3), zlib 1.2.13`.
    public static var line: String { "corscope \(current) (commit \(commit)), \(CaptureLibraries.versions)" }
}

/// The commit a binary was built from. `scripts/build-info.sh` (run by every `make` target that
/// builds) writes `BuildCommit.generated.swift` beside this file (gitignored), declaring
/// `CorscopeVersion.commit`; a member of the type itself wins over this protocol's default, so a
/// plain `swift build` without that file still compiles and says "unknown".
public protocol BuildCommitStamped {}

extension BuildCommitStamped {
    public static var commit: String { "unknown" }
}

import CorscopeTestSupport
import Foundation
import XCTest

/// `make install`, end to end, without a second (release) build: `make install-files` puts the
/// corscope built beside this test bundle and the man page `make test` generated for it
/// (`corscope.1` beside the binary, from argument-parser's GenerateManual plugin and
/// scripts/man.sh) into a temporary DESTDIR, exactly as `make install` does with the release
/// build; then the installed files are checked and `make uninstall` removes them.
final class InstallTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built corscope and its man page.
    func builtFiles() throws -> (binary: URL, manPage: URL) {
        let bundle = Bundle(for: InstallTests.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("corscope") }
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("corscope is not built beside the tests (looked in \(candidates.map(\.path))): `make test` builds it")
        }
        let manPage = binary.deletingLastPathComponent().appendingPathComponent("corscope.1")
        guard FileManager.default.fileExists(atPath: manPage.path) else {
            throw XCTSkip("no man page beside \(binary.path): `make test` generates it (scripts/man.sh) before the tests run")
        }
        return (binary, manPage)
    }

    func make(_ arguments: [String]) throws -> ChildOutcome {
        try ChildProcess.run("/usr/bin/env", ["make", "--no-print-directory", "-s"] + arguments,
                             currentDirectory: Self.packageRoot, timeout: 60).requireExit()
    }

    func shell(_ program: String, _ arguments: [String]) throws -> ChildOutcome {
        try ChildProcess.run("/usr/bin/env", [program] + arguments, currentDirectory: Self.packageRoot, timeout: 30).requireExit()
    }

    /// A rendered page without its overstrikes (bold is "X\bX", underline "_\bX").
    static func plain(_ rendered: String) -> String {
        rendered.replacingOccurrences(of: ".\u{8}", with: "", options: .regularExpression)
    }

    /// The first command of the README's Use block, without its comment.
    static func firstReadmeExample() throws -> String {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.components(separatedBy: "\n")
        let use = try XCTUnwrap(lines.firstIndex(of: "## Use"), "README.md has no Use section")
        let fence = try XCTUnwrap(lines[use...].firstIndex { $0.hasPrefix("```") })
        let first = lines[fence + 1]
        let command = first.range(of: #"\s+# "#, options: .regularExpression).map { String(first[..<$0.lowerBound]) } ?? first
        return command
    }

    static func installed(_ program: String) -> Bool {
        ["/usr/bin", "/bin", "/usr/local/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }

    func testInstallPutsBinaryManPageAndCompletionsUnderPrefixAndUninstallRemovesThem() throws {
        let (binary, manPage) = try builtFiles()
        let destdir = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: destdir) }
        let prefix = destdir.path + "/usr/local"
        let location = ["DESTDIR=\(destdir.path)", "PREFIX=/usr/local"]

        assertExit(try make(["install-files", "BIN=\(binary.path)", "MAN=\(manPage.path)"] + location))

        let files = [
            "bin/corscope", "share/man/man1/corscope.1", "share/bash-completion/completions/corscope",
            "share/zsh/site-functions/_corscope", "share/fish/vendor_completions.d/corscope.fish",
        ].map { prefix + "/" + $0 }
        for file in files {
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), "\(file) was not installed")
        }
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: files[0]))

        // --version: the version, the commit, libpcap's and zlib's own version strings.
        let version = try ChildProcess.run(files[0], ["--version"], timeout: 30).requireExit()
        assertExit(version)
        let line = version.stdout.trimmingCharacters(in: .newlines)
        let pattern = #"^corscope [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7,}(-dirty)?|unknown)\), libpcap version [0-9][^,]*, zlib [0-9]+\.[0-9]+"#
        XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), "--version printed: \(line)")
        XCTAssertFalse(line.contains("\n"), "--version prints one line: \(line)")

        // The man page: the plugin's sections plus corscope's EXIT STATUS and EXAMPLES.
        let page = try String(contentsOfFile: files[1], encoding: .utf8)
        XCTAssertTrue(page.hasPrefix(#".\" "Generated by swift-argument-parser""#), "not the GenerateManual plugin's page")
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            XCTAssertTrue(page.contains("\n.Sh \(section)\n") || page.contains("\n.Sh \"\(section)\"\n"), "no \(section) section")
        }
        XCTAssertFalse(page.contains(".Ex -std"), "the plugin's generic exit status was not replaced")
        for status in ["0", "1", "2"] { XCTAssertTrue(page.contains("\n.It \(status)\n"), "exit status \(status) is not described") }
        XCTAssertTrue(page.contains(try Self.firstReadmeExample()), "the README's examples are missing")
        XCTAssertTrue(page.contains(".It Fl -write-pcap Ar file"), "the options are missing")
        if Self.installed("mandoc") {
            assertExit(try shell("mandoc", ["-T", "lint", "-W", "error", files[1]]), 0, "mandoc finds errors in the man page")
            let rendered = try shell("mandoc", ["-T", "utf8", files[1]])
            assertExit(rendered)
            let text = Self.plain(rendered.stdout)
            XCTAssertTrue(text.contains("EXIT STATUS") && text.contains("EXAMPLES"), text)
        } else if Self.installed("man") {
            let rendered = try ChildProcess.run("/usr/bin/env", ["MANWIDTH=80", "man", "-l", files[1]], timeout: 30).requireExit()
            assertExit(rendered)
            let text = Self.plain(rendered.stdout)
            XCTAssertTrue(text.contains("EXIT STATUS") && text.contains("EXAMPLES"), text)
        }

        // bash: the script registers, and a file argument completes to file names.
        let bash = try shell("bash", ["-c", """
            source "$1" && complete -p corscope || exit 1
            cd Captures
            COMP_WORDS=(corscope analyze nginx-c); COMP_CWORD=2; COMP_LINE="corscope analyze nginx-c"; COMP_POINT=${#COMP_LINE}
            _corscope corscope nginx-c analyze; echo "analyze: ${COMPREPLY[*]}"
            COMP_WORDS=(corscope watch --write-pcap nginx-c); COMP_CWORD=3; COMP_LINE="corscope watch --write-pcap nginx-c"; COMP_POINT=${#COMP_LINE}
            COMPREPLY=(); _corscope corscope nginx-c --write-pcap; echo "write-pcap: ${COMPREPLY[*]}"
            """, "bash", files[2]])
        assertExit(bash, 0, bash.stderr)
        XCTAssertTrue(bash.stdout.contains("-F _corscope corscope"), bash.stdout)
        XCTAssertTrue(bash.stdout.contains("analyze: ") && bash.stdout.contains("nginx-cors.pcap"), bash.stdout)
        XCTAssertTrue(bash.stdout.split(separator: "\n").contains { $0.hasPrefix("write-pcap: ") && $0.contains("nginx-cors.pcap") },
                      bash.stdout)

        // zsh and fish: the files complete file names; they parse where those shells are installed.
        let zsh = try String(contentsOfFile: files[3], encoding: .utf8)
        XCTAssertTrue(zsh.hasPrefix("#compdef corscope"), "zsh finds completions by their #compdef line")
        XCTAssertTrue(zsh.contains("'*:file:_files'"), "zsh: the input files do not complete file names")
        let fish = try String(contentsOfFile: files[4], encoding: .utf8)
        XCTAssertTrue(fish.contains("-F"), "fish: no argument completes file names")
        if Self.installed("zsh") { assertExit(try shell("zsh", ["-n", files[3]]), 0, "zsh cannot parse _corscope") }
        if Self.installed("fish") { assertExit(try shell("fish", ["--no-execute", files[4]]), 0, "fish cannot parse corscope.fish") }

        assertExit(try make(["uninstall"] + location))
        for file in files {
            XCTAssertFalse(FileManager.default.fileExists(atPath: file), "\(file) is still there after make uninstall")
        }
    }

    func testInstallFilesRefusesAMissingBinary() throws {
        let outcome = try ChildProcess.run("/usr/bin/env", ["make", "--no-print-directory", "-s", "install-files",
                                                            "BIN=/nonexistent/corscope", "MAN=/nonexistent/corscope.1",
                                                            "DESTDIR=/nonexistent-destdir"],
                                           currentDirectory: Self.packageRoot, timeout: 60).requireExit()
        XCTAssertNotEqual(outcome.exitStatus, 0)
        XCTAssertTrue(outcome.stderr.contains("is not an executable"), outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/nonexistent-destdir"))
    }
}

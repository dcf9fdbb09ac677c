import ArgumentParser
import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
import CorscopeReports
import CorscopeVerdicts

#if canImport(Glibc)
import Glibc
#endif

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Report which cross-origin requests were blocked, why, which layer caused it, and where a cache can mix up origins.",
        discussion: """
            Groups blocked requests per page origin, reason and endpoint (/users/123 → /users/{id}), \
            shows the browser's console message, the layer most likely at fault with the evidence, \
            and the configuration that fixes it; finds responses a shared cache can serve to the \
            wrong origin. Secrets (cookies, Authorization, tokens) are redacted unless --no-redact. \
            The JSON format is described by docs/report.schema.json.

            Exit status, like grep's: 0 when nothing matched --fail-on, 1 when something did \
            (default: a request was blocked), 2 on an error: an input could not be read (missing, \
            not a capture, not a HAR, a HAR with no entries) or the report could not be written. \
            When some inputs were read and others not, the report covers the ones read and lists \
            the others under "Not read"; when none was read, no report is written.
            """
    )

    @Option(name: .long, help: "markdown, html, json, sarif or junit.")
    var format: ReportFormatChoice = .markdown

    @Option(name: [.customShort("o"), .long], help: "Write the report to this file instead of standard output.", completion: .file())
    var output: String?

    @Option(name: .long, help: "Exit with status 1 when: blocked (any request blocked), warning (anything blocked or any warning or cache finding), never.")
    var failOn: FailOnChoice = .blocked

    @Option(name: .long, help: "Whose CORS rules to apply and whose console messages to add to Chromium's: chromium, firefox or safari.")
    var browser: BrowserChoice = .chromium

    @OptionGroup var redaction: RedactionOptions

    @Option(name: .customLong("max-groups"), help: ArgumentHelp("Show only the N largest blocked groups (the counts stay whole; the rest are counted in one line).", valueName: "n"))
    var maxGroups: Int?

    @Flag(help: "One line per blocked group and cache finding (Markdown and HTML): a report that fits a GitHub issue or a Jira comment.")
    var summary = false

    @Flag(name: .customLong("details"), inversion: .prefixedNo,
          help: "Fold configuration and example exchanges in <details> in Markdown (GitHub renders it); --no-details for Jira and other trackers that show HTML tags as text.")
    var details = true

    @Flag(name: .customLong("progress"), inversion: .prefixedNo,
          help: "Show a progress bar on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    @OptionGroup var input: InputOptions

    func run() throws {
        let started = Terminal.monotonicSeconds()
        var options = ReportBuilder.Options()
        options.redact = redaction.redacts
        options.profile = browser.profile
        let files = input.paths
        let selection = input.selection.selection
        options.inputs = files
        let builder = ReportBuilder(options: options)
        let judge = ExchangeJudge(profile: browser.profile)
        let (configuration, keyLogProblems) = try input.configured(.init(), judges: true)
        let (inputs, inputBytes) = Self.sources(for: files, configuration: configuration)
        let sources = inputs.sources
        let showProgress = progress ?? Terminal.stderrIsTerminal
        var unread: [String] = []
        var warned: [String] = keyLogProblems.map { "key log: \($0)" }
        for problem in keyLogProblems { Terminal.warn("warning: key log: \(problem)") }
        for source in sources {
            let bar = showProgress ? ProgressBar(label: source.name) : nil
            inputs.progress = bar.map { bar in
                { consumed, total in bar.update(consumed: consumed, total: total, exchanges: inputs.statistics.exchanges) }
            }
            defer { bar?.clear() }
            do {
                let outcome = try source.readConcurrently { exchange in
                    if selection.admits(exchange) { judge.judge(exchange, deliver: builder.add) }
                }
                if case .partial(let message) = outcome {
                    warned.append("\(source.name): \(message)")
                    Terminal.warn("warning: \(source.name): \(message)")
                }
            } catch {
                let message = Terminal.naming(source.name, error)
                unread.append(message)
                Terminal.warn("error: " + message)
            }
        }
        guard unread.count < sources.count else {
            Terminal.warn("error: no input could be read; no report written")
            throw ExitCode(2)
        }
        judge.finish().forEach(builder.add)
        var report = builder.finish()
        report.unreadInputs = unread
        let seen = inputs.statistics
        for problem in seen.keyLogProblems.lines {
            warned.append("key log: \(problem)")
            Terminal.warn("warning: key log: \(problem)")
        }
        report.inputWarnings = warned
        report.notAnalysed = seen.notAnalysed.traffic
        report.skippedPackets = [
            ("of a link-layer type corscope does not decode", seen.capture.unsupportedLinkType),
            ("not IP (ARP, LLC and other link-layer protocols)", seen.capture.nonIP),
            ("IP but not TCP (UDP, ICMP, QUIC…)", seen.capture.nonTCP),
            ("malformed or cut short", seen.capture.malformed),
        ].filter { $0.1 > 0 }
        if let maxGroups { report = report.keepingLargestGroups(maxGroups) }
        report.isSummary = summary
        report.markdownFolds = details
        let bytes = format.value.render(report)
        if format == .markdown, bytes.count > CORSReport.githubIssueLimit {
            Terminal.warn("note: the report is \(bytes.count) bytes, over a GitHub issue's 65,536 characters: --summary or --max-groups N make it fit")
        }
        try Terminal.writeResult(bytes, to: output)
        let t = report.totals
        let seconds = Terminal.monotonicSeconds() - started
        let megabytes = Double(inputBytes()) / 1_000_000
        let rate = seconds > 0 ? Int(megabytes / seconds) : 0
        Terminal.warn("\(files.count) file\(files.count == 1 ? "" : "s"), \(t.exchanges) exchanges: \(t.passed) passed, \(t.blocked) blocked in \(report.origins.reduce(0) { $0 + $1.groups.count }) groups, \(t.undecidable) undecidable, \(t.warnings) warnings, \(report.cacheFindings.count) cache findings\(NotAnalysedText.summary(report.notAnalysed))\(redaction.redacts ? "" : " (NOT redacted)") in \(Int(seconds * 1000) / 1000).\(Int(seconds * 1000) % 1000 / 100) s (\(rate) MB/s)")
        if !unread.isEmpty { throw ExitCode(2) }
        if report.meets(failOn.value) { throw ExitCode(1) }
    }

    /// The inputs as `ExchangeSource`s (captures and HARs, told apart by content in
    /// `ExchangeSources`), configured for reports.
    static func sources(for files: [String], configuration: ExchangePipeline.Configuration = .init())
        -> (sources: ExchangeSources, inputBytes: () -> Int64) {
        // Reports never show bodies: keeping none saves a copy of every body. Error answers keep
        // their first KiB: the layer inference recognises proxies, CDNs and gateways by their
        // error pages.
        var configuration = configuration
        configuration.http.keptBodyBytes = 0
        configuration.http.keptErrorBodyBytes = 1024
        let inputs = ExchangeSources(paths: files, configuration: configuration)
        return (inputs, { inputs.bytesRead })
    }
}

enum ReportFormatChoice: String, ExpressibleByArgument, CaseIterable {
    case markdown, html, json, sarif, junit
    var value: ReportFormat { ReportFormat(rawValue: rawValue)! }
}

enum FailOnChoice: String, ExpressibleByArgument, CaseIterable {
    case blocked, warning, never
    var value: FailCondition { FailCondition(rawValue: rawValue)! }
}

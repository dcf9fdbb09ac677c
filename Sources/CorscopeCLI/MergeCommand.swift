import ArgumentParser
import CorscopeReports
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine JSON reports (of other files, hosts, or watch snapshots) into one report, as if one run had read everything.",
        discussion: """
            Reads corscope.report/1 JSON reports (analyze --format json, watch --output … --format \
            json) and writes one report in any format. Counts add up; groups and findings with the \
            same id combine (first and last seen, the first part's example, the first evidence ids); \
            exchange ids are qualified by their input (file#id). The merge is associative and \
            commutative: merging merged reports gives the same result. Not recoverable from \
            reports: a cache finding or a preflight pairing whose two exchanges were in different parts.

            Exit status as analyze: 0, 1 when the merged report meets --fail-on, 2 when a report \
            cannot be read (it names the file and the field) or the reports were judged with \
            different browsers' rules.
            """
    )

    @Argument(help: ArgumentHelp("corscope.report/1 JSON reports.", valueName: "report.json"), completion: .file())
    var reports: [String] = []

    @Option(name: .long, help: "markdown, html, json, sarif or junit.")
    var format: ReportFormatChoice = .markdown

    @Option(name: [.customShort("o"), .long], help: "Write the report to this file instead of standard output.", completion: .file())
    var output: String?

    @Option(name: .long, help: "Exit with status 1 when: blocked, warning, never.")
    var failOn: FailOnChoice = .blocked

    @Option(name: .customLong("max-groups"), help: ArgumentHelp("Show only the N largest blocked groups.", valueName: "n"))
    var maxGroups: Int?

    @Flag(help: "One line per blocked group and cache finding (Markdown and HTML).")
    var summary = false

    @Flag(name: .customLong("details"), inversion: .prefixedNo, help: "Fold configuration and examples in <details> in Markdown.")
    var details = true

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("give the JSON reports to merge") }
    }

    func run() throws {
        var parts: [CORSReport] = []
        for path in reports {
            guard let data = FileManager.default.contents(atPath: path) else {
                Terminal.warn("error: \(path): cannot read it")
                throw ExitCode(2)
            }
            do {
                parts.append(try ReportReader.read([UInt8](data)))
            } catch {
                Terminal.warn("error: \(path): \(error)")
                throw ExitCode(2)
            }
        }
        var report: CORSReport
        do {
            report = try ReportMerge.merge(parts)
        } catch {
            Terminal.warn("error: \(error)")
            throw ExitCode(2)
        }
        if let maxGroups { report = report.keepingLargestGroups(maxGroups) }
        report.isSummary = summary
        report.markdownFolds = details
        let bytes = format.value.render(report)
        try Terminal.writeResult(bytes, to: output)
        let t = report.totals
        Terminal.warn("merged \(parts.count) reports: \(t.exchanges) exchanges, \(t.passed) passed, \(t.blocked) blocked in \(report.origins.reduce(0) { $0 + $1.groups.count }) groups, \(report.cacheFindings.count) cache findings")
        if report.meets(failOn.value) { throw ExitCode(1) }
    }
}

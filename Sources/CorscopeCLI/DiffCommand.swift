import ArgumentParser
import CorscopeCapture
import CorscopeExchanges
import CorscopeReports
import CorscopeVerdicts

#if canImport(Glibc)
import Glibc
#endif

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the same traffic captured at two points (before and after a proxy, CDN or gateway): which layer added, removed, duplicated or changed CORS headers, or answered by itself.",
        discussion: """
            NEAR is the point nearer the browser (the client side of a load balancer, a CDN edge), \
            FAR the one nearer the application (its host, nginx's upstream side). Each is one file, \
            or with --label NAME=FILE[,FILE…] (twice: near first) a labelled set of captures and \
            HAR files. Exchanges are matched by a request id both points carry (X-Request-Id, \
            traceparent, X-Amzn-Trace-Id…), else by method, path and query, Origin, \
            Access-Control-Request-Method and body size within --window seconds, after estimating \
            the clock offset between the captures; HTTP/2 and HTTP/1 match by their normalised fields. \
            Secrets are redacted unless --no-redact.

            Exit status: 0 when no verdict differs between the points and nothing the near point \
            alone saw was blocked, 1 otherwise (--fail-on never: 0), 2 on an error.
            """
    )

    @Argument(help: ArgumentHelp("The near capture or HAR, then the far one (or use --label twice).", valueName: "file"), completion: .file())
    var files: [String] = []

    @Option(name: .customLong("label"), help: ArgumentHelp("A labelled point: NAME=FILE[,FILE…] (twice, near first), e.g. --label edge=lb.pcap --label app=app.pcap.", valueName: "name=files"))
    var labels: [String] = []

    @Option(name: .customLong("near-filter"), help: ArgumentHelp("Keep only the near point's packets this tcpdump-syntax filter matches: with --far-filter, both points can come from one capture taken on the proxy's host (e.g. \"tcp port 443\" and \"tcp port 8080\").", valueName: "bpf"))
    var nearFilter: String?

    @Option(name: .customLong("far-filter"), help: ArgumentHelp("Keep only the far point's packets this filter matches.", valueName: "bpf"))
    var farFilter: String?

    @Option(name: .long, help: "markdown, html, json, sarif or junit.")
    var format: DiffFormatChoice = .markdown

    @Option(name: [.customShort("o"), .long], help: "Write the diff to this file instead of standard output.", completion: .file())
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Largest time between the two sightings of one exchange, after the clock offset.", valueName: "seconds"))
    var window: Double = 5

    @Option(name: .long, help: "Exit with status 1 when: verdict (a verdict differs, or a request only the near point saw was blocked), never.")
    var failOn: DiffFailOn = .verdict

    @Option(name: .long, help: "Whose CORS rules to apply: chromium, firefox or safari.")
    var browser: BrowserChoice = .chromium

    @OptionGroup var redaction: RedactionOptions
    @OptionGroup var tls: TLSKeyLogOptions

    /// (near, far): each a label and its files.
    func points() throws -> [(label: String, files: [String])] {
        if !labels.isEmpty {
            guard files.isEmpty else { throw ValidationError("give the two points either as two files or with --label twice, not both") }
            guard labels.count == 2 else { throw ValidationError("--label is given twice: the near point, then the far one") }
            return try labels.map { spec in
                guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                    throw ValidationError("--label \(spec): expected NAME=FILE[,FILE…]")
                }
                let list = spec[spec.index(after: equals)...].split(separator: ",").map(String.init)
                guard !list.isEmpty else { throw ValidationError("--label \(spec): no file") }
                return (String(spec[..<equals]), list)
            }
        }
        guard files.count == 2 else { throw ValidationError("give two inputs: the near point (browser side), then the far one (application side)") }
        return [("near", [files[0]]), ("far", [files[1]])]
    }

    func validate() throws {
        _ = try points()
        guard window > 0 else { throw ValidationError("--window must be positive") }
        for (name, filter) in [("--near-filter", nearFilter), ("--far-filter", farFilter)] {
            if let filter, let reason = CaptureFileReader.filterSyntaxError(filter) {
                throw ValidationError("\(name) '\(filter)': \(reason)")
            }
        }
    }

    func run() throws {
        let points = try points()
        var options = TwoPointDiffBuilder.Options()
        options.nearLabel = points[0].label
        options.farLabel = points[1].label
        options.nearInputs = points[0].files
        options.farInputs = points[1].files
        options.redact = redaction.redacts
        options.window = window
        let builder = TwoPointDiffBuilder(options: options)
        let (keys, keyProblems) = try tls.keyStore()
        for problem in keyProblems { Terminal.warn("warning: key log: \(problem)") }
        var configuration = ExchangePipeline.Configuration()
        configuration.tlsKeys = keys
        for (index, point) in points.enumerated() {
            let side: TwoPointDiffBuilder.Side = index == 0 ? .near : .far
            // Each point is judged on its own: a preflight pairs with its request at the same point.
            let judge = ExchangeJudge(profile: browser.profile)
            var pointConfiguration = configuration
            pointConfiguration.packetFilter = side == .near ? nearFilter : farFilter
            let (inputs, _) = AnalyzeCommand.sources(for: point.files, configuration: pointConfiguration)
            for source in inputs.sources {
                do {
                    let outcome = try source.readConcurrently { exchange in
                        judge.judge(exchange) { builder.add($0, side: side) }
                    }
                    if case .partial(let message) = outcome { Terminal.warn("warning: \(point.label): \(source.name): \(message)") }
                } catch {
                    Terminal.warn("error: \(point.label): " + Terminal.naming(source.name, error))
                    throw ExitCode(2)
                }
            }
            judge.finish().forEach { builder.add($0, side: side) }
        }
        let diff = builder.finish()
        let bytes = format.value.render(diff)
        try Terminal.writeResult(bytes, to: output)
        let t = diff.totals
        Terminal.warn("\(points[0].label): \(t.nearExchanges) exchanges, \(points[1].label): \(t.farExchanges); \(t.matched) matched, \(t.changed) changed, \(t.verdictChanged) with another verdict, \(t.onlyNear) only at \(points[0].label), \(t.onlyFar) only at \(points[1].label)")
        if failOn == .verdict && diff.groups.contains(where: \.isFailure) { throw ExitCode(1) }
    }
}

enum DiffFormatChoice: String, ExpressibleByArgument, CaseIterable {
    case markdown, html, json, sarif, junit
    var value: DiffFormat { DiffFormat(rawValue: rawValue)! }
}

enum DiffFailOn: String, ExpressibleByArgument, CaseIterable {
    case verdict, never
}

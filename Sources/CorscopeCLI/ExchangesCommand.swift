import ArgumentParser
import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopeRedaction
import CorscopeVerdicts
import BrowserRules

#if canImport(Glibc)
import Glibc
#endif

struct ExchangesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchanges",
        abstract: "List the HTTP/1.x exchanges reassembled from captures.",
        discussion: """
            One line per exchange; with --json, one JSON object per line (NDJSON, documented in \
            docs/exchange-json.md). A truncated capture is analysed up to the cut, with a warning; \
            a file that cannot be read (missing, not a capture, not a HAR, a HAR with no entries) is \
            an error and the other files are still read. Secrets are redacted unless --no-redact.

            Exit status: 0 when every input was read, 2 when one could not be.
            """
    )

    @Flag(name: .long, help: "Print NDJSON: one object per exchange.")
    var json = false

    @Flag(name: .long, help: "Run the whole pipeline but print only the counts.")
    var stats = false

    @Flag(name: .customLong("progress"), inversion: .prefixedNo,
          help: "Show a progress bar on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    @Flag(name: .customLong("cors"), inversion: .prefixedNo,
          help: "Judge every exchange with the browser rules (the `cors` object in --json). --no-cors exports the exchanges alone, faster.")
    var cors = true

    @Option(name: .long, help: "Whose CORS rules and console messages to apply: chromium, firefox or safari.")
    var browser: BrowserChoice = .chromium

    @Option(name: .long, help: "Bytes of each body kept (decoded) for analysis.")
    var keptBodyBytes = HTTPConfiguration().keptBodyBytes

    @OptionGroup var redaction: RedactionOptions

    @OptionGroup var input: InputOptions

    func run() throws {
        let output = OutputBuffer()
        var json = JSONWriter(capacity: 1 << 16)
        let files = input.paths
        let selection = input.selection.selection
        var (configuration, keyLogProblems) = try input.configured(ExchangePipeline.Configuration(), judges: !stats)
        for problem in keyLogProblems { Terminal.warn("warning: key log: \(problem)") }
        configuration.http.keptBodyBytes = keptBodyBytes
        let printEach = !stats
        let asJSON = self.json
        let profile = browser.profile
        let judge = ExchangeJudge(profile: profile)
        let judgeEach = cors
        let redactor = redaction.makeRedactor()
        let emitPlain = { (exchange: HTTPExchange) in
            if asJSON {
                ExchangeJSON.write(exchange, to: &json, redactor: redactor)
                json.newline()
                if json.bytes.count >= 1 << 16 {
                    output.write(json.bytes)
                    json.removeAll()
                }
            } else {
                output.write(ExchangeLine.format(exchange, redactor: redactor))
            }
        }
        let verdictTexts = VerdictJSONCache(profile: profile, redactor: redactor)
        let render = { (judged: JudgedExchange) in
            if asJSON {
                ExchangeJSON.write(judged.exchange, to: &json, redactor: redactor) { json in
                    VerdictJSON.write(judged, profile: profile, to: &json, cache: verdictTexts)
                }
                json.newline()
                if json.bytes.count >= 1 << 16 {
                    output.write(json.bytes)
                    json.removeAll()
                }
            } else {
                output.write(ExchangeLine.format(judged, redactor: redactor))
            }
        }
        // Judged exchanges are rendered on a thread of their own (the redactor, the verdict texts
        // and the output are that thread's until `finish`): reading, judging and writing each
        // take a core where there are three, and writing no longer waits for judging.
        let writer = printEach && judgeEach ? BatchConsumer<JudgedExchange>(name: "corscope-write", consume: render) : nil
        let emit = { (judged: JudgedExchange) in writer?.submit(judged) }
        // The counts are the pipeline's; verdict counts come from `analyze`, so --stats
        // measures the pipeline alone.
        let inputs = ExchangeSources(paths: files, configuration: configuration)

        let started = Terminal.monotonicSeconds()
        let showProgress = progress ?? Terminal.stderrIsTerminal
        var failures = 0
        var warnings = 0
        for source in inputs.sources {
            let bar = showProgress ? ProgressBar(label: source.name) : nil
            inputs.progress = bar.map { bar in
                { consumed, total in bar.update(consumed: consumed, total: total, exchanges: inputs.statistics.exchanges) }
            }
            do {
                // Counting alone (--stats) has nothing to hand to a second thread.
                let outcome = printEach
                    ? try source.readConcurrently { exchange in
                        guard selection.admits(exchange) else { return }
                        if judgeEach {
                            judge.judge(exchange) { emit($0) }
                        } else {
                            emitPlain(exchange)
                        }
                    }
                    : try source.read { _ in }
                bar?.clear()
                if case .partial(let message) = outcome {
                    warnings += 1
                    Terminal.warn("warning: \(source.name): \(message)")
                }
            } catch {
                bar?.clear()
                failures += 1
                Terminal.warn("error: " + Terminal.naming(source.name, error))
            }
        }
        for judged in judge.finish() { emit(judged) }
        writer?.finish()
        output.write(json.bytes)
        json.removeAll()

        let totals = inputs.statistics
        if stats {
            if asJSON {
                output.write(StatisticsReport.json(totals))
            } else {
                output.write(StatisticsReport.text(totals))
            }
        }
        output.flush()
        let elapsed = Terminal.monotonicSeconds() - started
        Terminal.warn(StatisticsReport.summary(totals, files: files.count, failures: failures, warnings: warnings, seconds: elapsed))
        if failures > 0 { throw ExitCode(2) }
    }
}

/// The one-line text form of an exchange.
enum ExchangeLine {
    static func format(_ judged: JudgedExchange, redactor: Redactor? = nil) -> String {
        var line = format(judged.exchange, redactor: redactor)
        line.removeLast()
        let verdict = judged.verdict
        if verdict.kind != .notCORS {
            line += "  CORS " + (judged.role == .preflight ? "preflight " : "") + verdict.kind.jsonName
            if let error = verdict.corsError { line += ": " + error.cdpName }
        }
        return line + "\n"
    }

    /// One line; with an enabled `redactor` the target's secret-looking query values read [redacted].
    static func format(_ exchange: HTTPExchange, redactor: Redactor? = nil) -> String {
        var line = ""
        let time = exchange.startTime
        line += UTCTime.format(time)
        if let har = exchange.har {
            line += "  HAR entry \(har.entryIndex) → \(har.serverAddress ?? "?")  "
        } else {
            line += "  \(exchange.connection.client) → \(exchange.connection.server)  "
        }
        if let request = exchange.request {
            line += "\(request.head.method) \(redactor.map { $0.url(request.head.target) } ?? request.head.target)"
        } else {
            line += "(request not captured)"
        }
        line += "  → "
        if let response = exchange.response {
            line += "\(response.head.status) \(response.head.reason)"
            line += "  \(response.body.wireLength) B"
        } else {
            line += "(no response)"
        }
        if exchange.missingBytes > 0 { line += "  gap \(exchange.missingBytes) B" }
        if !exchange.anomalies.isEmpty {
            line += "  [" + exchange.anomalies.map(\.rawValue).joined(separator: ",") + "]"
        }
        return line + "\n"
    }
}

/// `--browser`: a profile by engine name.
enum BrowserChoice: String, ExpressibleByArgument, CaseIterable {
    case chromium, firefox, safari

    var profile: BrowserProfile {
        switch self {
        case .chromium: return .chromium
        case .firefox: return .firefox
        case .safari: return .safari
        }
    }
}

enum UTCTime {
    /// `2026-11-22T22:01:44.123456789Z`
    static func format(_ time: Timestamp) -> String {
        var seconds = time_t(time.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(time.nanoseconds, 9))Z"
    }
}

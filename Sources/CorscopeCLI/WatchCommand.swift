import ArgumentParser
import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Capture live traffic and report the cross-origin requests a browser would block, as they happen.",
        discussion: """
            Findings (exchanges judged blocked or undecidable, or with warnings) go to --events as \
            NDJSON, one object per line in the shape of `exchanges --json` plus "event":"finding". \
            When stdout is a terminal a live per-origin view is drawn; otherwise one line per finding \
            is printed. Ctrl-C (SIGINT) or SIGTERM stops the capture, judges what is still open and \
            prints a summary with the kernel's drop counts on stderr. Needs root or CAP_NET_RAW.
            """
    )

    @Option(name: [.short, .customLong("interface")], help: ArgumentHelp("Network interface to capture on (e.g. eth0, lo).", valueName: "iface"))
    var interface: String

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("BPF capture filter in tcpdump syntax, e.g. \"tcp port 8080\".", valueName: "bpf"))
    var filter: String?

    @OptionGroup var selection: SelectionOptions

    @OptionGroup var tls: TLSKeyLogOptions

    @Option(help: ArgumentHelp("Bytes kept of each packet.", valueName: "bytes"))
    var snaplen: Int32 = LiveCapture.Configuration(interface: "").snapshotLength

    @Option(name: .customLong("buffer-size"), help: ArgumentHelp("Kernel capture buffer in MiB (bursts overflow a small one).", valueName: "MiB"))
    var bufferSize = 128

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(name: .customLong("max-exchanges"), help: ArgumentHelp("Stop capturing once this many exchanges were judged.", valueName: "n"))
    var maxExchanges: Int?

    @Option(help: ArgumentHelp("Write findings as NDJSON to this file, or - for stdout.", valueName: "file|-"), completion: .file())
    var events: String?

    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR defaults to 127.0.0.1; port 0 picks one).", valueName: "addr:port"))
    var metrics: String?

    @Flag(name: .customLong("metrics-allow-remote"), help: "Allow --metrics on a non-loopback address.")
    var metricsAllowRemote = false

    @Option(name: .customLong("write-pcap"), help: ArgumentHelp("Keep the captured packets in a ring of pcap files FILE.0 … FILE.<ring-files - 1>: evidence, as captured, secrets included (never redacted).", valueName: "file"), completion: .file())
    var writePcap: String?

    @Option(name: .customLong("ring-size"), help: ArgumentHelp("Size of one --write-pcap file in MB (10^6 bytes; fractions allowed, at least 4096 bytes).", valueName: "MB"))
    var ringSize = 100.0

    @Option(name: .customLong("ring-files"), help: ArgumentHelp("Number of --write-pcap files kept.", valueName: "n"))
    var ringFiles = 10

    @Option(name: .customLong("report-interval"), help: ArgumentHelp("Seconds between reports to --output (one more at exit).", valueName: "seconds"))
    var reportInterval = 10.0

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the report to this file every --report-interval seconds and at exit.", valueName: "path"), completion: .file())
    var output: String?

    @Option(help: ArgumentHelp("Format of --output: markdown, html, json, sarif or junit, as `analyze` writes them. Without it, --output gets the live per-origin summary as JSON.", valueName: "format"))
    var format: ReportFormatChoice?

    @Option(help: "Whose CORS rules and console messages to apply: chromium, firefox or safari.")
    var browser: BrowserChoice = .chromium

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds without packets after which a connection is closed and judged.", valueName: "seconds"))
    var idleTimeout = 60.0

    @Option(name: .customLong("max-origins"), help: ArgumentHelp("Distinct origins counted separately; the rest are counted as \"other\".", valueName: "n"))
    var maxOrigins = 1000

    @Option(name: .customLong("max-servers"), help: ArgumentHelp("Distinct servers (request authority, TLS server name or address) labelled separately in the metrics; the rest are \"other\". Series per metric stay below max-origins × max-servers × the fixed verdicts or reasons.", valueName: "n"))
    var maxServers = 50

    @Option(name: .long, help: "Bytes of each body kept (decoded) for analysis.")
    var keptBodyBytes = HTTPConfiguration().keptBodyBytes

    @OptionGroup var redaction: RedactionOptions

    func validate() throws {
        guard snaplen > 0 else { throw ValidationError("--snaplen must be positive") }
        guard bufferSize > 0 && bufferSize <= 2047 else { throw ValidationError("--buffer-size must be 1…2047 MiB") }
        guard ringSize > 0, ringFiles >= 1 else { throw ValidationError("--ring-size and --ring-files must be positive") }
        guard reportInterval > 0 else { throw ValidationError("--report-interval must be positive") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        guard maxOrigins >= 1 else { throw ValidationError("--max-origins must be at least 1") }
        guard maxServers >= 1 else { throw ValidationError("--max-servers must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let maxExchanges, maxExchanges <= 0 { throw ValidationError("--max-exchanges must be positive") }
        if let metrics {
            let address = try Self.metricsAddress(metrics)
            if !address.isLoopback && !metricsAllowRemote {
                throw ValidationError("--metrics \(metrics) is not a loopback address; add --metrics-allow-remote to expose metrics to other machines")
            }
        }
    }

    func run() throws {
        let capture: LiveCapture
        do {
            var configuration = LiveCapture.Configuration(interface: interface, filter: filter)
            configuration.snapshotLength = snaplen
            configuration.bufferSize = Int32(bufferSize) << 20
            capture = try LiveCapture(configuration: configuration)
        } catch {
            Terminal.warn("error: \(error)")
            throw ExitCode(1)
        }
        if let warning = capture.activationWarning { Terminal.warn("warning: \(interface): \(warning)") }

        let ring: PcapRingWriter?
        if let writePcap {
            do {
                ring = try PcapRingWriter(capture: capture, basePath: writePcap,
                                          maximumFileBytes: Int64(ringSize * 1_000_000), fileCount: ringFiles)
            } catch {
                Terminal.warn("error: --write-pcap: \(error)")
                throw ExitCode(1)
            }
        } else {
            ring = nil
        }

        let eventsDescriptor = try openEvents()
        defer { if let eventsDescriptor, eventsDescriptor != STDOUT_FILENO { close(eventsDescriptor) } }
        let liveView = isatty(STDOUT_FILENO) == 1 && events != "-"
        var pipelineConfiguration = ExchangePipeline.Configuration()
        // Key logs are followed as the browser appends a line per connection; connections whose
        // key comes after their first records are held (bounded) until it does.
        let keyLogFollower = KeyLogFollower(paths: tls.paths, store: pipelineConfiguration.tlsKeys) { problem in
            Terminal.warn("warning: key log: \(problem)")
        }
        keyLogFollower.start()
        defer { keyLogFollower.stop() }
        if !tls.paths.isEmpty { pipelineConfiguration.lateKeyWait = 2 }
        pipelineConfiguration.http.keptBodyBytes = keptBodyBytes
        pipelineConfiguration.assembler.idleTimeout = idleTimeout
        let session = WatchSession(
            browser: browser, pipelineConfiguration: pipelineConfiguration, maximumOrigins: maxOrigins, maximumServers: maxServers,
            outputs: .init(eventsDescriptor: eventsDescriptor, plainLines: !liveView && events != "-"), ring: ring,
            redactor: redaction.makeRedactor(), selection: selection.selection,
            report: format.map { ($0.value, ["interface \(interface)" + (filter.map { " (\($0))" } ?? "")]) })

        let startedAt = WallClock.seconds()
        let store = SnapshotStore(session.snapshot(interface: interface, filter: filter, startedAt: startedAt, kernel: .init()))
        var server: MetricsServer?
        if let metrics {
            do {
                server = try MetricsServer(address: Self.metricsAddress(metrics), store: store)
            } catch {
                Terminal.warn("error: \(error)")
                throw ExitCode(1)
            }
            server?.start()
        }
        defer { server?.stop() }

        let signalSources = installStopSignals(capture)
        defer { for source in signalSources { source.cancel() } }

        var announcement = "capturing on \(interface) (\(capture.linkTypeName)"
        if let filter { announcement += ", filter \"\(filter)\"" }
        announcement += ")"
        if let server { announcement += "; metrics at http://\(server.address)/metrics" }
        if let ring { announcement += "; packets to \(ring.basePath).0…\(ring.fileCount - 1)" }
        Terminal.warn(announcement + "; Ctrl-C stops")

        let loop = WatchLoop(capture: capture, session: session, store: store, liveView: liveView,
                             interface: interface, filter: filter, startedAt: startedAt,
                             duration: duration, maxExchanges: maxExchanges, reportInterval: reportInterval, output: output)
        let status = loop.run()

        let final = session.snapshot(interface: interface, filter: filter, startedAt: startedAt, kernel: capture.statistics())
        store.publish(final)
        if liveView { Terminal.writeAll(Array(WatchTerminalView.render(final).utf8), to: STDOUT_FILENO) }
        loop.report(final, final: true)
        for line in WatchSummary.lines(final) { Terminal.warn(line) }
        if status != 0 { throw ExitCode(status) }
    }

    private func openEvents() throws -> Int32? {
        guard let events else { return nil }
        if events == "-" { return STDOUT_FILENO }
        let descriptor = open(events, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            Terminal.warn("error: --events \(events): \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        return descriptor
    }

    private static func metricsAddress(_ text: String) throws -> MetricsAddress {
        do {
            return try MetricsAddress(parsing: text)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// SIGINT and SIGTERM end the capture loop instead of the process, so that open connections are
/// still judged and the summary printed; a second signal ends the process at once, for when the
/// user does not want to wait for that.
///
/// Built in a nonisolated function with `@Sendable` handlers on purpose: Dispatch runs them on a
/// global queue, and a closure inferred `@MainActor` would trip Swift 6's isolation check there.
private func installStopSignals(_ capture: LiveCapture) -> [any DispatchSourceSignal] {
    let requests = StopRequests()
    let signals = [SIGINT, SIGTERM]
    let sources: [any DispatchSourceSignal] = signals.map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { @Sendable in
            if requests.count.add(1, ordering: .relaxed).newValue > 1 { _exit(128 + signalNumber) }
            capture.breakLoop()
        }
        source.resume()
        return source
    }
    // libdispatch installs its own handler later, on another thread; until then the signal is
    // still ignored and would be lost. Wait (bounded) until it is in place, so that once watch
    // says it is capturing, Ctrl-C and SIGTERM stop it.
    let deadline = Terminal.monotonicSeconds() + 2
    while Terminal.monotonicSeconds() < deadline, signals.contains(where: isIgnored) { usleep(1000) }
    return sources
}

private func isIgnored(_ signalNumber: Int32) -> Bool {
    var current = sigaction()
    guard sigaction(signalNumber, nil, &current) == 0 else { return false }
    // Handlers are C function pointers, which Swift does not compare: compare their addresses.
    return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
}

private final class StopRequests: Sendable {
    let count = Atomic<Int>(0)
}

/// The capture loop: packets in, timers for idle flushing, metrics, the live view and reports.
final class WatchLoop {
    /// How long one wait for packets may block: the resolution of every timer below.
    static let pollInterval = 0.2
    static let idleFlushInterval = 1.0
    static let publishInterval = 0.25
    /// How often judged findings are pushed out: often enough to look immediate, rare enough
    /// that the capture and judging threads do not hand the lock back and forth per packet burst.
    static let outputFlushInterval = 0.05

    private let capture: LiveCapture
    private let session: WatchSession
    private let store: SnapshotStore
    private let liveView: Bool
    private let interface: String
    private let filter: String?
    private let startedAt: Double
    private let duration: Double?
    private let maxExchanges: Int?
    private let reportInterval: Double
    private let output: String?
    private var reportFailed = false
    /// The last screen drawn: an unchanged screen is not redrawn (redrawing clears it: flicker).
    private var lastScreen = ""

    init(capture: LiveCapture, session: WatchSession, store: SnapshotStore, liveView: Bool, interface: String,
         filter: String?, startedAt: Double, duration: Double?, maxExchanges: Int?, reportInterval: Double, output: String?) {
        self.capture = capture
        self.session = session
        self.store = store
        self.liveView = liveView
        self.interface = interface
        self.filter = filter
        self.startedAt = startedAt
        self.duration = duration
        self.maxExchanges = maxExchanges
        self.reportInterval = reportInterval
        self.output = output
    }

    /// Runs until a signal, `--duration` or `--max-exchanges`; then flushes everything. Returns
    /// the exit status (non-zero only when reading failed).
    func run() -> Int32 {
        let session = self.session
        let started = Terminal.monotonicSeconds()
        var nextIdleFlush = started + Self.idleFlushInterval
        var nextPublish = started
        var nextRedraw = started
        var nextReport = started + reportInterval
        var nextOutputFlush = started
        var status: Int32 = 0

        capturing: while true {
            let outcome = capture.dispatch(timeout: Self.pollInterval) { packet in session.handle(packet) }
            if Terminal.monotonicSeconds() >= nextOutputFlush {
                session.flushOutputs()
                nextOutputFlush = Terminal.monotonicSeconds() + Self.outputFlushInterval
            }
            switch outcome {
            case .interrupted:
                break capturing
            case .failed(let message):
                Terminal.warn("error: reading from \(interface) failed: \(message)")
                status = 1
                break capturing
            case .packets:
                break
            }
            let now = Terminal.monotonicSeconds()
            if now >= nextIdleFlush {
                session.flushIdleConnections(now: WallClock.timestamp())
                session.flushOutputs()
                nextIdleFlush = now + Self.idleFlushInterval
            }
            if let duration, now - started >= duration { break }
            if let maxExchanges, session.exchangesJudged >= maxExchanges { break }
            if now >= nextPublish || now >= nextRedraw || now >= nextReport {
                let snapshot = takeSnapshot()
                store.publish(snapshot)
                nextPublish = now + Self.publishInterval
                if liveView && now >= nextRedraw {
                    let screen = WatchTerminalView.render(snapshot)
                    if screen != lastScreen {
                        Terminal.writeAll(Array(screen.utf8), to: STDOUT_FILENO)
                        lastScreen = screen
                    }
                    nextRedraw = now + WatchTerminalView.minimumRedrawInterval
                }
                if now >= nextReport {
                    report(snapshot, final: false)
                    nextReport = now + reportInterval
                }
            }
        }
        // Packets the kernel already holds were seen before the stop: analyse them too.
        // Bounded: a busy interface never runs dry, and stopping must not wait for it to.
        if status == 0 {
            for _ in 0..<16 {
                guard case .packets(let count) = capture.drain({ packet in session.handle(packet) }), count > 0 else { break }
            }
        }
        session.finish()
        return status
    }

    /// The report hook: every `--report-interval` seconds and once at exit (see `WatchReport`).
    func report(_ snapshot: WatchSnapshot, final: Bool) {
        guard let output else { return }
        do {
            if let bytes = session.formattedReport() {
                try WatchReport.write(bytes: bytes, to: output)
            } else {
                try WatchReport.write(snapshot, final: final, to: output)
            }
        } catch {
            // A report that cannot be written must not stop the capture; say so once.
            if !reportFailed || final { Terminal.warn("warning: \(error)") }
            reportFailed = true
        }
    }

    private func takeSnapshot() -> WatchSnapshot {
        session.snapshot(interface: interface, filter: filter, startedAt: startedAt, kernel: capture.statistics())
    }
}

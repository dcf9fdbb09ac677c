import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopeRedaction
import CorscopeReports
import CorscopeVerdicts
import BrowserRules
#if canImport(Glibc)
import Glibc
#endif

/// Everything `watch` mutates while packets arrive: the pipeline, the judge, the counts and the
/// finding outputs.
///
/// Two threads share the work: the capture thread decodes, reassembles and parses (`handle`),
/// and hands each exchange to a judging thread, which runs the rules and feeds the counts, the
/// report and the finding outputs. The capture thread reads those only through `judging`'s
/// `whilePaused`; other threads see `snapshot` copies.
final class WatchSession {
    struct Outputs {
        /// NDJSON findings (`--events`): a file, or stdout for `-`.
        var eventsDescriptor: Int32?
        /// One plain line per finding on stdout (when stdout is neither the live view nor NDJSON).
        var plainLines: Bool
    }

    let profile: BrowserProfile
    private let browserName: String
    private let judge: ExchangeJudge
    private var tally: WatchTally
    private(set) var packets = 0
    private let outputs: Outputs
    private var events = JSONWriter(capacity: 1 << 16)
    private let stdout = OutputBuffer()
    private let ring: PcapRingWriter?
    private var ringFailureReported = false
    private lazy var judging = ExchangeConsumerThread { [unowned self] exchange in
        guard selection.admits(exchange) else { return }
        judge.judge(exchange) { record($0) }
    }
    /// `--origin`, `--host`, `--since`, `--until`.
    private let selection: ExchangeSelection
    private lazy var pipeline = LivePipeline(configuration: pipelineConfiguration) { [unowned self] exchange in
        judging.submit(exchange)
    }
    private let pipelineConfiguration: ExchangePipeline.Configuration

    /// The per-origin report `--output --format` rewrites, and its format (nil without --format).
    private let reportBuilder: ReportBuilder?
    private lazy var verdictTexts = VerdictJSONCache(profile: profile, redactor: redactor)
    private let reportFormat: ReportFormat?
    /// Scrubs the findings (NDJSON and plain lines); the report has its own. The capture ring
    /// (`--write-pcap`) is evidence and keeps the bytes as captured.
    private let redactor: Redactor

    init(browser: BrowserChoice, pipelineConfiguration: ExchangePipeline.Configuration, maximumOrigins: Int, maximumServers: Int = 50,
         outputs: Outputs, ring: PcapRingWriter?, redactor: Redactor, selection: ExchangeSelection = .init(),
         report: (format: ReportFormat, inputs: [String])? = nil) {
        self.redactor = redactor
        self.selection = selection
        if let report {
            var options = ReportBuilder.Options()
            options.redact = redactor.isEnabled
            options.profile = browser.profile
            options.inputs = report.inputs
            reportBuilder = ReportBuilder(options: options)
        } else {
            reportBuilder = nil
        }
        reportFormat = report?.format
        self.profile = browser.profile
        self.browserName = browser.rawValue
        self.judge = ExchangeJudge(profile: browser.profile)
        self.tally = WatchTally(maximumOrigins: maximumOrigins, maximumServers: maximumServers)
        self.pipelineConfiguration = pipelineConfiguration
        self.outputs = outputs
        self.ring = ring
    }

    /// One captured packet: kept as evidence, then analysed.
    func handle(_ packet: borrowing RawPacket) {
        packets += 1
        if let ring, let failure = ring.write(packet), !ringFailureReported {
            ringFailureReported = true
            Terminal.warn("warning: --write-pcap: \(failure); the current ring file keeps growing")
        }
        pipeline.process(packet)
    }

    /// Periodically (`WatchLoop.outputFlushInterval`) and at the end: push findings and evidence
    /// out, so a reader tailing the files is a fraction of a second behind.
    func flushOutputs() {
        judging.handOver()
        judging.whilePaused {
            if let descriptor = outputs.eventsDescriptor, !events.bytes.isEmpty {
                Terminal.writeAll(events.bytes, to: descriptor)
                events.removeAll()
            }
            stdout.flush()
        }
        ring?.flush()
    }

    /// Exchanges judged so far.
    var exchangesJudged: Int { judging.whilePaused { tally.exchanges } }

    /// Closes connections idle since `idleTimeout` before the wall-clock `now`.
    func flushIdleConnections(now: Timestamp) {
        pipeline.flushIdle(now: now)
    }

    /// End of capture: every open connection and held preflight is judged.
    func finish() {
        pipeline.finish()
        judging.finish()
        for judged in judge.finish() { record(judged) }
        flushOutputs()
    }

    func snapshot(interface: String, filter: String?, startedAt: Double, kernel: LiveCaptureStatistics) -> WatchSnapshot {
        let tally = judging.whilePaused { self.tally }
        var snapshot = WatchSnapshot(
            interface: interface, filter: filter, browser: browserName, startedAt: startedAt, takenAt: WallClock.seconds(),
            packets: packets, kernel: kernel, openConnections: pipeline.openConnections, exchanges: tally.exchanges,
            findings: tally.findings, cachePoisoningWarnings: tally.cachePoisoningWarnings, origins: tally.origins)
        let seen = pipeline.statistics
        for total in NotAnalysedText.totals(seen.notAnalysed.traffic) {
            snapshot.notAnalysed[total.kind.rawValue] = (total.connections, total.bytes)
        }
        snapshot.dropped = [
            "evicted_connections": seen.reassembly.evictedConnections,
            "gaps_forced_by_buffer_cap": seen.reassembly.gapsForcedByBufferCap,
            "pending_requests_evicted": seen.http.pendingRequestsEvicted,
            "skipped_packets.non_tcp": seen.capture.nonTCP, "skipped_packets.non_ip": seen.capture.nonIP,
            "skipped_packets.unsupported_link_type": seen.capture.unsupportedLinkType,
            "skipped_packets.malformed": seen.capture.malformed, "ip_fragments_dropped": seen.capture.ipFragmentsDropped,
        ]
        snapshot.tlsConnections = seen.tls.connections
        snapshot.tlsDecrypted = seen.tls.decryptedConnections
        snapshot.gaps = seen.reassembly.gaps
        snapshot.gapBytes = seen.reassembly.gapBytes
        snapshot.anomalies = Dictionary(uniqueKeysWithValues: seen.anomalies.map { ($0.key.rawValue, $0.value) })
        return snapshot
    }

    /// The report so far, as `analyze` would write it for the traffic seen (nil without --format).
    func formattedReport() -> [UInt8]? {
        guard let reportBuilder, let reportFormat else { return nil }
        let report = judging.whilePaused { reportBuilder.finish() }
        return reportFormat.render(report)
    }

    private func record(_ judged: JudgedExchange) {
        reportBuilder?.add(judged)
        guard tally.count(judged) else { return }
        if outputs.eventsDescriptor != nil {
            let profile = self.profile
            let verdictTexts = self.verdictTexts
            ExchangeJSON.write(judged.exchange, to: &events, redactor: redactor) { json in
                json.key("event"); json.string("finding")
                VerdictJSON.write(judged, profile: profile, to: &json, cache: verdictTexts)
            }
            events.newline()
            // Written here, by the judging thread, once large: memory stays bounded between
            // the capture thread's periodic flushes.
            if events.bytes.count >= 1 << 20, let descriptor = outputs.eventsDescriptor {
                Terminal.writeAll(events.bytes, to: descriptor)
                events.removeAll()
            }
        }
        if outputs.plainLines {
            stdout.write(FindingLine.format(judged, redactor: redactor))
        }
    }
}

/// The plain-text line of a finding: the `exchanges` line plus its warnings.
enum FindingLine {
    static func format(_ judged: JudgedExchange, redactor: Redactor? = nil) -> String {
        var line = ExchangeLine.format(judged, redactor: redactor)
        if line.hasSuffix("\n") { line.removeLast() }
        if judged.verdict.kind != .notCORS, let origin = judged.exchange.requestHead?.headers.first(named: "Origin") {
            line += "  origin \(origin)"
        }
        if !judged.verdict.warnings.isEmpty {
            line += "  warnings: " + judged.verdict.warnings.map(\.code).joined(separator: ",")
        }
        return line + "\n"
    }
}

enum WallClock {
    static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func timestamp() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(seconds: Int64(now.tv_sec), nanoseconds: Int32(now.tv_nsec))
    }
}

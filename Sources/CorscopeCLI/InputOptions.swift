import ArgumentParser
import Foundation
import CorscopeCapture
import CorscopeExchanges

/// The inputs of `analyze` and `exchanges`, as tcpdump and tshark users name them: files as
/// arguments or with -r (`-` is standard input), a packet filter with -f, and the narrowing of
/// `SelectionOptions`.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("pcap or pcapng captures (optionally gzip-compressed) and HAR files, mixed; - reads standard input (also pipes and FIFOs).", valueName: "file"), completion: .file())
    var files: [String] = []

    @Option(name: [.customShort("r"), .customLong("read")], help: ArgumentHelp("Read this file too (repeatable; as tcpdump -r).", valueName: "file"), completion: .file())
    var read: [String] = []

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("Keep only the capture packets this tcpdump-syntax filter matches, e.g. \"tcp port 8080\" (HAR files have no packets: use --host/--origin).", valueName: "bpf"))
    var filter: String?

    @Option(help: ArgumentHelp("Threads that reassemble and analyse a capture's connections, each its own share, while one more reads the file (default: one per core less the judging thread when exchanges are judged, at least 1, at most 8; 1: reassembly on the reading thread). The output is the same for any number.", valueName: "n"))
    var workers: Int?

    /// One worker per core but for the judging thread's, when exchanges are judged (`judges`).
    /// On two cores that is two for `exchanges --stats` (HTTPS 1.82 -> 1.46 s on the bench
    /// capture) and one for `analyze`, whose judging thread is busy enough there (plaintext
    /// `analyze` measured no faster with two; HTTPS `analyze` is, 3.6 -> 2.9 s: `--workers 2`).
    static func automaticWorkers(judges: Bool) -> Int {
        min(8, max(1, ProcessInfo.processInfo.activeProcessorCount - (judges ? 1 : 0)))
    }

    @OptionGroup var tls: TLSKeyLogOptions

    @OptionGroup var selection: SelectionOptions

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("no input: give capture or HAR files (or - for standard input)") }
        guard paths.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input (-) can be read only once") }
        if let workers, !(1...64).contains(workers) { throw ValidationError("--workers \(workers): give 1 to 64 threads") }
        if let filter, let reason = CaptureFileReader.filterSyntaxError(filter) {
            throw ValidationError("--filter '\(filter)': \(reason)")
        }
    }

    /// Every input, -r ones first.
    var paths: [String] { read + files }

    /// `configuration` with the packet filter and the TLS keys set, and what was wrong with the
    /// key logs (line by line, for the report's warnings).
    ///
    /// - Parameter judges: whether the command judges exchanges on a thread of its own (see
    ///   `automaticWorkers`).
    func configured(_ configuration: ExchangePipeline.Configuration, judges: Bool) throws -> (ExchangePipeline.Configuration, problems: [String]) {
        var configuration = configuration
        configuration.packetFilter = filter
        configuration.workers = workers ?? Self.automaticWorkers(judges: judges)
        let (keys, problems) = try tls.keyStore()
        configuration.tlsKeys = keys
        return (configuration, problems)
    }
}

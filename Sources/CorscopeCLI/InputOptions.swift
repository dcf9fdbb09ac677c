import ArgumentParser
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

    @OptionGroup var tls: TLSKeyLogOptions

    @OptionGroup var selection: SelectionOptions

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("no input: give capture or HAR files (or - for standard input)") }
        guard paths.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input (-) can be read only once") }
        if let filter, let reason = CaptureFileReader.filterSyntaxError(filter) {
            throw ValidationError("--filter '\(filter)': \(reason)")
        }
    }

    /// Every input, -r ones first.
    var paths: [String] { read + files }

    /// `configuration` with the packet filter and the TLS keys set, and what was wrong with the
    /// key logs (line by line, for the report's warnings).
    func configured(_ configuration: ExchangePipeline.Configuration) throws -> (ExchangePipeline.Configuration, problems: [String]) {
        var configuration = configuration
        configuration.packetFilter = filter
        let (keys, problems) = try tls.keyStore()
        configuration.tlsKeys = keys
        return (configuration, problems)
    }
}

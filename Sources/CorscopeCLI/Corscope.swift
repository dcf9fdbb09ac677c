import ArgumentParser

/// The `corscope` command: reads like its `--help`.
public struct Corscope: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "corscope",
        abstract: "Find the cross-origin requests a browser blocked, and why, from recorded or live HTTP traffic.",
        discussion: """
            Reads pcap and pcapng captures (also gzip-compressed), HAR files, or a live interface; \
            reassembles TCP streams into HTTP/1.x exchanges and judges them like a browser would.
            """,
        version: CorscopeVersion.current,
        subcommands: [AnalyzeCommand.self, ExchangesCommand.self, WatchCommand.self]
    )

    public init() {}
}

public enum CorscopeVersion {
    public static let current = "0.1.0"
}

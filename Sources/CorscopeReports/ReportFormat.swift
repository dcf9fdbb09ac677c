import CorscopeExchanges
import CorscopeHTTP

/// The output formats of `corscope analyze`.
public enum ReportFormat: String, Sendable, CaseIterable {
    case markdown, html, json, sarif, junit

    public func render(_ report: CORSReport) -> [UInt8] {
        switch self {
        case .markdown: return MarkdownWriter.write(report)
        case .html: return HTMLWriter.write(report)
        case .json: return JSONReportWriter.write(report)
        case .sarif: return SARIFWriter.write(report)
        case .junit: return JUnitWriter.write(report)
        }
    }
}

/// Where exchanges come from: a closure that delivers every exchange of one input, in capture
/// order, and says how reading ended. Capture files use the pcap pipeline; HAR files (or any
/// other format) plug in by providing another closure, and `analyze` does not change.
public struct ExchangeSource {
    public enum Outcome: Sendable, Equatable {
        case complete
        /// Read only in part (truncated file, read error); what was read was delivered.
        case partial(String)
    }

    /// The input's name, as shown in the report.
    public var name: String
    public var read: (_ deliver: (HTTPExchange) -> Void) throws -> Outcome

    public init(name: String, read: @escaping (_ deliver: (HTTPExchange) -> Void) throws -> Outcome) {
        self.name = name
        self.read = read
    }
}

extension ExchangeSource {
    /// Capture files (pcap, pcapng, gzip'd) read through one shared pipeline, so exchange ids
    /// stay unique across files. `statistics` reports the pipeline's totals afterwards.
    public static func captures(_ paths: [String], configuration: ExchangePipeline.Configuration = .init())
        -> (sources: [ExchangeSource], statistics: () -> PipelineStatistics) {
        let relay = ExchangeRelay()
        let pipeline = ExchangePipeline(configuration: configuration) { relay.deliver?($0) }
        let sources = paths.map { path in
            ExchangeSource(name: path) { deliver in
                try withoutActuallyEscaping(deliver) { deliver in
                    relay.deliver = deliver
                    defer { relay.deliver = nil }
                    let result = try pipeline.read(file: path)
                    switch result.outcome {
                    case .complete: return .complete
                    case .truncated(let message): return .partial("truncated capture (\(message))")
                    case .readError(let message): return .partial("read stopped early (\(message))")
                    }
                }
            }
        }
        return (sources, { pipeline.statistics })
    }
}

/// Forwards the pipeline's exchanges to whichever source is reading.
private final class ExchangeRelay {
    var deliver: ((HTTPExchange) -> Void)?
}

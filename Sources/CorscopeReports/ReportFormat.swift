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

// The corscope.report/1 reader behind `corscope merge`: the input is a JSON report, or anything.
// Checks: reading never traps and fails with a message that names what is wrong; a report that
// reads renders to JSON that reads back to the same bytes (the writer and the reader agree); and
// merging it with itself doubles every count and leaves it readable.
// fuzz-options: -dict=Fuzz/dict/json.dict -max_len=65536
import CorscopeReports
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReportReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let report: CORSReport
    do {
        report = try ReportReader.read(bytes)
    } catch {
        fuzzCheck(!"\(error)".isEmpty, "a read error without a message")
        return 0
    }
    let written = ReportFormat.json.render(report)
    guard let again = try? ReportReader.read(written) else {
        fuzzCheck(false, "the JSON written for a report that read does not read back")
        return 0
    }
    fuzzCheck(ReportFormat.json.render(again) == written, "a read report renders to other bytes the second time")
    guard report.origins.count < 64 else { return 0 }  // merging is quadratic in groups; keep inputs fast
    do {
        let doubled = try ReportMerge.merge([report, report])
        fuzzCheck(doubled.totals.exchanges == 2 * report.totals.exchanges && doubled.totals.blocked == 2 * report.totals.blocked,
                  "a report merged with itself: \(doubled.totals) from \(report.totals)")
        fuzzCheck((try? ReportReader.read(ReportFormat.json.render(doubled))) != nil, "a merged report does not read back")
    } catch {
        fuzzCheck(false, "a report does not merge with itself: \(error)")
    }
    return 0
}

runFuzzer(fuzzReportReader)

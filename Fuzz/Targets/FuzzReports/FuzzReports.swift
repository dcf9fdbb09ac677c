// The report writers, from fuzzed exchanges: structured exchanges (requests, responses, HAR
// evidence, times across years 0000–9999) judged by `ExchangeJudge` for a fuzzed browser,
// then `ReportBuilder` (small limits when asked, redaction on or off) and a format (all five
// for one input in eight);
// each judged exchange is also written as its NDJSON line (exchange and verdict).
// Checks: the JSON report, SARIF and every NDJSON line parse with Foundation's JSONSerialization;
// every time in the JSON report is RFC 3339; NDJSON times are exact decimals; JUnit parses as
// XML with RFC 3339 suite timestamps.
// fuzz-options: -max_len=8192
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import BrowserRules
import CorscopeExchanges
import CorscopeHTTP
import CorscopeRedaction
import CorscopeReports
import CorscopeVerdicts
import FuzzSupport

let timeKeys: Set<String> = ["time", "start", "end", "firstSeen", "lastSeen", "generatedAt", "startTimeUtc", "endTimeUtc", "timeUtc"]

func checkTimes(_ value: Any, key: String?, format: ReportFormat) {
    switch value {
    case let object as [String: Any]:
        for (k, v) in object { checkTimes(v, key: k, format: format) }
    case let array as [Any]:
        for v in array { checkTimes(v, key: key, format: format) }
    case let text as String:
        if let key, timeKeys.contains(key) { fuzzCheck(isRFC3339(text), "\(format) \"\(key)\": \"\(text)\" is not RFC 3339") }
    default:
        break
    }
}

final class JUnitTimes: NSObject, XMLParserDelegate {
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if let stamp = attributes["timestamp"] { fuzzCheck(isRFC3339(stamp + "Z") || isRFC3339(stamp), "JUnit timestamp \"\(stamp)\"") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReports(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let config = input.u8()
    let profile = BrowserProfile(engine: BrowserProfile.Engine.allCases[Int(config & 3) % 3])
    var options = ReportBuilder.Options()
    options.redact = config & 4 == 0
    options.profile = profile
    options.inputs = ["fuzz.pcap"]
    if config & 8 != 0 {
        options.limits.evidencePerGroup = 1
        options.limits.maxTrackedURLs = 2
        options.limits.maxGroups = 2
        options.limits.timelineBins = 1 + Int(config >> 4)
        options.limits.maxOrigins = 2
        options.limits.maxCacheFindings = 1
    }
    // One format per input (SARIF alone, with every rule's help, is most of the time), all five
    // for one input in eight.
    let formatChoice = Int(input.u8())
    let formats = formatChoice >= 224 ? ReportFormat.allCases : [ReportFormat.allCases[formatChoice % ReportFormat.allCases.count]]
    let judge = ExchangeJudge(profile: profile, memoize: config & 0x80 == 0)
    let builder = ReportBuilder(options: options)
    let redactor = Redactor(enabled: options.redact)
    var judgedAll: [JudgedExchange] = []
    for exchange in input.exchanges(maxCount: 24) {
        judge.judge(exchange) { judgedAll.append($0) }
    }
    judgedAll += judge.finish()
    for judged in judgedAll {
        builder.add(judged)
        var json = JSONWriter()
        ExchangeJSON.write(judged.exchange, to: &json, redactor: redactor) { json in
            VerdictJSON.write(judged, profile: profile, to: &json, redactor: redactor)
        }
        fuzzCheck((try? JSONSerialization.jsonObject(with: Data(json.bytes))) != nil,
                  "NDJSON line is not JSON: \(String(decoding: json.bytes, as: UTF8.self))")
        checkNDJSONTimes(json.bytes)
    }
    let report = builder.finish()
    for format in formats {
        let bytes = format.render(report)
        switch format {
        case .json, .sarif:
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)) else {
                fuzzCheck(false, "\(format) output is not JSON: \(String(decoding: bytes, as: UTF8.self))")
                return 0
            }
            checkTimes(parsed, key: nil, format: format)
        case .junit:
            let parser = XMLParser(data: Data(bytes))
            let delegate = JUnitTimes()
            parser.delegate = delegate
            fuzzCheck(parser.parse(), "JUnit is not XML (\(parser.parserError.map { "\($0)" } ?? "?")): \(String(decoding: bytes, as: UTF8.self))")
        default:
            _ = bytes.count
        }
    }
    return 0
}

runFuzzer(fuzzReports)

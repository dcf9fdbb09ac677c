// The HAR reader and its JSON scanner: the input is a HAR file (JSON), read from a file and
// from a stream, each exchange written as its NDJSON line; the same bytes also go through the
// entry parser (`JSONDocument`) directly. The entry size limit is small for one input in three.
// Checks: both routes yield the same exchanges; every time is normalised; every NDJSON line is
// valid JSON (Foundation's parser) with `firstByte`/`lastByte` written as exact decimals.
// fuzz-options: -dict=Fuzz/dict/json.dict -max_len=32768
import Foundation
import CorscopeCapture
import CorscopeExchanges
@testable import CorscopeHAR
import CorscopeHTTP
import FuzzSupport

nonisolated(unsafe) let file = ScratchFile(suffix: "har")

func checkLine(_ exchange: HTTPExchange) {
    for t in [exchange.requestFirstByte, exchange.requestLastByte, exchange.responseFirstByte, exchange.responseLastByte] {
        if let t { fuzzCheck(isNormalisedTime(seconds: t.seconds, nanoseconds: t.nanoseconds), "time \(t.seconds) s + \(t.nanoseconds) ns") }
    }
    var json = JSONWriter()
    ExchangeJSON.write(exchange, to: &json)
    let line = Data(json.bytes)
    let parsed = try? JSONSerialization.jsonObject(with: line, options: [.fragmentsAllowed])
    fuzzCheck(parsed != nil, "NDJSON line is not JSON: \(String(decoding: json.bytes, as: UTF8.self))")
    checkNDJSONTimes(json.bytes)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHAR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzReader(data, size)
    _ = try? JSONDocument.parse(input.bytes)
    file.write(input.bytes)
    let configuration = HARReaderConfiguration(maximumEntryBytes: size % 3 == 0 ? 512 : 64 << 20, chunkSize: 4096)
    var fromFile: [String] = []
    var fileOutcome: HARReadOutcome? = nil
    if let reader = try? HARReader(path: file.path, configuration: configuration) {
        fileOutcome = reader.forEachExchange { exchange in
            checkLine(exchange)
            fromFile.append("\(exchange.index) \(exchange.requestHead?.method ?? "-") \(exchange.requestHead?.target ?? "-") \(exchange.responseHead?.status ?? -1)")
        }
        _ = reader.metadata
        _ = reader.statistics
    }
    if let stream = try? StreamedInput(path: file.path) {
        let reader = HARReader(stream: stream, configuration: configuration)
        var fromStream: [String] = []
        reader.forEachExchange { exchange in
            fromStream.append("\(exchange.index) \(exchange.requestHead?.method ?? "-") \(exchange.requestHead?.target ?? "-") \(exchange.responseHead?.status ?? -1)")
        }
        if fileOutcome != nil {
            fuzzCheck(fromFile == fromStream, "file route: \(fromFile.count) exchanges, stream route: \(fromStream.count)")
        }
    }
    return 0
}

runFuzzer(fuzzHAR)

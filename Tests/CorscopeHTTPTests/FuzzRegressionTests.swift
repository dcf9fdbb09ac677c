import CorscopeHTTP
import Foundation
import XCTest

/// Inputs the fuzz targets (Fuzz/Targets) found failing, as plain tests. Each input is also in
/// Fuzz/regressions/<Target>/, which `make fuzz` and `make fuzz-smoke` replay as seeds.
final class FuzzRegressionTests: XCTestCase {
    /// The FuzzHTTP1 input format: a configuration byte, then `[op][length: u16 BE][bytes]`
    /// chunks (op bit 0: server; bits 1–2: 0/1 bytes, 2 gap, 3 end).
    static func events(ofFuzzInput path: String) throws -> [StreamEvent] {
        let input = Array(try Data(contentsOf: URL(fileURLWithPath: PackagePaths.path(path))))
        var events: [StreamEvent] = []
        var i = 1
        while i < input.count {
            let op = input[i]
            let length = i + 2 < input.count ? Int(input[i + 1]) << 8 | Int(input[i + 2]) : 0
            i += 3
            let server = op & 1 == 1
            switch op >> 1 & 3 {
            case 2: if length > 0 { events.append(server ? .serverGap(length) : .clientGap(length)) }
            case 3: events.append(server ? .serverEnd : .clientEnd)
            default:
                let bytes = Array(input[min(i, input.count)..<min(i + length, input.count)])
                i += length
                events.append(server ? .server(bytes) : .client(bytes))
            }
        }
        return events
    }

    /// Fuzz/regressions/FuzzHTTP1/crash-upgrade-resumed-while-parsing-held-bytes: a request
    /// asking for `Upgrade: h2c` pauses the request parser, which holds the client's next bytes
    /// (the HTTP/2 preface); the server answers 102, then 301 (no switch). Parsing the held bytes
    /// completed a message whose delivery resumed the same parser, which parsed and dropped the
    /// held bytes underneath the outer parse: `removeFirst` then removed more than was held (a
    /// trap, the process gone).
    func testResumingAParserWhileItParsesItsHeldBytes() throws {
        let events = try Self.events(ofFuzzInput: "Fuzz/regressions/FuzzHTTP1/crash-upgrade-resumed-while-parsing-held-bytes")
        XCTAssertEqual(events.count, 4)
        let fed = events.reduce(0) { total, event in
            switch event {
            case .client(let bytes), .server(let bytes): return total + bytes.count
            default: return total
            }
        }
        for segmentSize in [nil, 1, 7] {
            var harness = Harness()
            harness.segmentSize = segmentSize
            let (exchanges, statistics) = harness.run(events)
            XCTAssertFalse(exchanges.isEmpty, "segment size \(segmentSize.map(String.init) ?? "whole")")
            XCTAssertEqual(exchanges.first?.requestHead?.method, "GET")
            XCTAssertEqual(exchanges.map { $0.responseHead?.status }, [301, nil])
            // Every byte counted once: parsed or skipped, none twice.
            XCTAssertEqual(statistics.requestBytesParsed + statistics.responseBytesParsed + statistics.skippedBytes, fed)
        }
    }
}

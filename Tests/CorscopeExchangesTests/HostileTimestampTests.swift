import CorscopeCapture
import CorscopeExchanges
import CorscopeTestSupport
import Foundation
import XCTest

/// A capture record whose fraction field holds a whole second or more (1,500,000 or
/// 3,000,000 "microseconds"): the time is carried into the seconds where it enters, so NDJSON
/// stays valid JSON with a 9-digit fraction and no later stage meets an impossible value.
/// The input is the real nginx capture with two record headers changed.
final class HostileTimestampTests: XCTestCase {
    func testFractionsOfASecondOrMoreAreCarried() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: PackagePaths.path("Captures/nginx-cors.pcap"))))
        XCTAssertEqual(Array(bytes[0..<4]), [0xd4, 0xc3, 0xb2, 0xa1], "a little-endian microsecond pcap")
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func setU32(_ offset: Int, _ value: UInt32) { for k in 0..<4 { bytes[offset + k] = UInt8((value >> (8 * k)) & 0xff) } }
        // Records start after the 24-byte file header: ts_sec, ts_usec, caplen, len.
        let first = 24
        let second = first + 16 + Int(u32(first + 8))
        let originalSeconds = Int64(u32(first))
        setU32(first + 4, 3_000_000)
        setU32(second + 4, 1_500_000)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-hostile-\(UUID().uuidString).pcap")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let reader = try CaptureFileReader(path: file.path)
        var times: [Timestamp] = []
        reader.forEachPacket { packet in if times.count < 2 { times.append(packet.time) } }
        XCTAssertEqual(times.first, Timestamp(seconds: originalSeconds + 3, nanoseconds: 0))
        XCTAssertEqual(times.last?.nanoseconds, 500_000_000)
        XCTAssertTrue(times.allSatisfy { (0..<1_000_000_000).contains($0.nanoseconds) })

        var json = JSONWriter(capacity: 1 << 16)
        for source in ExchangeSources(paths: [file.path]).sources {
            _ = try source.read { exchange in
                ExchangeJSON.write(exchange, to: &json)
                json.newline()
            }
        }
        let lines = String(decoding: json.bytes, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 27)
        let wellFormed = try NSRegularExpression(pattern: "\"(firstByte|lastByte)\":[0-9]+\\.[0-9]{9}[,}]")
        let any = try NSRegularExpression(pattern: "\"(firstByte|lastByte)\":")
        for line in lines {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), "valid JSON")
            let range = NSRange(line.startIndex..., in: line)
            XCTAssertEqual(wellFormed.numberOfMatches(in: String(line), range: range), any.numberOfMatches(in: String(line), range: range),
                           "every time has whole seconds and a 9-digit fraction: \(line)")
        }
    }

    func testTheJSONWriterNeverWritesANonDigit() {
        var json = JSONWriter(capacity: 64)
        json.timestamp(seconds: 1_700_000_000, nanoseconds: -1_294_967_296)
        XCTAssertEqual(String(decoding: json.bytes, as: UTF8.self), "1699999998.705032704")
    }

    /// Before 1970 (capture times go back to the year 0000): -0.5 s is stored as -1 s plus
    /// 0.5 s and must read as -0.5, and a list of times keeps its separators.
    func testTimesBefore1970ReadAsTheirValue() throws {
        var json = JSONWriter(capacity: 64)
        json.beginArray()
        json.timestamp(seconds: -1, nanoseconds: 500_000_000)
        json.timestamp(seconds: -2, nanoseconds: 0)
        json.timestamp(seconds: -3, nanoseconds: 1)
        json.timestamp(seconds: 0, nanoseconds: 250_000_000)
        json.endArray()
        let text = String(decoding: json.bytes, as: UTF8.self)
        XCTAssertEqual(text, "[-0.500000000,-2.000000000,-2.999999999,0.250000000]")
        let values = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Double])
        XCTAssertEqual(values, [-0.5, -2, -2.999999999, 0.25])
    }
}

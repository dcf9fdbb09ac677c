import CorscopeHTTP
import Foundation
import XCTest

final class BodyDecodingTests: XCTestCase {
    let payload: [UInt8] = Array((0..<400).map { "{\"row\":\($0),\"cors\":\"ok\"}\n" }.joined().utf8)

    func exchange(encoding: String, body: [UInt8], configuration: HTTPConfiguration = .init(), chunked: Bool = false, segmentSize: Int? = nil) -> HTTPExchange? {
        var head = "HTTP/1.1 200 OK\r\nContent-Encoding: \(encoding)\r\n"
        var wire = body
        if chunked {
            head += "Transfer-Encoding: chunked\r\n\r\n"
            wire = []
            var start = 0
            while start < body.count {
                let piece = body[start..<min(body.count, start + 1000)]
                wire += bytes(String(piece.count, radix: 16) + "\r\n") + piece + bytes("\r\n")
                start += 1000
            }
            wire += bytes("0\r\n\r\n")
        } else {
            head += "Content-Length: \(body.count)\r\n\r\n"
        }
        var harness = Harness()
        harness.configuration = configuration
        harness.segmentSize = segmentSize
        return harness.run([.client(bytes("GET / HTTP/1.1\r\n\r\n")), .server(bytes(head) + wire)]).exchanges.first
    }

    func testGzipBodyIsDecodedInStreamingPieces() throws {
        let gz = Compression.compress(payload, wrapper: .gzip)
        for segment in [nil, 1, 7, 1448] as [Int?] {
            let e = try XCTUnwrap(exchange(encoding: "gzip", body: gz, chunked: true, segmentSize: segment))
            XCTAssertEqual(e.response?.body.kept, payload)
            XCTAssertEqual(e.response?.body.decodedLength, payload.count)
            XCTAssertEqual(e.response?.body.wireLength, gz.count)
            XCTAssertEqual(e.response?.body.contentEncoding, ["gzip"])
            XCTAssertEqual(e.anomalies, [])
        }
    }

    func testXGzipAndZlibDeflate() throws {
        let xg = try XCTUnwrap(exchange(encoding: "x-gzip", body: Compression.compress(payload, wrapper: .gzip)))
        XCTAssertEqual(xg.response?.body.kept, payload)
        let zlib = try XCTUnwrap(exchange(encoding: "deflate", body: Compression.compress(payload, wrapper: .zlib)))
        XCTAssertEqual(zlib.response?.body.kept, payload)
        XCTAssertEqual(zlib.anomalies, [])
    }

    func testRawDeflateIsDetectedAndFlagged() throws {
        let raw = Compression.compress(payload, wrapper: .raw)
        for segment in [nil, 1, 3] as [Int?] {
            let e = try XCTUnwrap(exchange(encoding: "deflate", body: raw, segmentSize: segment))
            XCTAssertEqual(e.response?.body.kept, payload, "segment \(String(describing: segment))")
            XCTAssertEqual(e.anomalies, [.rawDeflate])
        }
    }

    func testStackedGzipIsDecodedInReverseOrder() throws {
        let twice = Compression.compress(Compression.compress(payload, wrapper: .gzip), wrapper: .gzip)
        let e = try XCTUnwrap(exchange(encoding: "gzip, gzip", body: twice))
        XCTAssertEqual(e.response?.body.contentEncoding, ["gzip", "gzip"])
        XCTAssertEqual(e.response?.body.kept, payload)
        let mixed = Compression.compress(Compression.compress(payload, wrapper: .zlib), wrapper: .gzip)
        let m = try XCTUnwrap(exchange(encoding: "deflate, gzip", body: mixed))
        XCTAssertEqual(m.response?.body.kept, payload)
    }

    func testUnknownCodingIsKeptRawWithoutError() throws {
        let fake: [UInt8] = [0x1b, 0x00, 0x01, 0x02, 0x03]
        let e = try XCTUnwrap(exchange(encoding: "br", body: fake))
        XCTAssertEqual(e.response?.body.kept, fake)
        XCTAssertNil(e.response?.body.decodedLength)
        XCTAssertEqual(e.response?.body.contentEncoding, ["br"])
        XCTAssertEqual(e.anomalies, [])
        // gzip under an unknown outer coding cannot be reached: kept raw, flagged.
        let stacked = try XCTUnwrap(exchange(encoding: "gzip, zstd", body: fake))
        XCTAssertEqual(stacked.response?.body.kept, fake)
        XCTAssertEqual(stacked.anomalies, [.contentDecodingFailed])
    }

    func testCorruptGzipKeepsRawAndFlags() throws {
        let junk = bytes("definitely not gzip data")
        let e = try XCTUnwrap(exchange(encoding: "gzip", body: junk))
        XCTAssertEqual(e.response?.body.kept, junk)
        XCTAssertNil(e.response?.body.decodedLength)
        XCTAssertEqual(e.anomalies, [.contentDecodingFailed])
    }

    func testDecodingCanBeSwitchedOff() throws {
        let gz = Compression.compress(payload, wrapper: .gzip)
        let e = try XCTUnwrap(exchange(encoding: "gzip", body: gz, configuration: HTTPConfiguration(decodeBodies: false)))
        XCTAssertEqual(e.response?.body.kept, gz)
        XCTAssertNil(e.response?.body.decodedLength)
    }

    func testKeptBytesCapWithExactCounts() throws {
        let gz = Compression.compress(payload, wrapper: .gzip)
        let e = try XCTUnwrap(exchange(encoding: "gzip", body: gz, configuration: HTTPConfiguration(keptBodyBytes: 100)))
        XCTAssertEqual(e.response?.body.kept, Array(payload[0..<100]))
        XCTAssertEqual(e.response?.body.decodedLength, payload.count)
        XCTAssertEqual(e.response?.body.isTruncated, true)
        XCTAssertEqual(e.anomalies, [.bodyTruncated])
    }

    func testGzipBombStopsAtDecompressionCap() throws {
        let bomb = Compression.gzipZeros(count: 100 * 1024 * 1024)
        XCTAssertLessThan(bomb.count, 200_000)
        let started = Date()
        var harness = Harness()
        harness.segmentSize = 1448
        let head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(bomb.count)\r\n\r\n"
        let (exchanges, _) = harness.run([
            .client(bytes("GET /bomb HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n")),
            .server(bytes(head) + bomb + bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        let body = try XCTUnwrap(exchanges.first?.response?.body)
        XCTAssertEqual(body.decodedLength, 16 * 1024 * 1024)
        XCTAssertEqual(body.kept.count, 64 * 1024)
        XCTAssertEqual(body.wireLength, bomb.count)
        XCTAssertTrue(exchanges[0].anomalies.contains(.decompressionCapReached))
        XCTAssertEqual(exchanges.count, 2, "framing continues after the cap")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
}

import CorscopeHTTP
import XCTest

/// The result must not depend on where segment boundaries fall: every data event of each
/// stream is split at every offset, and fed one byte at a time.
final class SegmentationTests: XCTestCase {
    static let gzipBody = Compression.compress(Array(String(repeating: "{\"cors\":true}", count: 40).utf8), wrapper: .gzip)
    static let rawDeflateBody = Compression.compress(Array(String(repeating: "abc,", count: 50).utf8), wrapper: .raw)

    static let streams: [(String, [StreamEvent])] = [
        ("chunked+trailers", [
            .client(bytes("GET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nWiki\r\n6\r\npedia \r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n")
                + bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")),
        ]),
        ("syntax oddities", [
            .client(bytes("GET /o HTTP/1.1\nHost : x\nX-Fold: a\n  b\nbad line\n\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Origin: https://a\r\nX-Bin: \u{1}\r\nContent-Length: 2\r\n\r\nok")),
        ]),
        ("gzip and raw deflate", [
            .client(bytes("GET /g HTTP/1.1\r\n\r\nGET /r HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(gzipBody.count)\r\n\r\n") + gzipBody
                + bytes("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: \(rawDeflateBody.count)\r\n\r\n") + rawDeflateBody),
        ]),
        ("gap in body", [
            .client(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789")), .serverGap(5), .server(bytes("fghij")),
            .server(bytes("HTTP/1.1 204 No Content\r\n\r\n")),
        ]),
        ("gap in head then resync", [
            .client(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nServer: ng")), .serverGap(100),
            .server(bytes("x\r\nrest of head\r\n\r\nsome body bytes HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nz")),
        ]),
        ("midstream start", [
            .server(bytes("tail of something\r\n}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")),
            .client(bytes("3\r\nabc\r\n0\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nq")),
            .server(bytes("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")),
        ]),
        ("upgrade refused then HTTP", [
            .client(bytes("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /n HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ]),
        ("close delimited", [
            .client(bytes("GET / HTTP/1.0\r\n\r\n")),
            .server(bytes("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")),
        ]),
    ]

    func testEveryStreamIsSegmentationIndependent() {
        for (name, events) in Self.streams {
            let (referenceExchanges, referenceStats) = Harness().run(events)
            let reference = describe(referenceExchanges)
            XCTAssertFalse(referenceExchanges.isEmpty, name)
            let longest = events.map { event -> Int in
                switch event {
                case .client(let b), .server(let b): return b.count
                default: return 0
                }
            }.max() ?? 0
            for offset in 1..<longest {
                var harness = Harness()
                harness.splitAt = offset
                let (exchanges, stats) = harness.run(events)
                if describe(exchanges) != reference || stats != referenceStats {
                    XCTFail("\(name): split at \(offset) differs:\n\(describe(exchanges))\nexpected:\n\(reference)")
                    break
                }
            }
            var bytewise = Harness()
            bytewise.segmentSize = 1
            let (exchanges, stats) = bytewise.run(events)
            XCTAssertEqual(describe(exchanges), reference, name)
            XCTAssertEqual(stats, referenceStats, name)
        }
    }

    /// Spot checks that the reference results above are the intended ones.
    func testReferenceResults() throws {
        let results = Dictionary(uniqueKeysWithValues: Self.streams.map { ($0.0, Harness().run($0.1).exchanges) })
        let chunked = try XCTUnwrap(results["chunked+trailers"])
        XCTAssertEqual(chunked[0].response?.body.kept, bytes("Wikipedia "))
        XCTAssertEqual(chunked[0].response?.trailers.count, 2)
        let oddities = try XCTUnwrap(results["syntax oddities"]?.first)
        XCTAssertEqual(oddities.anomalies, [.bareLineFeed, .whitespaceBeforeColon, .obsoleteLineFolding, .malformedHeaderLine])
        XCTAssertEqual(oddities.request?.head.headers.first(named: "x-fold"), "a b")
        XCTAssertEqual(oddities.response?.head.headers.values(named: "access-control-allow-origin"), ["*", "https://a"])
        let decoded = try XCTUnwrap(results["gzip and raw deflate"])
        XCTAssertEqual(decoded[0].response?.body.decodedLength, 13 * 40)
        XCTAssertEqual(decoded[1].response?.body.kept, Array(String(repeating: "abc,", count: 50).utf8))
        XCTAssertEqual(decoded[1].anomalies, [.rawDeflate])
        let gapInBody = try XCTUnwrap(results["gap in body"])
        XCTAssertEqual(gapInBody.map { $0.response?.body.missingBytes }, [5, 0])
        let gapInHead = try XCTUnwrap(results["gap in head then resync"])
        XCTAssertEqual(gapInHead.map { $0.response?.head.status }, [200, 404])
        let midstream = try XCTUnwrap(results["midstream start"])
        XCTAssertEqual(midstream.map { $0.request?.head.method }, [nil, "POST"])
        XCTAssertEqual(midstream[1].anomalies, [.midstreamStart, .skippedUnparsableBytes])
        let refused = try XCTUnwrap(results["upgrade refused then HTTP"])
        XCTAssertEqual(refused.map { $0.response?.head.status }, [426, 200])
    }
}

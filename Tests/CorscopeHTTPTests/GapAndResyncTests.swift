import CorscopeHTTP
import XCTest

final class GapAndResyncTests: XCTestCase {
    let twoRequests = bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")

    func testGapInsideContentLengthBodyIsCountedAndParsingContinues() throws {
        let (exchanges, stats) = Harness().run([
            .client(twoRequests),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")), .serverGap(4), .server(bytes("hij")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        let body = try XCTUnwrap(exchanges[0].response?.body)
        XCTAssertEqual(body.wireLength, 6)
        XCTAssertEqual(body.missingBytes, 4)
        XCTAssertEqual(body.kept, bytes("abc"), "kept stays a true prefix")
        XCTAssertTrue(body.isTruncated)
        XCTAssertEqual(exchanges[0].anomalies, [.contentGap])
        XCTAssertEqual(exchanges[0].missingBytes, 4)
        XCTAssertEqual(exchanges[1].response?.body.kept, bytes("ok"))
        XCTAssertEqual(exchanges[1].anomalies, [])
        XCTAssertEqual(stats.gapBytes, 4)
    }

    func testGapInsideChunkDataIsCounted() {
        let (exchanges, _) = Harness().run([
            .client(twoRequests),
            .server(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01")), .serverGap(5), .server(bytes("789\r\n0\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertEqual(exchanges[0].response?.body.missingBytes, 5)
        XCTAssertEqual(exchanges[0].response?.body.wireLength, 5)
        XCTAssertEqual(exchanges[0].anomalies, [.contentGap])
        XCTAssertEqual(exchanges[1].anomalies, [])
    }

    func testGapInHeadInterruptsAndResyncsOnNextResponse() throws {
        let (exchanges, stats) = Harness().run([
            .client(twoRequests),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nAccess-Con")), .serverGap(30),
            .server(bytes("tail of the lost head\r\n\r\nbody bytes that belong to response one")),
            .server(bytes("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        let first = exchanges[0]
        XCTAssertEqual(first.response?.head.status, 200)
        XCTAssertEqual(first.response?.head.headers.first(named: "content-type"), "text/plain")
        XCTAssertEqual(first.anomalies, [.messageInterruptedByGap])
        XCTAssertEqual(exchanges[1].response?.head.status, 201)
        // The hole could as well have held a whole response: the pair after it is a guess.
        XCTAssertEqual(exchanges[1].anomalies, [.skippedUnparsableBytes, .responseFramingUncertain])
        XCTAssertEqual(stats.skippedBytes, "tail of the lost head\r\n\r\nbody bytes that belong to response one".utf8.count)
    }

    func testGapInChunkFramingInterrupts() {
        let (exchanges, _) = Harness().run([
            .client(twoRequests),
            .server(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")), .serverGap(3),
            .server(bytes("xyz\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("abc"))
        XCTAssertTrue(exchanges[0].anomalies.contains(.messageInterruptedByGap))
        XCTAssertEqual(exchanges[1].anomalies, [.skippedUnparsableBytes, .responseFramingUncertain])
    }

    func testGapBetweenRequestsResyncsAndMarksPairingUncertain() {
        // The client lost a whole request (a HEAD): the responses can no longer be paired
        // with certainty, so they are flagged.
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /1 HTTP/1.1\r\n\r\n")), .clientGap(25), .client(bytes("ers\r\n\r\nGET /3 HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc")),
        ])
        XCTAssertEqual(exchanges.map { $0.request?.head.target }, ["/1", "/3"])
        XCTAssertEqual(exchanges[0].anomalies, [])
        XCTAssertEqual(exchanges[1].anomalies, [.skippedUnparsableBytes, .responseFramingUncertain])
    }

    func testRequestHeadCutByGapIsStillReported() {
        let (exchanges, _) = Harness().run([
            .client(bytes("OPTIONS /api HTTP/1.1\r\nOrigin: https://a.example\r\nAccess-Control-Req")), .clientGap(40),
            .client(bytes("GET /next HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.map { $0.request?.head.method }, ["OPTIONS", "GET"])
        XCTAssertEqual(exchanges[0].request?.head.headers.first(named: "origin"), "https://a.example")
        XCTAssertTrue(exchanges[0].anomalies.contains(.messageInterruptedByGap))
        XCTAssertEqual(exchanges[1].response?.head.status, 200)
    }

    func testMidstreamStartSkipsToFirstMessage() {
        // In capture order: the tail of an earlier response, then a new request and its response.
        let (exchanges, stats) = Harness().run([
            .server(bytes("d of an earlier body\r\n</html>HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")),
            .client(bytes("ue\",\"more\":[1,2]}GET /after HTTP/1.1\r\nHost: x\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertNil(exchanges[0].request)
        XCTAssertEqual(exchanges[0].response?.head.status, 404)
        XCTAssertEqual(exchanges[0].anomalies, [.midstreamStart, .skippedUnparsableBytes, .responseWithoutRequest])
        XCTAssertEqual(exchanges[1].request?.head.target, "/after")
        XCTAssertEqual(exchanges[1].anomalies, [.midstreamStart, .skippedUnparsableBytes])
        XCTAssertEqual(stats.skippedBytes, 17 + 29)
    }

    func testResyncIgnoresLookalikesThatAreNotStartLines() {
        let (exchanges, _) = Harness().run([
            .client(bytes("xx GET is a verb HTTP/ HEAD / HTTP/1.1\r\n\r\n")),
            .server(bytes("an HTTP/1.1 body with HTTP/1.1 20 and HTTP/2 200 HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].request?.head.method, "HEAD")
        XCTAssertEqual(exchanges[0].response?.head.status, 200)
    }

    /// A request line with a NUL in its target is skipped; the requests after it are found
    /// again although their targets carry raw UTF-8 (before, the resync wanted ASCII targets and
    /// skipped the rest of the direction).
    func testResyncFindsRequestsWithRawUTF8TargetsAfterABadOne() {
        let (exchanges, stats) = Harness().run([
            .client(bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")),
            .client(bytes("GET /b\u{0}c HTTP/1.1\r\nHost: x\r\n\r\n")),
            .client(bytes("GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\nGET /\u{2603}?q=\u{fc} HTTP/1.1\r\nHost: x\r\n\r\n")),
        ], endBoth: true)
        let targets = exchanges.compactMap { $0.request?.head.target }
        XCTAssertEqual(targets, ["/a", "/caf\u{e9}", "/\u{2603}?q=\u{fc}"])
        XCTAssertEqual(stats.skippedBytes, "GET /b\u{0}c HTTP/1.1\r\nHost: x\r\n\r\n".utf8.count)
    }

    func testResyncCandidateSplitAcrossSegments() {
        for split in 1..<30 {
            let server = bytes("garbage HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            let (exchanges, stats) = Harness().run([
                .client(bytes("GET / HTTP/1.1\r\n\r\n")), .server(Array(server[..<split])), .server(Array(server[split...])),
            ])
            XCTAssertEqual(exchanges.count, 1, "split \(split)")
            XCTAssertEqual(exchanges.first?.response?.head.status, 200, "split \(split)")
            XCTAssertEqual(stats.skippedBytes, 8, "split \(split)")
        }
    }

    func testTimestampsComeFromTheSegments() throws {
        var harness = Harness()
        harness.distinctTimes = true
        let (exchanges, _) = harness.run([
            .client(bytes("POST / HTTP/1.1\r\nContent-Le")), .client(bytes("ngth: 2\r\n\r\n")), .client(bytes("hi")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n")), .server(bytes("!")),
        ])
        let exchange = try XCTUnwrap(exchanges.first)
        XCTAssertEqual(exchange.request?.firstByte.seconds, 1000)
        XCTAssertEqual(exchange.request?.lastByte.seconds, 1002)
        XCTAssertEqual(exchange.response?.firstByte.seconds, 1003)
        XCTAssertEqual(exchange.response?.lastByte.seconds, 1004)
    }
}

/// `Connection: close` ends a side's messages (RFC 9112 §9.6): anything after it is flagged.
final class DataAfterCloseTests: XCTestCase {
    func testAResponseAfterOneThatSaidCloseIsFlagged() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertEqual(exchanges[0].anomalies, [])
        XCTAssertEqual(exchanges[1].requestHead?.target, "/2")
        XCTAssertEqual(exchanges[1].anomalies, [.dataAfterClose])
    }

    func testARequestAfterOneThatSaidCloseIsFlagged() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertEqual(exchanges[0].anomalies, [])
        XCTAssertEqual(exchanges[1].anomalies, [.dataAfterClose])
    }

    func testKeepAliveAndCloseLikeTokensAreNotClose() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nConnection: closed-ish\r\nX-Connection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.map(\.anomalies), [[], []])
    }
}

/// An h2c connection with prior knowledge opens with `PRI * HTTP/2.0`: one exchange that says the
/// connection left HTTP/1, not a request that "got no response" and frames counted as damage.
final class HTTP2PrefaceTests: XCTestCase {
    func testThePrefaceEndsHTTP1OnBothSides() {
        let settings: [UInt8] = [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]
        let (exchanges, stats) = Harness().run([
            .client(bytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + settings),
            .server(settings + bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].requestHead?.method, "PRI")
        XCTAssertNil(exchanges[0].response, "bytes after the preface are not parsed as HTTP/1")
        XCTAssertEqual(exchanges[0].anomalies, [.protocolSwitched])
        XCTAssertEqual(stats.skippedBytes, "SM\r\n\r\n".utf8.count + settings.count * 2 + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8.count)
    }
}

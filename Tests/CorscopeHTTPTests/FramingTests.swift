import CorscopeCapture
import CorscopeHTTP
import XCTest

final class FramingTests: XCTestCase {
    func testKeepAliveSequentialExchangesAreEmittedAsSoonAsComplete() {
        var emitted: [Int] = []
        let analyzer = HTTP1ConnectionAnalyzer(connection: Harness.connection) { emitted.append($0.index) }
        let t = Timestamp(seconds: 1, nanoseconds: 0)
        for i in 0..<3 {
            bytes("GET /\(i) HTTP/1.1\r\nHost: a\r\n\r\n").withUnsafeBytes { analyzer.receive($0, direction: .clientToServer, time: t) }
            XCTAssertEqual(emitted.count, i)
            bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh").withUnsafeBytes { analyzer.receive($0, direction: .serverToClient, time: t) }
            XCTAssertEqual(emitted.count, i, "body not complete yet")
            bytes("i").withUnsafeBytes { analyzer.receive($0, direction: .serverToClient, time: t) }
            XCTAssertEqual(emitted, Array(0...i))
        }
    }

    func testChunkedWithExtensionsAndTrailers() throws {
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Server-Timing\r\n\r\n"
            + "5;name=value;other=\"q\"\r\nhello\r\n" + "7 ; ext\r\n, world\r\n" + "0\r\nServer-Timing: total;dur=12\r\nX-Checksum: abc\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n"
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")), .server(bytes(response)),
        ])
        XCTAssertEqual(exchanges.count, 2)
        let first = try XCTUnwrap(exchanges[0].response)
        XCTAssertEqual(first.body.kept, bytes("hello, world"))
        XCTAssertEqual(first.body.wireLength, 12)
        XCTAssertEqual(first.trailers.pairs.map(\.name), ["Server-Timing", "X-Checksum"])
        XCTAssertEqual(first.trailers.first(named: "server-timing"), "total;dur=12")
        XCTAssertEqual(first.head.headers.count, 2)
        XCTAssertEqual(exchanges[1].response?.head.status, 204)
        XCTAssertEqual(exchanges.flatMap(\.anomalies), [])
    }

    func testChunkedRequestBody() throws {
        let (exchanges, _) = Harness().run([
            .client(bytes("POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].request?.body.kept, bytes("abc"))
        XCTAssertEqual(exchanges[0].anomalies, [])
    }

    func testHeadResponseWithContentLengthHasNoBody() {
        let (exchanges, _) = Harness().run([
            .client(bytes("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")),
        ])
        XCTAssertEqual(exchanges.map { $0.response?.body.wireLength }, [0, 3])
        XCTAssertEqual(exchanges[1].response?.body.kept, bytes("abc"))
        XCTAssertEqual(exchanges.flatMap(\.anomalies), [])
    }

    func testNoContentAndNotModifiedIgnoreContentLength() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
        ])
        XCTAssertEqual(exchanges.map { $0.response?.head.status }, [204, 304, 200])
        XCTAssertEqual(exchanges.map { $0.response?.body.wireLength }, [0, 0, 2])
    }

    func testPipelinedRequestsBeforeAnyResponse() {
        let requests = (0..<5).map { "GET /p\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
        let responses = (0..<5).map { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr\($0)" }.joined()
        let (exchanges, _) = Harness().run([.client(bytes(requests)), .server(bytes(responses))], endBoth: false)
        XCTAssertEqual(exchanges.map { $0.request?.head.target }, ["/p0", "/p1", "/p2", "/p3", "/p4"])
        XCTAssertEqual(exchanges.map { $0.response.map { String(decoding: $0.body.kept, as: UTF8.self) } }, ["r0", "r1", "r2", "r3", "r4"])
    }

    func testSeveralInterimResponsesBeforeFinal() throws {
        let (exchanges, stats) = Harness().run([
            .client(bytes("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz")),
            .server(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].interimResponses.map(\.status), [100, 103])
        XCTAssertEqual(exchanges[0].interimResponses[1].headers.first(named: "link"), "</s.css>; rel=preload")
        XCTAssertEqual(exchanges[0].response?.head.status, 200)
        XCTAssertEqual(exchanges[0].anomalies, [.multipleInterimResponses])
        XCTAssertEqual(stats.responses, 3)
    }

    func testConnectTunnelStopsParsing() {
        let (exchanges, stats) = Harness().run([
            .client(bytes("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 Connection Established\r\n\r\n")),
            .client([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
            .server([0x16, 0x03, 0x03, 0x00, 0x02, 9, 9]),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].request?.head.target, "api.example.com:443")
        XCTAssertEqual(exchanges[0].anomalies, [.tunnelEstablished])
        XCTAssertEqual(stats.skippedBytes, 17)
    }

    func testUpgradeRefusedResumesHTTP() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /next HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.map { $0.request?.head.target }, ["/ws", "/next"])
        XCTAssertEqual(exchanges.map { $0.response?.head.status }, [400, 200])
        XCTAssertEqual(exchanges.flatMap(\.anomalies), [])
    }

    func testCloseDelimitedResponseIncludesEverythingUntilEnd() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET / HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\n\r\npart one ")), .server(bytes("HTTP/1.1 200 not a head")), .serverEnd,
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("part one HTTP/1.1 200 not a head"))
        XCTAssertEqual(exchanges[0].anomalies, [])
    }

    func testLeftoversWhenConnectionEnds() {
        let (exchanges, _) = Harness().run([
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")),
            .client(bytes("GET /late HTTP/1.1\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertNil(exchanges[0].request)
        XCTAssertEqual(exchanges[0].anomalies, [.responseWithoutRequest])
        XCTAssertEqual(exchanges[1].request?.head.target, "/late")
        XCTAssertNil(exchanges[1].response)
        XCTAssertEqual(exchanges[1].anomalies, [.requestWithoutResponse])
        XCTAssertEqual(exchanges.map(\.index), [0, 1])
    }

    func testIncompleteBodyAtEndIsFlagged() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET / HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].response?.body.wireLength, 3)
        XCTAssertEqual(exchanges[0].anomalies, [.incompleteMessage])
    }

    // MARK: Content-Length / Transfer-Encoding policy (RFC 9112 §6.3)

    func testTransferEncodingWinsOverContentLength() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET / HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")),
        ], endBoth: false)
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("ok"))
        XCTAssertEqual(exchanges[0].anomalies, [.contentLengthWithTransferEncoding])
    }

    func testAgreeingContentLengthsAreOneValue() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET / HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")),
        ], endBoth: false)
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("abc"))
        XCTAssertEqual(exchanges[0].anomalies, [])
    }

    func testConflictingContentLengthInResponseReadsUntilClose() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET / HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcdefg")),
        ])
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("abcdefg"))
        XCTAssertEqual(exchanges[0].anomalies, [.invalidContentLength])
    }

    func testInvalidContentLengthInRequestResyncsOnNextRequest() {
        let (exchanges, _) = Harness().run([
            .client(bytes("POST /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\nbodybytes GET /b HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.map { $0.request?.head.target }, ["/a", "/b"])
        XCTAssertEqual(exchanges[0].anomalies, [.invalidContentLength])
        XCTAssertEqual(exchanges[1].anomalies, [.skippedUnparsableBytes])
    }

    func testNonChunkedTransferEncodingReadsUntilClose() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET / HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw")),
        ])
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("raw"))
        XCTAssertEqual(exchanges[0].anomalies, [.unsupportedTransferEncoding])
    }

    func testInvalidChunkSizeEndsMessageAndResyncs() {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")),
            .server(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2")),
        ])
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertEqual(exchanges[0].anomalies, [.invalidChunkSize])
        XCTAssertEqual(exchanges[1].response?.body.kept, bytes("2"))
        XCTAssertEqual(exchanges[1].anomalies, [.skippedUnparsableBytes])
    }
}

extension FramingTests {
    func testEndlessInterimResponsesAreBounded() {
        let interim = String(repeating: "HTTP/1.1 102 Processing\r\n\r\n", count: 1000)
        let (exchanges, stats) = Harness().run([
            .client(bytes("POST /slow HTTP/1.1\r\nContent-Length: 0\r\n\r\n")),
            .server(bytes(interim + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].interimResponses.count, 16)
        XCTAssertEqual(exchanges[0].anomalies, [.multipleInterimResponses])
        XCTAssertEqual(stats.responses, 1001)
    }
}

extension FramingTests {
    func testStatisticsAddUpAcrossConnections() {
        let first = Harness().run([.client(bytes("GET / HTTP/1.1\r\nA: 1\r\n\r\n")), .server(bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))]).statistics
        let second = Harness().run([.client(bytes("xx")), .clientGap(10), .server(bytes("HTTP/1.1 204 No Content\r\n\r\n"))]).statistics
        var total = HTTPStreamStatistics()
        total += first
        total += second
        XCTAssertEqual(first.headerFields, 2)
        XCTAssertEqual(first.bodyWireBytes, 3)
        XCTAssertEqual(second.skippedBytes, 2)
        XCTAssertEqual(second.gapBytes, 10)
        XCTAssertEqual(total.exchanges, 2)
        XCTAssertEqual(total.requests, 1)
        XCTAssertEqual(total.responses, 2)
        XCTAssertEqual(total.requestBytesParsed, first.requestBytesParsed)
        XCTAssertEqual(total.responseBytesParsed, first.responseBytesParsed + 27)
    }
}

import CorscopeHTTP
import XCTest

final class HeaderSyntaxTests: XCTestCase {
    func response(_ head: String, extra: [UInt8] = []) -> (HTTPExchange?, HTTPStreamStatistics) {
        let (exchanges, stats) = Harness().run([.client(bytes("GET / HTTP/1.1\r\n\r\n")), .server(bytes(head) + extra)])
        return (exchanges.first, stats)
    }

    func testDuplicateAllowOriginStaysTwoFieldsInOrder() throws {
        let (exchange, _) = response("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://a.example\r\nVary: Origin\r\naccess-control-allow-origin: *\r\nContent-Length: 0\r\n\r\n")
        let headers = try XCTUnwrap(exchange?.response?.head.headers)
        XCTAssertEqual(headers.values(named: "Access-Control-Allow-Origin"), ["https://a.example", "*"])
        XCTAssertEqual(headers.pairs.map(\.name), ["Access-Control-Allow-Origin", "Vary", "access-control-allow-origin", "Content-Length"])
        XCTAssertEqual(exchange?.anomalies, [])
    }

    func testObsFoldIsJoinedAndFlagged() throws {
        let (exchange, _) = response("HTTP/1.1 200 OK\r\nX-Long: first\r\n   second part \r\n\tthird\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(exchange?.response?.head.headers.first(named: "x-long"), "first second part third")
        XCTAssertEqual(exchange?.response?.head.headers.count, 2)
        XCTAssertEqual(exchange?.anomalies, [.obsoleteLineFolding])
    }

    func testBareLineFeedsAreAcceptedAndFlagged() throws {
        let (exchanges, _) = Harness().run([
            .client(bytes("GET /lf HTTP/1.1\nHost: x\n\n")),
            .server(bytes("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].request?.head.headers.first(named: "host"), "x")
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("ok"))
        XCTAssertEqual(exchanges[0].anomalies, [.bareLineFeed])
    }

    func testWhitespaceBeforeColonKeepsTheFieldFlagged() {
        let (exchange, _) = response("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin : *\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(exchange?.response?.head.headers.first(named: "access-control-allow-origin"), "*")
        XCTAssertEqual(exchange?.anomalies, [.whitespaceBeforeColon])
    }

    func testInvalidHeaderLinesAreSkippedNotFatal() {
        let (exchange, stats) = response("HTTP/1.1 200 OK\r\nthis line has no colon\r\n: empty name\r\nBad Name: x\r\nGood: yes\r\nContent-Length: 2\r\n\r\nok")
        XCTAssertEqual(exchange?.response?.head.headers.pairs.map(\.name), ["Good", "Content-Length"])
        XCTAssertEqual(exchange?.response?.body.kept, bytes("ok"))
        XCTAssertEqual(exchange?.anomalies, [.malformedHeaderLine])
        XCTAssertEqual(stats.headerFields, 2)
    }

    func testNonUTF8BytesAreKeptByteExact() throws {
        let raw: [UInt8] = bytes("HTTP/1.1 200 OK\r\nX-Latin1: caf") + [0xE9] + bytes("\r\nX-UTF8: caf") + [0xC3, 0xA9] + bytes("\r\nContent-Length: 0\r\n\r\n")
        let (exchanges, _) = Harness().run([.client(bytes("GET / HTTP/1.1\r\n\r\n")), .server(raw)])
        let headers = try XCTUnwrap(exchanges.first?.response?.head.headers)
        XCTAssertEqual(Array(headers.valueBytes(at: 0)), bytes("caf") + [0xE9])
        XCTAssertEqual(headers.value(at: 0), "caf\u{E9}")
        XCTAssertEqual(headers.value(at: 1), "café")
        XCTAssertEqual(exchanges.first?.anomalies, [.nonUTF8HeaderBytes])
    }

    func testValueWhitespaceIsTrimmedButInnerBytesKept() {
        let (exchange, _) = response("HTTP/1.1 200 OK\r\nX-A: \t a  b \t\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(exchange?.response?.head.headers.first(named: "x-a"), "a  b")
        XCTAssertEqual(exchange?.response?.head.headers.first(named: "x-empty"), "")
    }

    func testRequestLineDetailsAndReasonPhrase() throws {
        let (exchanges, _) = Harness().run([
            .client(bytes("patch /p?q=%C3%A9&x=1 HTTP/1.0\r\n\r\n")),
            .server(bytes("HTTP/1.1 404 Not  Found Here\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")),
        ])
        let request = try XCTUnwrap(exchanges.first?.request)
        XCTAssertEqual(request.head.method, "patch")
        XCTAssertEqual(request.head.target, "/p?q=%C3%A9&x=1")
        XCTAssertEqual(request.head.version, .http1_0)
        XCTAssertEqual(exchanges.first?.response?.head.reason, "Not  Found Here")
        XCTAssertEqual(exchanges.count, 2)
        XCTAssertEqual(exchanges[1].response?.head.reason, "")
        XCTAssertEqual(exchanges[1].anomalies, [.responseWithoutRequest])
    }

    func testHeadByteCapFlagsAndSkipsRest() {
        var harness = Harness()
        harness.configuration = HTTPConfiguration(maxHeadBytes: 200)
        let big = "GET / HTTP/1.1\r\n" + (0..<20).map { "X-Filler-\($0): \(String(repeating: "v", count: 20))\r\n" }.joined() + "\r\n"
        let follow = "GET /next HTTP/1.1\r\n\r\n"
        let (exchanges, stats) = harness.run([.client(bytes(big + follow))])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].anomalies.first, .headerTooLarge)
        XCTAssertTrue(exchanges[0].anomalies.contains(.requestWithoutResponse))
        XCTAssertGreaterThan(exchanges[0].request?.head.headers.count ?? 0, 3)
        XCTAssertLessThanOrEqual(stats.requestBytesParsed, 200)
        XCTAssertGreaterThan(stats.skippedBytes, follow.utf8.count)
        XCTAssertEqual(stats.requestBytesParsed + stats.skippedBytes, big.utf8.count + follow.utf8.count)
    }

    func testFieldCountCapFlags() {
        var harness = Harness()
        harness.configuration = HTTPConfiguration(maxHeaderFields: 5)
        let head = "HTTP/1.1 200 OK\r\n" + (0..<10).map { "F\($0): v\r\n" }.joined() + "\r\n"
        let (exchanges, stats) = harness.run([.client(bytes("GET / HTTP/1.1\r\n\r\n")), .server(bytes(head))])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].response?.head.headers.count, 5)
        XCTAssertTrue(exchanges[0].anomalies.contains(.headerTooLarge))
        XCTAssertGreaterThan(stats.skippedBytes, 0)
    }
}

/// Request lines broken the way a real scanner's probes break them (zeek's http_methods.pcap,
/// against a real server): tolerated where tshark tolerates them too, flagged.
final class TolerantRequestLineTests: XCTestCase {
    func testRequestLineWithoutVersionOrWithAMangledOneIsParsedAndFlagged() {
        for (line, method, target) in [("OPTIONS HTTP/1.1\n", "OPTIONS", "HTTP/1.1"),
                                       ("GET /HTTP/1.1\n", "GET", "/HTTP/1.1"),
                                       ("GET / HTTP/1.\n", "GET", "/")] {
            let (exchanges, _) = Harness().run([
                .client(bytes(line + "Host: www.google.com\n\n")),
                .server(bytes("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")),
            ])
            XCTAssertEqual(exchanges.count, 1, line)
            XCTAssertEqual(exchanges.first?.request?.head.method, method, line)
            XCTAssertEqual(exchanges.first?.request?.head.target, target, line)
            XCTAssertEqual(exchanges.first?.request?.head.headers.first(named: "Host"), "www.google.com")
            XCTAssertEqual(exchanges.first?.response?.head.status, 400)
            XCTAssertTrue(exchanges.first?.anomalies.contains(.invalidRequestLine) == true, line)
        }
    }

    func testALineWithoutSpacesIsNotARequest() {
        let (exchanges, stats) = Harness().run([
            .client(bytes("OPTIONSHTTP/1.1\nHost: www.google.com\n\n")),
            .server(bytes("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertNil(exchanges[0].request)
        XCTAssertTrue(exchanges[0].anomalies.contains(.responseWithoutRequest))
        XCTAssertGreaterThan(stats.skippedBytes, 0)
    }
}

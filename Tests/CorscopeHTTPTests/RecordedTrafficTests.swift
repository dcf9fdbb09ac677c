import CorscopeCapture
import CorscopeHTTP
import XCTest

/// Real bytes recorded from nginx and a small socket server (see `RecordedFixtures`).
final class RecordedTrafficTests: XCTestCase {
    /// The file nginx served gzip-compressed (Python's json.dumps of the same structure).
    static let dataJSON: [UInt8] = {
        let items = (0..<60).map { "{\"id\": \($0), \"name\": \"item \($0)\", \"tags\": [\"a\", \"b\"]}" }
        return Array(("{\"items\": [" + items.joined(separator: ", ") + "]}").utf8)
    }()

    func events(_ c: RecordedConnection) -> [StreamEvent] { [.client(c.client), .server(c.server)] }

    func testPipelinedPreflightGzipHeadAndPlain() throws {
        let (exchanges, stats) = Harness().run(events(RecordedFixtures.pipelined))
        XCTAssertEqual(exchanges.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(exchanges.map { $0.request?.head.method }, ["OPTIONS", "GET", "HEAD", "GET"])
        XCTAssertEqual(exchanges.map { $0.response?.head.status }, [204, 200, 200, 200])
        XCTAssertEqual(exchanges.flatMap(\.anomalies), [])

        let preflight = try XCTUnwrap(exchanges[0].response)
        XCTAssertEqual(preflight.head.headers.first(named: "access-control-allow-methods"), "GET, POST, PUT")
        XCTAssertEqual(preflight.body.wireLength, 0)
        XCTAssertEqual(exchanges[0].request?.head.headers.first(named: "Access-Control-Request-Method"), "PUT")

        let gzipped = try XCTUnwrap(exchanges[1].response)
        XCTAssertEqual(gzipped.head.headers.first(named: "Transfer-Encoding"), "chunked")
        XCTAssertEqual(gzipped.body.contentEncoding, ["gzip"])
        XCTAssertEqual(gzipped.body.wireLength, 0x155)
        XCTAssertEqual(gzipped.body.decodedLength, RecordedTrafficTests.dataJSON.count)
        XCTAssertEqual(gzipped.body.kept, RecordedTrafficTests.dataJSON)
        XCTAssertFalse(gzipped.body.isTruncated)
        XCTAssertEqual(gzipped.head.headers.values(named: "access-control-allow-origin"), ["https://app.example.com"])
        XCTAssertEqual(exchanges[1].request?.head.headers.count, 14)

        // HEAD: Content-Length 11 but no body follows; the next response must still parse.
        let head = try XCTUnwrap(exchanges[2].response)
        XCTAssertEqual(head.head.headers.first(named: "content-length"), "11")
        XCTAssertEqual(head.body.wireLength, 0)
        XCTAssertEqual(exchanges[3].response?.body.kept, bytes("hello cors\n"))

        XCTAssertEqual(stats.requestBytesParsed, RecordedFixtures.pipelined.client.count)
        XCTAssertEqual(stats.responseBytesParsed, RecordedFixtures.pipelined.server.count)
        XCTAssertEqual(stats.skippedBytes, 0)
        XCTAssertEqual(stats.requests, 4)
        XCTAssertEqual(stats.responses, 4)
        XCTAssertEqual(stats.exchanges, 4)
        XCTAssertEqual(stats.bodyWireBytes, 0x155 + 11)
    }

    func testNotModifiedHasNoBody() throws {
        let (exchanges, _) = Harness().run(events(RecordedFixtures.conditional))
        XCTAssertEqual(exchanges.count, 1)
        let response = try XCTUnwrap(exchanges[0].response)
        XCTAssertEqual(response.head.status, 304)
        XCTAssertEqual(response.head.reason, "Not Modified")
        XCTAssertEqual(response.body.wireLength, 0)
        XCTAssertEqual(exchanges[0].anomalies, [])
    }

    func testExpectContinueRecordsInterimResponse() throws {
        let c = RecordedFixtures.expectContinue
        // Capture order: head, 100 Continue, body, final response.
        let headEnd = c.client.count - 27
        let interimEnd = 25
        let (exchanges, _) = Harness().run([
            .client(Array(c.client[..<headEnd])), .server(Array(c.server[..<interimEnd])),
            .client(Array(c.client[headEnd...])), .server(Array(c.server[interimEnd...])),
        ])
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].interimResponses.map(\.status), [100])
        XCTAssertEqual(exchanges[0].response?.head.status, 201)
        XCTAssertEqual(exchanges[0].request?.body.kept, bytes("{\"name\":\"x\",\"value\":12345}\n"))
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("created\n"))
        XCTAssertEqual(exchanges[0].anomalies, [])
    }

    func testWebSocketUpgradeStopsParsingBothDirections() throws {
        let c = RecordedFixtures.websocket
        let (exchanges, stats) = Harness().run(events(c))
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].response?.head.status, 101)
        XCTAssertEqual(exchanges[0].anomalies, [.protocolSwitched])
        XCTAssertEqual(exchanges[0].request?.head.headers.first(named: "upgrade"), "websocket")
        // Client frame (11 bytes) and server frames (28 + 4 bytes) are not HTTP; the server
        // frame even contains "GET / HTTP/1.1", which must not be parsed as a request.
        XCTAssertEqual(stats.skippedBytes, 11 + 28 + 4)
        XCTAssertEqual(stats.requestBytesParsed + stats.responseBytesParsed + stats.skippedBytes, c.client.count + c.server.count)
    }

    func testCloseDelimitedResponseEndsAtConnectionEnd() throws {
        let (exchanges, _) = Harness().run(events(RecordedFixtures.closeDelimited))
        XCTAssertEqual(exchanges.count, 1)
        XCTAssertEqual(exchanges[0].request?.head.version, .http1_0)
        XCTAssertEqual(exchanges[0].response?.body.kept, bytes("{\"close\":\"delimited\",\"n\":[1,2,3]}\n"))
        XCTAssertEqual(exchanges[0].anomalies, [])
    }

    /// Every fixture gives the same result whatever the segmenting: split once at every byte
    /// offset, and fed one byte at a time.
    func testEverySplitGivesIdenticalResults() {
        let fixtures: [(String, RecordedConnection)] = [
            ("pipelined", RecordedFixtures.pipelined), ("conditional", RecordedFixtures.conditional),
            ("continue", RecordedFixtures.expectContinue), ("websocket", RecordedFixtures.websocket),
            ("close_delimited", RecordedFixtures.closeDelimited),
        ]
        for (name, fixture) in fixtures {
            let reference = describe(Harness().run(events(fixture)).exchanges)
            XCTAssertFalse(reference.isEmpty)
            let longest = max(fixture.client.count, fixture.server.count)
            for offset in 1..<longest {
                var harness = Harness()
                harness.splitAt = offset
                let result = describe(harness.run(events(fixture)).exchanges)
                if result != reference {
                    XCTFail("\(name) split at \(offset) differs:\n\(result)\nexpected:\n\(reference)")
                    break
                }
            }
            var bytewise = Harness()
            bytewise.segmentSize = 1
            XCTAssertEqual(describe(bytewise.run(events(fixture)).exchanges), reference, name)
            XCTAssertEqual(bytewise.run(events(fixture)).statistics, Harness().run(events(fixture)).statistics, name)
        }
    }
}

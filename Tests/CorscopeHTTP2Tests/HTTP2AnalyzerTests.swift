import Foundation
import CorscopeCapture
import CorscopeHTTP
import CorscopeHTTP2
import CorscopeReassembly
import CorscopeTestSupport
import XCTest

/// The HTTP/2 analyzer on real recordings (`Captures/h2c/record.sh`) and public captures: what
/// each stream becomes, in which order, and what gaps and segmentation change.
final class HTTP2AnalyzerTests: XCTestCase {
    static func recorded(_ name: String) throws -> CaptureResult {
        try CaptureHarness.run(PackagePaths.path("Captures/h2c/\(name).pcap"))
    }

    static func publicCapture(_ name: String) throws -> CaptureResult {
        let path = try PackagePaths.publicCaptures().appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(name) is absent from ../shared/public-captures: skipped") }
        return try CaptureHarness.run(path)
    }

    // MARK: nginx, prior knowledge

    func testNginxMultiplexedStreamsBecomeExchangesInStreamOpenOrder() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let first = result.exchanges.filter { $0.connection.id == 0 }
        XCTAssertEqual(first.map(\.streamID), [13, 15, 17, 19])
        XCTAssertEqual(first.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(first.map(\.id), ["0.s13", "0.s15", "0.s17", "0.s19"])
        XCTAssertEqual(first.map { $0.requestHead?.target }, ["/api/data.json", "/dup.txt", "/large.bin", "/plain.txt"])
        XCTAssertEqual(first.map { $0.responseHead?.status }, [200, 200, 200, 200])
        // /plain.txt (19) completed before /large.bin (17) but waited for it: stream-open order.
        let large = try XCTUnwrap(first[2].response), plain = try XCTUnwrap(first[3].response)
        XCTAssertLessThan(plain.lastByte, large.lastByte)
        for exchange in result.exchanges {
            XCTAssertEqual(exchange.transport, HTTPTransport(isHTTP2: true))
            XCTAssertEqual(exchange.requestHead?.version, HTTPVersion(major: 2, minor: 0))
            XCTAssertEqual(exchange.responseHead?.reason, "")
            let request = try XCTUnwrap(exchange.request), response = try XCTUnwrap(exchange.response)
            XCTAssertLessThanOrEqual(request.firstByte, response.firstByte)
            XCTAssertLessThanOrEqual(response.firstByte, response.lastByte)
        }
        let stats = try XCTUnwrap(result.http2[0])
        XCTAssertGreaterThan(stats.frames(of: .windowUpdate), 0, "300 KB through a 64 KB window")
        XCTAssertEqual(stats.frames(of: .priority), 5, "nghttp's dependency anchors on idle streams 3…11")
        XCTAssertEqual(stats.streams, 4)
        XCTAssertEqual(stats.headerBlocksDecoded, 8)
        XCTAssertEqual(stats.hpackErrors + stats.headerBlocksLost + stats.gaps + stats.skippedBytes, 0)
        XCTAssertFalse(stats.prefaceMissing)
    }

    func testRequestHeadKeepsPseudoHeadersInDecodedOrderAndDuplicatesApart() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let data = try XCTUnwrap(result.exchanges.first { $0.requestHead?.target == "/api/data.json" })
        XCTAssertEqual(data.requestHead?.headers.pairs.map(\.name),
                       [":method", ":path", ":scheme", ":authority", "accept", "accept-encoding", "user-agent", "origin"])
        XCTAssertEqual(data.requestHead?.method, "GET")
        XCTAssertEqual(data.requestURL, "http://127.0.0.1:24641/api/data.json")
        XCTAssertEqual(data.requestAuthority, "127.0.0.1:24641")
        XCTAssertEqual(data.responseHead?.headers.pairs.first?.name, ":status")
        // nginx's two add_header lines arrive as two HTTP/2 fields and stay two fields.
        let dup = try XCTUnwrap(result.exchanges.first { $0.requestHead?.target == "/dup.txt" })
        XCTAssertEqual(dup.responseHead?.headers.values(named: "access-control-allow-origin"),
                       ["http://app.test:24650", "http://app.test:24650"])
    }

    func testBodiesCountDataBytesAndKeepThePrefix() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let gzipped = try XCTUnwrap(result.exchanges.first { $0.requestHead?.target == "/api/data.json" }?.response)
        XCTAssertEqual(gzipped.body.contentEncoding, ["gzip"])
        XCTAssertEqual(gzipped.body.wireLength, 1028)
        // Decoded like an HTTP/1 body: the JSON document record.sh served ({"items": [...]}), whole.
        XCTAssertEqual(gzipped.body.decodedLength, gzipped.body.kept.count)
        XCTAssertGreaterThan(gzipped.body.kept.count, gzipped.body.wireLength)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(gzipped.body.kept)) as? [String: Any])
        XCTAssertNotNil(document["items"] as? [Any])
        XCTAssertFalse(gzipped.body.isTruncated)
        let large = try XCTUnwrap(result.exchanges.first { $0.requestHead?.target == "/large.bin" })
        XCTAssertEqual(large.response?.body.wireLength, 300_000)
        XCTAssertEqual(large.response?.body.kept.count, HTTPConfiguration().keptBodyBytes)
        XCTAssertEqual(large.response?.body.isTruncated, true)
        XCTAssertEqual(large.anomalies, [.bodyTruncated])
        XCTAssertEqual(result.details[large.id]?.responseDataBytes, 300_000)
    }

    func testPreflightAndItsPutShareOneConnection() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let second = result.exchanges.filter { $0.connection.id == 1 }
        XCTAssertEqual(second.map(\.streamID), [1, 3])
        XCTAssertEqual(second.map { $0.requestHead?.method }, ["OPTIONS", "PUT"])
        XCTAssertEqual(second[0].responseHead?.status, 204)
        XCTAssertEqual(second[0].requestHead?.headers.first(named: "access-control-request-method"), "PUT")
        XCTAssertEqual(second[0].responseHead?.headers.first(named: "access-control-allow-methods"), "GET, PUT")
        let put = try XCTUnwrap(second[1].request)
        XCTAssertEqual(put.body.wireLength, 19)
        XCTAssertEqual(put.body.kept, Array(#"{"name":"new item"}"#.utf8))
        XCTAssertGreaterThanOrEqual(put.lastByte, put.firstByte)
        XCTAssertEqual(second[1].responseHead?.status, 200)
        XCTAssertEqual(second.flatMap(\.anomalies), [])
    }

    func testStreamResetBeforeItsResponse() throws {
        let result = try Self.recorded("nginx-reset")
        XCTAssertEqual(result.exchanges.map(\.streamID), [1, 3, 5])
        XCTAssertEqual(result.exchanges.map { $0.requestHead?.target }, ["/plain.txt", "/api/data.json", "/dup.txt"])
        let reset = result.exchanges[1]
        XCTAssertNil(reset.response)
        XCTAssertEqual(reset.anomalies, [.requestWithoutResponse, .streamReset])
        XCTAssertEqual(reset.http2?.resetCode, "CANCEL")
        let details = try XCTUnwrap(result.details[reset.id])
        XCTAssertEqual(details.resetErrorCode, 0x8)
        XCTAssertEqual(HTTP2ErrorCode.name(details.resetErrorCode ?? 0), "CANCEL")
        XCTAssertEqual(details.resetBy, .clientToServer)
        XCTAssertEqual(details.anomalies, [.streamReset])
        XCTAssertEqual(result.exchanges.map { $0.responseHead?.status }, [200, nil, 200])
        XCTAssertEqual(result.exchanges[0].anomalies + result.exchanges[2].anomalies, [])
        XCTAssertEqual(result.exchanges[2].responseHead?.headers.values(named: "access-control-allow-origin").count, 2)
        let stats = try XCTUnwrap(result.http2[0])
        XCTAssertEqual(stats.resetsByErrorCode[0x8], 1)
        XCTAssertGreaterThan(stats.resetsByErrorCode[0x5] ?? 0, 0, "the client's STREAM_CLOSED for nginx's late DATA")
        XCTAssertGreaterThan(stats.anomalies[.frameAfterStreamEnd] ?? 0, 0, "nginx's late 200 head on stream 3")
        XCTAssertGreaterThan(stats.frames(of: .ping), 0)
        XCTAssertGreaterThan(stats.frames(of: .goAway), 0)
    }

    // MARK: nghttpd: push, padding, trailers

    func testServerPushPaddingAndTrailers() throws {
        let result = try Self.recorded("nghttpd-push")
        XCTAssertEqual(result.exchanges.map(\.streamID), [13, 15, 2], "the pushed stream opens at its PUSH_PROMISE")
        let pushed = result.exchanges[2]
        XCTAssertEqual(pushed.requestHead?.method, "GET")
        XCTAssertEqual(pushed.requestHead?.target, "/style.css")
        XCTAssertEqual(pushed.responseHead?.status, 200)
        XCTAssertEqual(pushed.response?.body.wireLength, 720)
        XCTAssertEqual(result.details[pushed.id]?.promisedOn, 13)
        XCTAssertEqual(result.details[pushed.id]?.anomalies, [.serverPush])
        for exchange in result.exchanges {
            XCTAssertEqual(exchange.response?.trailers.pairs.map { "\($0.name): \($0.value)" }, ["x-checksum: 1234"])
            XCTAssertEqual(exchange.anomalies, exchange.streamID.map { $0 % 2 == 0 } == true ? [.serverPush] : [])
            XCTAssertGreaterThan(result.details[exchange.id]?.paddingBytes ?? 0, 0, "nghttpd -b 7 pads every frame")
        }
        // Padding is not body: the bodies are the files' exact sizes.
        XCTAssertEqual(result.exchanges.map { $0.response?.body.wireLength }, [63, 15, 720])
        let stats = result.totals
        XCTAssertEqual(stats.pushPromises, 1)
        XCTAssertEqual(stats.paddingBytes, 70)
    }

    // MARK: h2c upgrade (HTTP/1 hands over)

    func testH2CUpgradeIsStreamOneWithThe101AsInterim() throws {
        for name in ["h2c-upgrade-curl", "h2c-upgrade-nghttp"] {
            let result = try Self.recorded(name)
            let upgrade = try XCTUnwrap(result.exchanges.first, name)
            XCTAssertEqual(upgrade.streamID, 1, name)
            XCTAssertEqual(upgrade.index, 0, name)
            XCTAssertEqual(upgrade.requestHead?.version, .http1_1, name)
            XCTAssertEqual(upgrade.requestHead?.target, "/plain.txt", name)
            XCTAssertEqual(upgrade.requestHead?.headers.first(named: "upgrade"), "h2c", name)
            XCTAssertEqual(upgrade.interimResponses.map(\.status), [101], name)
            XCTAssertEqual(upgrade.responseHead?.status, 200, name)
            XCTAssertEqual(upgrade.responseHead?.version, HTTPVersion(major: 2, minor: 0), name)
            XCTAssertEqual(upgrade.response?.body.kept, Array("hello over h2c\n".utf8), name)
            XCTAssertEqual(upgrade.anomalies, [], name)
            XCTAssertTrue(result.exchanges.allSatisfy { $0.streamID != nil }, "\(name): the HTTP/1 analyzer emitted nothing itself")
        }
        let nghttp = try Self.recorded("h2c-upgrade-nghttp")
        XCTAssertEqual(nghttp.exchanges.map(\.streamID), [1, 13])
        XCTAssertEqual(nghttp.exchanges[1].requestHead?.target, "/style.css")
        XCTAssertEqual(nghttp.exchanges[1].response?.body.wireLength, 720)
    }

    // MARK: Public captures

    func testPublicH2CUpgradesAndContinuation() throws {
        let keywords = try Self.publicCapture("sv__http2-keywords2-h2c-upgrade.pcap")
        XCTAssertEqual(keywords.exchanges.map(\.streamID), [1, 3])
        XCTAssertEqual(keywords.exchanges[0].interimResponses.map(\.status), [101])
        XCTAssertEqual(keywords.exchanges[0].requestHead?.version, .http1_1)
        XCTAssertEqual(keywords.exchanges.map { $0.responseHead?.status }, [200, 404])

        let range = try Self.publicCapture("sv__http2-range-h2c-upgrade.pcap")
        let upgraded = range.exchanges.filter { $0.streamID == 1 }
        XCTAssertEqual(upgraded.count, 3)
        XCTAssertTrue(upgraded.allSatisfy { $0.interimResponses.map(\.status) == [101] && $0.responseHead?.status == 206 })

        let continuation = try Self.publicCapture("sv__http2-continuation.pcap")
        XCTAssertEqual(continuation.totals.frames(of: .continuation), 2)
        let exchange = try XCTUnwrap(continuation.exchanges.first)
        XCTAssertEqual(exchange.requestHead?.method, "GET")
        XCTAssertGreaterThan(exchange.requestHead?.headers.count ?? 0, 6, "fields from the HEADERS and both CONTINUATIONs")
        // The client reset the stream once it had the answer: said, and nothing lost.
        XCTAssertEqual(exchange.anomalies, [.streamReset])
        XCTAssertNotNil(exchange.responseHead)
    }

    func testPublicDNSOverHTTP2PostsCarryTheirBodies() throws {
        let result = try Self.publicCapture("sv__dns-over-http2-post.pcap")
        XCTAssertEqual(result.http2Exchanges.count, 34)
        for exchange in result.http2Exchanges {
            XCTAssertEqual(exchange.requestHead?.method, "POST")
            XCTAssertEqual(exchange.requestHead?.headers.first(named: "content-type"), "application/dns-message")
            XCTAssertEqual(exchange.request?.body.wireLength, Int(exchange.requestHead?.headers.first(named: "content-length") ?? ""))
            if let length = exchange.responseHead?.headers.first(named: "content-length") {
                XCTAssertEqual(exchange.response?.body.wireLength, Int(length))
            }
        }
        XCTAssertEqual(result.http2Exchanges.map(\.streamID), result.http2Exchanges.map(\.streamID).sorted { $0! < $1! })
    }

    // MARK: Segmentation and gaps (the recorded bytes replayed)

    /// One line per exchange with everything the tests compare.
    static func summary(_ exchanges: [HTTPExchange]) -> [String] {
        exchanges.map { e in
            "\(e.streamID ?? 0) \(e.requestHead?.headers.pairs.map { "\($0.name)=\($0.value)" } ?? []) \(e.request?.body.wireLength ?? -1) "
                + "\(e.interimResponses.map(\.status)) \(e.responseHead?.headers.pairs.map { "\($0.name)=\($0.value)" } ?? []) "
                + "\(e.response?.body.wireLength ?? -1) \(e.response?.body.kept.count ?? -1) \(e.response?.trailers.pairs.map(\.value) ?? []) \(e.anomalies)"
        }
    }

    func testAnySegmentationGivesTheSameExchanges() throws {
        for name in ["nginx-prior-knowledge", "nghttpd-push"] {
            let result = try Self.recorded(name)
            for (id, events) in result.events {
                let connection = try XCTUnwrap(result.exchanges.first { $0.connection.id == id }?.connection)
                let whole = Self.summary(result.exchanges.filter { $0.connection.id == id })
                for size in [1, 2, 9, 10, 4096] {
                    let replay = Replay(segment: size).run(events, connection: connection)
                    XCTAssertEqual(Self.summary(replay.exchanges), whole, "\(name) connection \(id) in \(size)-byte segments")
                    XCTAssertEqual(replay.statistics.frames, result.http2[id]?.frames)
                }
            }
        }
    }

    /// Frame boundaries of one side's recorded bytes: (offset, length, type, stream).
    static func frames(_ events: [StreamEvent], _ direction: FlowDirection) -> [(offset: Int, length: Int, type: UInt8, stream: UInt32)] {
        var bytes: [UInt8] = []
        for case .data(let data, let side, _) in events where side == direction { bytes += data }
        var offset = direction == .clientToServer ? 24 : 0
        var frames: [(Int, Int, UInt8, UInt32)] = []
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let stream = UInt32(bytes[offset + 5] & 0x7f) << 24 | UInt32(bytes[offset + 6]) << 16 | UInt32(bytes[offset + 7]) << 8 | UInt32(bytes[offset + 8])
            frames.append((offset, length, bytes[offset + 3], stream))
            offset += 9 + length
        }
        return frames
    }

    func testGapInsideDataPayloadCostsOnlyThoseBodyBytes() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let events = try XCTUnwrap(result.events[0])
        let connection = try XCTUnwrap(result.exchanges.first?.connection)
        // The middle of a DATA frame of /large.bin (stream 17).
        let data = Self.frames(events, .serverToClient).filter { $0.type == 0 && $0.stream == 17 && $0.length > 4000 }
        let frame = try XCTUnwrap(data.dropFirst(5).first)
        let cut = (frame.offset + 9 + 1000)..<(frame.offset + 9 + 3000)
        let replay = Replay().run(events, connection: connection) { _, direction in direction == .serverToClient ? cut : nil }
        XCTAssertEqual(replay.exchanges.map(\.streamID), [13, 15, 17, 19])
        let large = try XCTUnwrap(replay.exchanges[2].response)
        XCTAssertEqual(large.body.missingBytes, 2000)
        XCTAssertEqual(large.body.wireLength, 298_000)
        // Keeping stopped at the gap, before the kept prefix reached its cap (as HTTP/1 does).
        XCTAssertEqual(replay.exchanges[2].anomalies, [.contentGap])
        XCTAssertEqual(replay.statistics.gapsInsidePayload, 1)
        XCTAssertEqual(replay.statistics.resyncs, 0)
        XCTAssertEqual(replay.statistics.headerBlocksLost, 0)
        // The other streams are untouched.
        let whole = Self.summary(result.exchanges.filter { $0.connection.id == 0 })
        XCTAssertEqual(Self.summary([replay.exchanges[0], replay.exchanges[1], replay.exchanges[3]]), [whole[0], whole[1], whole[3]])
    }

    func testGapOverAHeadersFrameLosesThatHeadAndDecodesOnlyWhatIsExact() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let events = try XCTUnwrap(result.events[0])
        let connection = try XCTUnwrap(result.exchanges.first?.connection)
        let whole = result.exchanges.filter { $0.connection.id == 0 }
        // The client's HEADERS for /dup.txt (stream 15), lost whole.
        let headers = try XCTUnwrap(Self.frames(events, .clientToServer).first { $0.type == 1 && $0.stream == 15 })
        let cut = headers.offset..<(headers.offset + 9 + headers.length)
        let replay = Replay().run(events, connection: connection) { _, direction in direction == .clientToServer ? cut : nil }
        let byStream = Dictionary(uniqueKeysWithValues: replay.exchanges.map { ($0.streamID ?? 0, $0) })
        XCTAssertEqual(replay.statistics.gaps, 1)
        XCTAssertEqual(replay.statistics.resyncs, 1, "the next frame header is found again")
        // Stream 13 was decoded before the gap; 15 lost its request but not its response.
        XCTAssertEqual(Self.summary([try XCTUnwrap(byStream[13])]), Self.summary([whole[0]]))
        let dup = try XCTUnwrap(byStream[15])
        XCTAssertNil(dup.request)
        XCTAssertEqual(dup.responseHead?.status, 200)
        XCTAssertEqual(dup.anomalies, [.responseWithoutRequest])
        // Every request decoded after the gap (with a rebuilt table) equals the real one; the
        // others are missing, never wrong.
        for exchange in replay.exchanges where exchange.streamID != 13 {
            guard let head = exchange.requestHead else {
                XCTAssertEqual(exchange.anomalies.first, .responseWithoutRequest)
                continue
            }
            let original = try XCTUnwrap(whole.first { $0.streamID == exchange.streamID })
            XCTAssertEqual(head, original.requestHead)
            XCTAssertTrue(replay.details[exchange.id]?.anomalies.contains(.decodedAfterHPACKReset) ?? false)
        }
        XCTAssertEqual(replay.exchanges.compactMap { $0.responseHead?.status }.count, 4, "the server side had no gap")
        XCTAssertEqual(replay.statistics.headerBlocksLost + replay.statistics.headerBlocksDecodedAfterReset, 2,
                       "the two blocks after the gap: each decoded exactly or counted lost")
    }

    func testEndWithoutEndStreamFlagsTheOpenStreams() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let events = try XCTUnwrap(result.events[0])
        let connection = try XCTUnwrap(result.exchanges.first?.connection)
        // Stop the server's bytes half-way through /large.bin.
        var served = 0
        var truncated: [StreamEvent] = []
        for event in events {
            if case .data(let bytes, .serverToClient, let time) = event {
                if served >= 150_000 { continue }
                served += bytes.count
                truncated.append(.data(bytes, .serverToClient, time))
            } else {
                truncated.append(event)
            }
        }
        let replay = Replay().run(truncated, connection: connection)
        let large = try XCTUnwrap(replay.exchanges.first { $0.streamID == 17 })
        XCTAssertTrue(large.anomalies.contains(.incompleteMessage))
        XCTAssertLessThan(large.response?.body.wireLength ?? 0, 300_000)
        XCTAssertEqual(replay.exchanges.map(\.streamID), [13, 15, 17, 19])
    }

    func testOpenStreamCapEmitsTheOldestEarly() throws {
        let result = try Self.recorded("nginx-prior-knowledge")
        let events = try XCTUnwrap(result.events[0])
        let connection = try XCTUnwrap(result.exchanges.first?.connection)
        let replay = Replay(configuration: HTTPConfiguration(maxPendingRequests: 2)).run(events, connection: connection)
        XCTAssertEqual(replay.exchanges.count, 4)
        XCTAssertGreaterThan(replay.statistics.streamsEvicted, 0)
        XCTAssertEqual(Set(replay.exchanges.compactMap(\.streamID)), [13, 15, 17, 19])
        let evicted = replay.exchanges.filter { replay.details[$0.id]?.anomalies.contains(.streamEvicted) == true }
        XCTAssertEqual(evicted.count, replay.statistics.streamsEvicted)
        XCTAssertTrue(evicted.allSatisfy { $0.anomalies.contains(.requestWithoutResponse) || $0.anomalies.contains(.incompleteMessage) })
    }

    /// Found by FuzzHTTP2 (Fuzz/regressions/FuzzHTTP2/empty-field-name): a request head with a
    /// field whose HPACK literal name is empty. The field stays out of the head, as an HTTP/1
    /// line with an empty name does, and the exchange says so.
    func testAFieldWithAnEmptyNameIsLeftOutAndFlagged() {
        let connection = ConnectionInfo(id: 1, client: Endpoint(address: .v4(0x7F00_0001), port: 50_000),
                                        server: Endpoint(address: .v4(0x7F00_0001), port: 8080),
                                        sawHandshake: true, firstSeen: Timestamp(seconds: 1000, nanoseconds: 0))
        var exchanges: [HTTPExchange] = []
        let analyzer = HTTP2ConnectionAnalyzer(connection: connection, transport: HTTPTransport(isHTTP2: true)) { exchanges.append($0) }
        func frame(_ type: UInt8, _ flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
            [UInt8(payload.count >> 16), UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF), type, flags,
             UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
        }
        let time = Timestamp(seconds: 1000, nanoseconds: 0)
        // HEADERS, END_STREAM | END_HEADERS: :method GET, :scheme https, :path /, "" = "abc", :authority x.
        let client = HTTP2ConnectionAnalyzer.clientPreface + frame(4, 0, stream: 0, [])
            + frame(1, 5, stream: 1, [0x82, 0x87, 0x84, 0x00, 0x00, 0x03, 0x61, 0x62, 0x63, 0x41, 0x01, 0x78])
        let server = frame(4, 0, stream: 0, []) + frame(1, 5, stream: 1, [0x88])   // :status 200
        client.withUnsafeBytes { analyzer.receive($0, direction: .clientToServer, time: time) }
        server.withUnsafeBytes { analyzer.receive($0, direction: .serverToClient, time: time) }
        analyzer.end(direction: .clientToServer, time: time, reason: .fin)
        analyzer.end(direction: .serverToClient, time: time, reason: .fin)
        XCTAssertEqual(exchanges.count, 1)
        let fields = exchanges.first?.requestHead?.headers.pairs.map(\.name) ?? []
        XCTAssertEqual(fields, [":method", ":scheme", ":path", ":authority"])
        XCTAssertTrue(exchanges.first?.anomalies.contains(.malformedHeaderLine) == true, "\(exchanges.first?.anomalies ?? [])")
        XCTAssertEqual(exchanges.first?.responseHead?.status, 200)
    }

    func testPrefaceDetection() {
        let preface = HTTP2ConnectionAnalyzer.clientPreface
        XCTAssertTrue((preface + [0, 0, 0, 4]).withUnsafeBytes(HTTP2ConnectionAnalyzer.startsWithPreface))
        XCTAssertFalse(Array(preface.dropLast()).withUnsafeBytes(HTTP2ConnectionAnalyzer.startsWithPreface))
        XCTAssertFalse(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes(HTTP2ConnectionAnalyzer.startsWithPreface))
    }
}

@testable import CorscopeHTTP2

final class HTTP2SettingsHeaderTests: XCTestCase {
    /// The HTTP2-Settings values curl and nghttp sent in the recorded upgrades (base64url, no padding).
    func testUpgradeSettingsDecode() {
        XCTAssertEqual(HTTP2ConnectionAnalyzer.base64URLDecoded("AAMAAABkAAQCAAAAAAIAAAAA"),
                       [0, 3, 0, 0, 0, 100, 0, 4, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0])
        XCTAssertEqual(HTTP2ConnectionAnalyzer.base64URLDecoded("AAMAAABkAAQAAP__"),
                       [0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff])
        XCTAssertNil(HTTP2ConnectionAnalyzer.base64URLDecoded("AA*A"))
    }
}

import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import Foundation
import XCTest

/// Many connections of pipelined requests that are never answered (the robustness generator
/// `http-pending-requests-gen.py`, scaled down): the requests waiting for a response are
/// capped over all connections of the pipeline, in count and in bytes; past the cap the oldest
/// waiting request, whichever connection it is on, is emitted without a response and flagged
/// `pending_request_evicted`, and the evictions are counted.
final class PendingRequestBudgetTests: XCTestCase {
    static let connections = 200
    static let requestsPerConnection = 100

    /// A pcap of `connections` connections (handshake seen, never closed), each carrying
    /// `requestsPerConnection` pipelined GETs in 1,460-byte segments and no response.
    static func unansweredPipelines() throws -> URL {
        var out: [UInt8] = []
        func le32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8((v >> (8 * k)) & 0xff)) } }
        func le16(_ v: UInt16) { out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8)) }
        func be(_ v: UInt64, _ bytes: Int, into a: inout [UInt8]) { for k in (0..<bytes).reversed() { a.append(UInt8((v >> (8 * UInt64(k))) & 0xff)) } }
        le32(0xa1b2_c3d4); le16(2); le16(4); le32(0); le32(0); le32(262_144); le32(1)
        func packet(_ src: [UInt8], _ dst: [UInt8], _ sport: UInt16, _ dport: UInt16, _ seq: UInt32, _ ack: UInt32,
                    _ flags: UInt8, _ payload: ArraySlice<UInt8>, _ ts: UInt32) {
            var frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]
            frame += [0x45, 0]; be(UInt64(40 + payload.count), 2, into: &frame)
            frame += [0, 0, 0x40, 0, 64, 6, 0, 0] + src + dst
            be(UInt64(sport), 2, into: &frame); be(UInt64(dport), 2, into: &frame)
            be(UInt64(seq), 4, into: &frame); be(UInt64(ack), 4, into: &frame)
            frame += [5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]
            frame += payload
            le32(ts); le32(0); le32(UInt32(frame.count)); le32(UInt32(frame.count))
            out += frame
        }
        var requests: [UInt8] = []
        for j in 0..<requestsPerConnection {
            requests += Array("GET /r/\(j) HTTP/1.1\r\nHost: a.example\r\nOrigin: http://b.example\r\n\r\n".utf8)
        }
        let server: [UInt8] = [10, 0, 0, 2]
        for i in 0..<connections {
            let client: [UInt8] = [10, 1, UInt8((i >> 8) & 255), UInt8(i & 255)]
            let port = UInt16(20_000 + i)
            let ts = UInt32(1_700_000_000 + i / 1000)
            packet(client, server, port, 80, 1000, 0, 0x02, [], ts)
            packet(server, client, 80, port, 5000, 1001, 0x12, [], ts)
            packet(client, server, port, 80, 1001, 5001, 0x10, [], ts)
            var seq: UInt32 = 1001
            var start = 0
            while start < requests.count {
                let end = min(start + 1460, requests.count)
                packet(client, server, port, 80, seq, 5001, 0x18, requests[start..<end], ts)
                seq &+= UInt32(end - start)
                start = end
            }
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-pending-\(UUID().uuidString).pcap")
        try Data(out).write(to: url)
        return url
    }

    struct Outcome {
        var exchanges: [HTTPExchange] = []
        var statistics = PipelineStatistics()
        var peak = 0
        var evictedByBudget = 0
        var waitingAfterRead = 0
    }

    func read(_ file: URL, http: HTTPConfiguration) throws -> Outcome {
        var configuration = ExchangePipeline.Configuration()
        configuration.http = http
        var outcome = Outcome()
        let pipeline = ExchangePipeline(configuration: configuration) { outcome.exchanges.append($0) }
        let result = try pipeline.read(file: file.path)
        XCTAssertEqual(result.outcome, .complete)
        outcome.statistics = pipeline.statistics
        outcome.peak = pipeline.pendingRequests.peakCount
        outcome.evictedByBudget = pipeline.pendingRequests.evicted
        outcome.waitingAfterRead = pipeline.pendingRequests.count
        return outcome
    }

    /// What holds whichever cap binds: every request comes out once, none with a response; the
    /// evicted ones say so and are counted; the waiting count never passed the cap by more than
    /// the requests of one segment; the oldest went first.
    func check(_ outcome: Outcome, cap: Int, file: StaticString = #filePath, line: UInt = #line) {
        let total = Self.connections * Self.requestsPerConnection
        XCTAssertEqual(outcome.exchanges.count, total, file: file, line: line)
        XCTAssertTrue(outcome.exchanges.allSatisfy { $0.response == nil && $0.request != nil }, file: file, line: line)
        XCTAssertTrue(outcome.exchanges.allSatisfy { $0.anomalies.contains(.requestWithoutResponse) }, file: file, line: line)
        let evicted = outcome.exchanges.filter { $0.anomalies.contains(.pendingRequestEvicted) }
        XCTAssertGreaterThanOrEqual(evicted.count, total - cap, file: file, line: line)
        XCTAssertEqual(outcome.statistics.http.pendingRequestsEvicted, evicted.count, file: file, line: line)
        XCTAssertEqual(outcome.statistics.anomalies[.pendingRequestEvicted], evicted.count, file: file, line: line)
        XCTAssertEqual(outcome.evictedByBudget, evicted.count, file: file, line: line)
        XCTAssertLessThanOrEqual(outcome.peak, cap + 32, "one 1,460-byte segment holds at most 22 of these requests", file: file, line: line)
        XCTAssertEqual(outcome.waitingAfterRead, 0, "every connection flushed at the end of the file", file: file, line: line)
        // The oldest waiting request over all connections goes first: the first connection's
        // requests, in order.
        let first = outcome.exchanges.prefix(Self.requestsPerConnection)
        XCTAssertEqual(Set(first.map(\.connection.id)).count, 1, file: file, line: line)
        XCTAssertEqual(first.map(\.index), Array(0..<Self.requestsPerConnection), file: file, line: line)
        XCTAssertEqual(first.first?.request?.head.target, "/r/0", file: file, line: line)
        XCTAssertTrue(first.allSatisfy { $0.anomalies.contains(.pendingRequestEvicted) }, file: file, line: line)
        // Without eviction the last connections' requests come out at the end of the file only.
        XCTAssertFalse(outcome.exchanges.last!.anomalies.contains(.pendingRequestEvicted), file: file, line: line)
    }

    func testTheCountCapHoldsOverAllConnections() throws {
        let file = try Self.unansweredPipelines()
        defer { try? FileManager.default.removeItem(at: file) }
        let started = Date()
        let outcome = try read(file, http: HTTPConfiguration(maxPendingRequestsTotal: 500))
        check(outcome, cap: 500)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
    }

    func testTheByteCapHoldsOverAllConnections() throws {
        let file = try Self.unansweredPipelines()
        defer { try? FileManager.default.removeItem(at: file) }
        // Each request is estimated at 256 bytes of bookkeeping plus its head: under 512.
        let outcome = try read(file, http: HTTPConfiguration(maxPendingRequestsTotal: 1 << 20, maxPendingRequestBytesTotal: 100 * 512))
        check(outcome, cap: 200)
        XCTAssertGreaterThan(outcome.peak, 100, "the bytes, not the count, bound the waiting requests")
    }

    /// A budget large enough changes nothing: the requests come out when the connections are
    /// flushed, none evicted.
    func testNothingIsEvictedUnderTheCap() throws {
        let file = try Self.unansweredPipelines()
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try read(file, http: HTTPConfiguration())
        XCTAssertEqual(outcome.exchanges.count, Self.connections * Self.requestsPerConnection)
        XCTAssertFalse(outcome.exchanges.contains { $0.anomalies.contains(.pendingRequestEvicted) })
        XCTAssertEqual(outcome.statistics.http.pendingRequestsEvicted, 0)
        XCTAssertEqual(outcome.peak, Self.connections * Self.requestsPerConnection)
    }
}

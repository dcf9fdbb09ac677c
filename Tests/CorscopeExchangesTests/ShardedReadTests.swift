import CorscopeCapture
@testable import CorscopeExchanges
import CorscopeHTTP
import CorscopeReassembly
import CorscopeTLS
import CorscopeTestSupport
import Foundation
import XCTest

/// Reading a capture with reassembly sharded over worker threads gives what one thread gives:
/// the same exchanges, in the same order, with the same connection ids and the same counts. On
/// every committed capture (and the public ones beside the project), with the default timeouts
/// and with timeouts so short that idle sweeps and hole expiries close connections throughout.
final class ShardedReadTests: XCTestCase {
    struct Reading: Equatable {
        var lines: [String]
        var counts: [String: Int]
    }

    static func read(_ path: String, workers: Int, keyLog: String?, shortTimeouts: Bool, twice: Bool = false) throws -> Reading {
        var configuration = ExchangePipeline.Configuration()
        configuration.workers = workers
        if let keyLog {
            let keys = TLSKeyStore()
            _ = try keys.add(contentsOfFile: keyLog)
            configuration.tlsKeys = keys
        }
        if shortTimeouts {
            configuration.assembler.idleTimeout = 0.002
            configuration.assembler.holeTimeout = 0.001
            configuration.assembler.sweepInterval = 0.001
        }
        var lines: [String] = []
        let pipeline = ExchangePipeline(configuration: configuration) { exchange in
            var json = JSONWriter()
            ExchangeJSON.write(exchange, to: &json)
            lines.append(String(decoding: json.bytes, as: UTF8.self))
        }
        // Twice: the second file's connections are numbered after the first's.
        for _ in 0..<(twice ? 2 : 1) { _ = try pipeline.read(file: path) }
        let s = pipeline.statistics
        let r = s.reassembly
        var counts: [String: Int] = [
            "exchanges": s.exchanges, "requests": s.requests, "responses": s.responses, "headerFields": s.headerFields,
            "bodyBytes": s.bodyBytes, "decodedBodyBytes": s.decodedBodyBytes, "anomalousExchanges": s.anomalousExchanges,
            "segments": r.segments, "payloadBytes": r.payloadBytes, "connections": r.connections,
            "withoutHandshake": r.connectionsWithoutHandshake, "delivered": r.deliveredBytes, "outOfOrder": r.outOfOrderSegments,
            "retransmitted": r.retransmittedBytes, "late": r.lateBytes, "gaps": r.gaps, "gapBytes": r.gapBytes,
            "idle": r.idleConnections, "evicted": r.evictedConnections,
            "tlsConnections": s.tls.connections, "tlsDecrypted": s.tls.decryptedConnections, "tlsRecords": s.tls.records,
            "plaintext": s.tls.plaintextBytes, "undecrypted": s.tls.undecryptedBytes,
            "notAnalysed": s.notAnalysed.traffic.count, "notAnalysedBytes": s.notAnalysed.traffic.reduce(0) { $0 + $1.bytes },
            "packets": s.capture.packets, "tcpPackets": s.capture.tcpPackets,
        ]
        for (anomaly, count) in s.anomalies { counts["anomaly " + anomaly.rawValue] = count }
        return Reading(lines: lines, counts: counts)
    }

    static func captures() -> [(path: String, keyLog: String?)] {
        var paths: [String] = []
        let root = URL(fileURLWithPath: PackagePaths.path("Captures"))
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where !url.path.contains("/bench/") {
                let name = url.lastPathComponent
                if name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") || name.hasSuffix(".pcap.gz") { paths.append(url.path) }
            }
        }
        if let shared = try? PackagePaths.publicCaptures(),
           let names = try? FileManager.default.contentsOfDirectory(atPath: shared.path) {
            for name in names where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") { paths.append(shared.appendingPathComponent(name).path) }
        }
        return paths.sorted().map { path in
            var base = path
            for suffix in [".gz", ".pcapng", ".pcap"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
            let keyLog = base + ".keylog"
            return (path, FileManager.default.fileExists(atPath: keyLog) ? keyLog : nil)
        }
    }

    func testShardedReadingGivesWhatOneThreadGives() throws {
        let captures = Self.captures()
        XCTAssertGreaterThan(captures.count, 30, "the committed captures are found")
        var exchanges = 0
        var idleClosed = 0
        for (path, keyLog) in captures {
            for shortTimeouts in [false, true] {
                let one = try Self.read(path, workers: 1, keyLog: keyLog, shortTimeouts: shortTimeouts)
                exchanges += one.lines.count
                if shortTimeouts { idleClosed += one.counts["idle"] ?? 0 }
                for workers in [2, 3] {
                    let sharded = try Self.read(path, workers: workers, keyLog: keyLog, shortTimeouts: shortTimeouts)
                    let name = "\((path as NSString).lastPathComponent), \(workers) workers\(shortTimeouts ? ", short timeouts" : "")"
                    XCTAssertEqual(sharded.counts, one.counts, name)
                    XCTAssertEqual(sharded.lines.count, one.lines.count, name)
                    if let first = zip(sharded.lines, one.lines).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
                        XCTFail("\(name): exchange \(first.offset) differs:\n\(first.element.0)\n\(first.element.1)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(exchanges, 1000, "the captures hold exchanges to compare")
        XCTAssertGreaterThan(idleClosed, 100, "short timeouts close connections in sweeps, across workers")
    }

    /// The inputs FuzzShardedRead found a difference on (each a capture whose last byte picks the
    /// workers, the timeouts and a second read), read as the fuzz target reads them.
    func testFuzzFindingsReadTheSameSharded() throws {
        let folder = PackagePaths.path("Fuzz/regressions/FuzzShardedRead")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let path = folder + "/" + name
            let configuration = try Data(contentsOf: URL(fileURLWithPath: path)).last ?? 0
            let shortTimeouts = configuration & 4 != 0, twice = configuration & 8 != 0
            let one = try Self.read(path, workers: 1, keyLog: nil, shortTimeouts: shortTimeouts, twice: twice)
            let sharded = try Self.read(path, workers: 2 + Int(configuration & 3), keyLog: nil, shortTimeouts: shortTimeouts, twice: twice)
            XCTAssertEqual(sharded.counts, one.counts, name)
            XCTAssertEqual(sharded.lines, one.lines, name)
            XCTAssertFalse(one.lines.isEmpty, name)
        }
    }

    /// Several files through one pipeline: connection ids go on where the previous file stopped.
    func testConnectionIDsContinueAcrossFiles() throws {
        let path = PackagePaths.path("Captures/nginx-cors.pcap")
        let one = try Self.read(path, workers: 1, keyLog: nil, shortTimeouts: false, twice: true)
        let sharded = try Self.read(path, workers: 2, keyLog: nil, shortTimeouts: false, twice: true)
        XCTAssertEqual(sharded, one)
        XCTAssertGreaterThan(one.lines.count, 4)
    }

    /// Both directions of a connection go to one worker; connections spread over all of them.
    func testShardOfAConnectionIsTheSameBothWays() {
        var used = Set<Int>()
        for port in UInt16(40000)..<UInt16(40064) {
            let client = Endpoint(address: .v4(0x7F00_0001), port: port)
            let server = Endpoint(address: .v4(0x7F00_0001), port: 8080)
            let v6client = Endpoint(address: .v6(high: 0x2001_0db8 << 32, low: UInt64(port)), port: port)
            let v6server = Endpoint(address: .v6(high: 0x2001_0db8 << 32, low: 1), port: 443)
            for (a, b) in [(client, server), (v6client, v6server)] {
                func segment(_ from: Endpoint, _ to: Endpoint) -> TCPSegment {
                    TCPSegment(time: .zero, source: from, destination: to, sequence: 0, acknowledgment: 0, flags: [],
                               window: 0, payload: UnsafeRawBufferPointer(start: nil, count: 0))
                }
                let forth = ShardedCaptureRead.shard(of: segment(a, b), among: 4)
                XCTAssertEqual(forth, ShardedCaptureRead.shard(of: segment(b, a), among: 4))
                used.insert(forth)
            }
        }
        XCTAssertEqual(used, [0, 1, 2, 3])
    }
}

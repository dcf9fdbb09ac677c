import CorscopeTestSupport
import Foundation
import XCTest

/// The hostile-input suite (issue 11), scaled down for CI: each generator in `scripts/hostile/`
/// writes its input into a temporary folder, the built `corscope` reads it under `/usr/bin/time`,
/// and the test checks the exit status, the peak RSS, the time, and that what was dropped or
/// skipped is counted exactly. `make bench` runs the same generators at full size
/// (`scripts/hostile/run.sh`).
final class HostileInputSuiteTests: XCTestCase {
    static let packageRoot = CommandLineTests.packageRoot
    static let generators = packageRoot.appendingPathComponent("scripts/hostile")
    /// Peak RSS allowed at CI size (debug build). The bound for `analyze` at any size.
    static let maxRSSBytes = 256 << 20
    /// Wall time allowed for one corscope run at CI size on a loaded machine (a debug build).
    static let maxSeconds = 20.0

    private var folder: URL!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw XCTSkip("/usr/bin/time is not installed (scripts/install-deps.sh test installs it)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    struct Run {
        var outcome: ChildOutcome
        /// What `/usr/bin/time` measured: peak resident set and wall time of corscope alone.
        var peakRSSBytes: Int
        var seconds: Double
        /// `--stats --json`'s counts (empty for other outputs).
        var stats: [String: Int]
        var stderr: String { outcome.stderr }
        var status: Int32 { outcome.status }
    }

    /// Writes the case's input with `scripts/hostile/gen-<name>.py size` and returns its path.
    func generate(_ name: String, _ size: String) throws -> String {
        let out = folder.appendingPathComponent(name + ".input").path
        let outcome = try ChildProcess.run("/usr/bin/env", ["python3", Self.generators.appendingPathComponent("gen-\(name).py").path, size, out],
                                           timeout: 60).requireExit()
        XCTAssertEqual(outcome.status, 0, outcome.summary)
        return out
    }

    /// Runs corscope on `input` (default: `exchanges --stats --json`), measured by /usr/bin/time.
    func corscope(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let binary = try CommandLineTests.binary().path
        let outcome = try ChildProcess.run("/usr/bin/time", ["-f", "hostile-rusage %M %e", binary] + arguments,
                                           currentDirectory: Self.packageRoot, timeout: 60).requireExit()
        let rusage = outcome.stderr.split(separator: "\n").last { $0.hasPrefix("hostile-rusage ") }
        let fields = rusage?.split(separator: " ") ?? []
        XCTAssertEqual(fields.count, 3, "no /usr/bin/time line: \(outcome.summary)", file: file, line: line)
        let run = Run(outcome: outcome, peakRSSBytes: (fields.count == 3 ? Int(fields[1]) ?? 0 : 0) * 1024,
                      seconds: fields.count == 3 ? Double(fields[2]) ?? 0 : 0,
                      stats: arguments.contains("--stats") ? Self.parseStats(outcome.stdout) : [:])
        XCTAssertLessThan(run.peakRSSBytes, Self.maxRSSBytes, "peak RSS \(run.peakRSSBytes >> 20) MB: \(outcome.command)", file: file, line: line)
        XCTAssertLessThan(run.seconds, Self.maxSeconds, "\(run.seconds) s: \(outcome.command)", file: file, line: line)
        XCTAssertFalse(outcome.stderr.contains("Fatal error"), outcome.summary, file: file, line: line)
        return run
    }

    func stats(_ input: String, file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        try corscope(["exchanges", "--stats", "--json", input], file: file, line: line)
    }

    static func parseStats(_ stdout: String) -> [String: Int] {
        guard let line = stdout.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return [:] }
        return object.compactMapValues { $0 as? Int }
    }

    /// Every line of `exchanges --json` is a JSON object; returns how many.
    func jsonLines(_ run: Run, file: StaticString = #filePath, line: UInt = #line) -> Int {
        var count = 0
        for text in run.outcome.stdout.split(separator: "\n") {
            count += 1
            if (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] == nil {
                XCTFail("not a JSON object: \(text.prefix(300))", file: file, line: line)
                return count
            }
        }
        return count
    }

    // MARK: - Reassembly

    /// 20,000 flows that only send a SYN, then one real exchange: all of them fit the connection
    /// cap (200,000; the full size, 1,000,000 flows, evicts), none carried a byte, and the one
    /// real exchange is there.
    func testSYNFlood() throws {
        let input = try generate("syn-flood", "20000")
        let run = try stats(input)
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["packets"], 20_000 + 3 + 2 + 3)
        XCTAssertEqual(run.stats["connections"], 1, "only the real exchange's connection carried data")
        XCTAssertEqual(run.stats["exchanges"], 1)
        XCTAssertEqual(run.stats["responses"], 1)
        XCTAssertNil(run.stats["evicted_connections"], "under the cap")
        // analyze judges the one exchange and writes a report (exit 0: nothing blocked in it).
        let report = try corscope(["analyze", "--format", "json", input])
        XCTAssertEqual(report.status, 0, report.outcome.summary)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: report.outcome.stdoutData) as? [String: Any])
    }

    /// 100,000 one-byte segments in reverse order: the per-connection cap of 65,536 segments is
    /// reached once; the hole before the 65,537 buffered bytes is one counted gap, and the bytes
    /// that arrive after it are late (already in the gap), not retransmissions.
    func testReverseOrderOneByteSegments() throws {
        let size = 100_000
        let run = try stats(try generate("reverse-segments", String(size)))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["gaps"], 1)
        XCTAssertEqual(run.stats["gap_bytes"], size - 65_537)
        XCTAssertEqual(run.stats["gaps_forced_by_buffer_cap"], 1)
        XCTAssertNil(run.stats["gaps_forced_by_total_buffer_cap"])
        XCTAssertEqual(run.stats["out_of_order_segments"], 65_537)
        XCTAssertEqual(run.stats["late_bytes"], size - 65_537)
        XCTAssertEqual(run.stats["retransmitted_bytes"], 0)
        XCTAssertEqual(run.stats["responses"], 1)
    }

    /// 30,000 one-byte segments in random order, under every cap: nothing lost, one complete
    /// exchange whose request body is every byte.
    func testRandomOrderOneByteSegments() throws {
        let size = 30_000
        let run = try stats(try generate("random-segments", String(size)))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["gaps"], 0)
        XCTAssertEqual(run.stats["retransmitted_bytes"], 0)
        XCTAssertEqual(run.stats["exchanges"], 1)
        XCTAssertEqual(run.stats["requests"], 1)
        XCTAssertEqual(run.stats["responses"], 1)
        XCTAssertNil(run.stats["anomalous_exchanges"].flatMap { $0 > 0 ? $0 : nil }, "the exchange is whole")
        XCTAssertGreaterThan(run.stats["out_of_order_segments"] ?? 0, size / 2)
    }

    // MARK: - HTTP

    /// A 20 MB header line: the head cap (64 KiB) flags it once and the rest of the direction is
    /// skipped, counted; the next connection's exchange is whole.
    func testLongHeaderLine() throws {
        let size = 20_000_000
        let run = try stats(try generate("long-header-line", String(size)))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["anomaly.header_too_large"], 1)
        XCTAssertGreaterThan(run.stats["skipped_http_bytes"] ?? 0, size - (64 << 10))
        XCTAssertEqual(run.stats["gaps"], 0)
    }

    /// 100,000 header fields in one request (the size): the field cap (512) flags it once.
    func testManyHeaders() throws {
        let run = try stats(try generate("many-headers", "100000"))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["anomaly.header_too_large"], 1)
        XCTAssertEqual(run.stats["gaps"], 0)
    }

    /// 1 GB of zeros gzip'd (about 1 MB on the wire): decoding stops at the 16 MiB cap, once.
    func testGzipBomb() throws {
        let run = try stats(try generate("gzip-bomb", "1G"))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["anomaly.decompression_cap_reached"], 1)
        XCTAssertEqual(run.stats["exchanges"], 1)
        XCTAssertEqual(run.stats["responses"], 1)
    }

    /// 100 connections × 1,000 unanswered pipelined requests: 100,000 requests over a budget of
    /// 65,536 (the count binds before the 32 MiB: each request is estimated under 512 bytes), so
    /// exactly 34,464 are evicted, and every request is reported.
    func testUnansweredPipelinedRequests() throws {
        let connections = 100
        let run = try stats(try generate("pending-requests", String(connections)))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["requests"], connections * 1_000)
        XCTAssertEqual(run.stats["exchanges"], connections * 1_000)
        XCTAssertEqual(run.stats["responses"], 0)
        XCTAssertEqual(run.stats["anomaly.pending_request_evicted"], connections * 1_000 - 65_536)
    }

    /// Invalid UTF-8 in targets, header names and values, reason phrases: every exchange kept,
    /// flagged, and every NDJSON line valid JSON.
    func testInvalidUTF8InCaptures() throws {
        let size = 600
        let input = try generate("invalid-utf8-pcap", String(size))
        let run = try stats(input)
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["exchanges"], size)
        XCTAssertEqual(run.stats["responses"], size)
        XCTAssertEqual(run.stats["requests"], size)
        XCTAssertEqual(run.stats["anomaly.non_utf8_header_bytes"], size / 6 * 5, "every exchange but those whose odd byte is NUL")
        XCTAssertNil(run.stats["anomaly.skipped_unparsable_bytes"])
        let lines = try corscope(["exchanges", "--json", input])
        XCTAssertEqual(lines.status, 0, lines.outcome.summary)
        XCTAssertEqual(jsonLines(lines), size)
    }

    // MARK: - Capture

    /// 20,000 first fragments that never complete, then (past the 30 s timeout) one real request
    /// in two fragments, then 100 first fragments the capture ends on: at most 256 datagrams
    /// wait, every fragment thrown away is counted, the real exchange is whole.
    func testFragmentFlood() throws {
        let size = 20_000
        let run = try stats(try generate("fragment-flood", String(size)))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["ip_datagrams_reassembled"], 1)
        XCTAssertEqual(run.stats["exchanges"], 1)
        XCTAssertEqual(run.stats["responses"], 1)
        let dropped = run.stats["skipped_packets.ip_fragments_dropped"] ?? 0
        // The flood, dropped by the cap and the timeout, and the 100 fragments still waiting when
        // the file ends.
        XCTAssertEqual(dropped, size + 100)
    }

    /// pcap, pcapng and gzip'd pcap, each cut inside a record after 20 copies of the real capture
    /// (27 exchanges each): every complete exchange, and a warning that the file was cut.
    func testTruncatedCaptures() throws {
        for name in ["truncated-pcap", "truncated-pcapng", "truncated-pcap-gz"] {
            let run = try stats(try generate(name, "20"))
            XCTAssertEqual(run.status, 0, "\(name): \(run.outcome.summary)")
            XCTAssertEqual(run.stats["exchanges"], 27 * 20, name)
            XCTAssertTrue(run.stderr.contains("warning"), "\(name): no warning: \(run.stderr)")
        }
    }

    // MARK: - HAR

    /// A HAR cut inside an entry after 3 copies of the real Chromium HAR's entries.
    func testTruncatedHAR() throws {
        let whole = try stats(CommandLineTests.packageRoot.appendingPathComponent("Captures/chromium/chromium-cors.har").path)
        let perCopy = try XCTUnwrap(whole.stats["exchanges"])
        let run = try stats(try generate("truncated-har", "3"))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["exchanges"], 3 * perCopy)
        XCTAssertTrue(run.stderr.contains("warning"), "no warning: \(run.stderr)")
    }

    /// 1,000,000 nested `[` in an entry (the size): no stack overflow, the entry is
    /// skipped and said to be, and the entry after it is read (reading used to stop there).
    func testDeeplyNestedHAR() throws {
        let run = try stats(try generate("nested-har", "1000000"))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["exchanges"], 2, run.outcome.summary)
        XCTAssertTrue(run.stderr.contains("1 entry skipped: 1 nested deeper than 512 levels"), run.stderr)
    }

    /// An entry with an 80 MB string, over the 64 MiB entry limit: skipped, counted, and said
    /// to be; the two others are read.
    func testHARWithAHugeString() throws {
        let run = try stats(try generate("har-long-string", "80M"))
        XCTAssertEqual(run.status, 0, run.outcome.summary)
        XCTAssertEqual(run.stats["exchanges"], 2)
        XCTAssertTrue(run.stderr.contains("1 entry skipped: 1 over the 64 MiB entry limit"), run.stderr)
    }

    /// Invalid UTF-8 and lone surrogate escapes in every kind of HAR string.
    func testInvalidUTF8InHAR() throws {
        let size = 700
        let input = try generate("invalid-utf8-har", String(size))
        let run = try stats(input)
        XCTAssertEqual(run.stats["exchanges"], size, run.outcome.summary)
        let lines = try corscope(["exchanges", "--json", input])
        XCTAssertEqual(jsonLines(lines), size)
    }
}

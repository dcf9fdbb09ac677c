import CorscopeHAR
import CorscopeHTTP
import Foundation
import XCTest

/// Throughput on a ~100 MB HAR made of real entries. Skipped unless CORSCOPE_BENCH=1; run it in
/// release: `CORSCOPE_BENCH=1 swift test -c release --filter HARBenchmarkTests`.
final class HARBenchmarkTests: XCTestCase {
    /// A `/proc/self/status` field in KiB (0 when unavailable).
    static func procStatus(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// User + system CPU seconds of this process: less sensitive than wall time to other jobs
    /// sharing the machine.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    func testThroughputOnA100MBHAR() throws {
        guard ProcessInfo.processInfo.environment["CORSCOPE_BENCH"] == "1" else {
            throw XCTSkip("benchmark skipped: set CORSCOPE_BENCH=1 (and use -c release) to run it")
        }
        let sources = try PublicHARs.all()
        let target = Int(ProcessInfo.processInfo.environment["CORSCOPE_BENCH_MB"] ?? "100") ?? 100
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-bench-\(UUID().uuidString).har").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Entries of every public HAR, pretty-printed like DevTools writes them, repeated in turn.
        let written = try python("""
        import json, sys
        out, target = sys.argv[1], int(sys.argv[2]) * 1000 * 1000
        entries = []
        for name in sys.argv[3:]:
            with open(name, encoding='utf-8-sig') as f:
                entries += [json.dumps(e, indent=2) for e in json.load(f)['log']['entries']]
        size, n = 0, 0
        with open(out, 'w', encoding='utf-8') as f:
            f.write('{"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"}, "entries": [\\n')
            while size < target:
                text = entries[n % len(entries)]
                f.write((',\\n' if n else '') + text)
                size += len(text) + 2
                n += 1
            f.write('\\n]}}\\n')
        print(n)
        """, [path, String(target)] + sources).trimmingCharacters(in: .whitespacesAndNewlines)
        let expected = try XCTUnwrap(Int(written))
        let bytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)

        let residentBefore = Self.procStatus("VmRSS")
        // Resets the peak-RSS mark (Linux ≥ 4.0) so VmHWM afterwards is the peak while reading.
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        var best = Double.infinity
        var bestCPU = Double.infinity
        for _ in 0..<3 {
            let reader = try HARReader(path: path)
            var statuses = 0
            let cpuStart = Self.cpuSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = reader.forEachExchange { statuses &+= $0.response?.head.status ?? 0 }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            XCTAssertEqual(outcome, .complete(entriesRead: expected))
            XCTAssertGreaterThan(statuses, 0)
            best = min(best, seconds)
            bestCPU = min(bestCPU, Self.cpuSeconds() - cpuStart)
        }
        let peakWhileReading = Self.procStatus("VmHWM")
        let megabytes = Double(bytes) / 1e6
        print("HAR benchmark: \(String(format: "%.1f", megabytes)) MB, \(expected) entries, best of 3: \(String(format: "%.3f", best)) s = \(String(format: "%.1f", megabytes / best)) MB/s wall (\(String(format: "%.1f", megabytes / bestCPU)) MB/s of CPU time); RSS before reading \(residentBefore) KiB, peak RSS while reading \(peakWhileReading) KiB")
    }
}

import CorscopeTestSupport
import Foundation
import XCTest

/// `corscope watch` under a long run of mixed real traffic with hostile bursts, replayed inside a
/// network namespace by `scripts/watch-soak.sh` (see there): its memory stays flat, it loses no
/// packet the kernel handed it, it stops cleanly on SIGINT, and a SIGKILL at any moment leaves the
/// report it rewrites either the previous complete one or the new complete one.
///
/// CI runs it for 30 s (`CORSCOPE_SOAK_SECONDS`), with a 5 s idle timeout so that the hostile
/// bursts' never-closed connections are swept within the run as they are within an hour with
/// the default; `make soak` runs the hour with the defaults and the release build. Needs root
/// (a network namespace, a live capture), `ip` and `tcpreplay` (`make test` installs them).
final class WatchSoakTests: XCTestCase {
    func testAStretchOfMixedAndHostileTrafficKeepsMemoryFlatAndLosesNothing() throws {
        guard geteuid() == 0 else { throw XCTSkip("the soak needs root: it creates a network namespace and captures in it") }
        for tool in ["/usr/bin/tcpreplay", "/usr/sbin/ip", "/usr/bin/python3"] where !FileManager.default.isExecutableFile(atPath: tool) {
            let alternative = tool.replacingOccurrences(of: "/usr/sbin/", with: "/sbin/")
            guard FileManager.default.isExecutableFile(atPath: alternative) else { throw XCTSkip("\(tool) is not installed (`make test` installs it)") }
        }
        let seconds = Int(ProcessInfo.processInfo.environment["CORSCOPE_SOAK_SECONDS"] ?? "") ?? 30
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-soak-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var environment = ProcessInfo.processInfo.environment
        environment["CORSCOPE"] = try CommandLineTests.binary().path
        environment["SOAK_WATCH_ARGS"] = "--idle-timeout 5"
        let run = try ChildProcess.run("/bin/bash", ["scripts/watch-soak.sh", String(seconds), folder.path],
                                       currentDirectory: CommandLineTests.packageRoot, environment: environment,
                                       timeout: Double(seconds) + 180)
        if run.exitStatus == 77 { throw XCTSkip(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let outcome = try run.requireExit()
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any], outcome.summary)
        let report = try XCTUnwrap(summary["report"] as? [String: Any], "\(summary)")
        let kernel = try XCTUnwrap(report["kernel"] as? [String: Int], "\(report)")
        let sent = try XCTUnwrap(summary["packetsSent"] as? Int)
        let seen = try XCTUnwrap(report["packets"] as? Int)
        let context = "sent \(sent), seen \(seen), kernel \(kernel), bursts \(summary["hostileBursts"] ?? "?")"

        // Stopped by SIGINT, promptly, with its final report.
        XCTAssertEqual(summary["exitStatus"] as? Int, 0, "\(summary["exitStatus"] ?? "?")")
        XCTAssertLessThan(summary["secondsToStop"] as? Double ?? 99, 10)
        XCTAssertEqual(report["final"] as? Bool, true)

        // Every packet sent was seen by watch or dropped by the kernel (for want of buffer in a
        // burst): none lost in between.
        XCTAssertGreaterThan(sent, 50_000, context)
        let received = kernel["received"] ?? 0
        // The links' own IPv6 chatter, where the script could not switch it off, is all that may come on top.
        XCTAssertTrue(received >= sent && received <= sent + 64, "everything sent reached the capture: \(context)")
        XCTAssertEqual(seen + (kernel["dropped"] ?? 0), received, context)
        XCTAssertGreaterThanOrEqual(summary["hostileBursts"] as? Int ?? 0, 8, "every kind of burst at least once: \(context)")
        XCTAssertGreaterThan(report["exchanges"] as? Int ?? 0, 1_000, context)

        // Memory: the heap (RssAnon; VmRSS also counts the capture ring the kernel maps) stays
        // under the documented bound and flat: the last third of the run holds no more than the
        // first third did, give or take the allocator.
        let samples = try XCTUnwrap(summary["memoryKB"] as? [[Double]]).map { (seconds: $0[0], anonymousKB: $0[2]) }
        XCTAssertGreaterThan(samples.count, seconds / 2, "memory sampled every second")
        let span = samples.last?.seconds ?? 0
        let first = samples.filter { $0.seconds <= span / 3 }.map(\.anonymousKB).max() ?? 0
        let last = samples.filter { $0.seconds >= 2 * span / 3 }.map(\.anonymousKB).max() ?? 0
        let peak = samples.map(\.anonymousKB).max() ?? 0
        let curve = samples.map { String(Int($0.anonymousKB / 1024)) }.joined(separator: " ")
        XCTAssertLessThan(peak, 256 * 1024, "MB each second: \(curve)")
        XCTAssertLessThanOrEqual(last, first * 1.5 + 32 * 1024, "flat: the last third's peak against the first third's; MB each second: \(curve)")

        // SIGKILL at random moments: the report file was always complete JSON, to every reader.
        let kills = try XCTUnwrap(summary["killNine"] as? [String: Any])
        XCTAssertEqual(kills["afterEachKill"] as? [String], Array(repeating: "complete", count: kills["kills"] as? Int ?? 0), "\(kills)")
        XCTAssertGreaterThan(kills["reads"] as? Int ?? 0, 200, "\(kills)")
        XCTAssertEqual(kills["torn"] as? Int, 0, "\(kills)")
    }
}

import CorscopeTestSupport
import Foundation
import XCTest

/// The bounded child process every end-to-end test runs its programs with: a child that outlives
/// its wait is killed and reaped, and the outcome says so instead of crashing the test binary.
final class ChildProcessTests: XCTestCase {
    func testAChildThatEndsInTimeReportsItsStatusAndOutput() throws {
        let outcome = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], timeout: 30)
        XCTAssertFalse(outcome.timedOut)
        XCTAssertEqual(outcome.reason, .exit)
        XCTAssertEqual(outcome.exitStatus, 3)
        XCTAssertEqual(outcome.stdout, "out\n")
        XCTAssertEqual(outcome.stderr, "err\n")
        XCTAssertEqual(outcome.signalsSent, [])
        XCTAssertNoThrow(try outcome.requireExit())
    }

    func testAChildThatOutlivesItsWaitIsTerminatedReapedAndSaysSo() throws {
        let started = Date()
        let outcome = try ChildProcess.run("/bin/sleep", ["60"], timeout: 0.5)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "SIGTERM ends sleep at once")
        XCTAssertTrue(outcome.timedOut)
        XCTAssertTrue(outcome.reaped)
        XCTAssertEqual(outcome.signalsSent, [SIGTERM])
        XCTAssertEqual(outcome.reason, .uncaughtSignal)
        XCTAssertEqual(outcome.status, SIGTERM)
        XCTAssertNil(outcome.exitStatus)
        XCTAssertTrue(outcome.description.contains("did not stop within 0.5 s; killed (SIGTERM)"), outcome.description)
        XCTAssertThrowsError(try outcome.requireExit()) { error in
            XCTAssertTrue("\(error)".contains("did not stop within 0.5 s"), "\(error)")
        }
    }

    func testAChildThatIgnoresSIGTERMIsKilled() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "trap '' TERM; echo ready; exec sleep 60"])
        let deadline = Date().addingTimeInterval(30)
        while child.stdoutSoFar().isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(child.stdoutSoFar(), "ready\n", "the trap is set")
        let outcome = child.finish(within: 0.2, grace: 0.5)
        XCTAssertTrue(outcome.timedOut)
        XCTAssertEqual(outcome.signalsSent, [SIGTERM, SIGKILL])
        XCTAssertEqual(outcome.reason, .uncaughtSignal)
        XCTAssertEqual(outcome.status, SIGKILL)
        XCTAssertFalse(child.isRunning)
        XCTAssertEqual(child.finish(within: 0).status, SIGKILL, "finishing again returns the same outcome")
    }

    func testWhatAShellChildStartedDoesNotOutliveIt() throws {
        // The shell waits on a background sleep: on timeout the whole group is ended.
        let child = try ChildProcess("/bin/sh", ["-c", "sleep 60 & echo $!; wait"])
        let deadline = Date().addingTimeInterval(30)
        while !child.stdoutSoFar().hasSuffix("\n") && Date() < deadline { usleep(10_000) }
        let background = try XCTUnwrap(Int32(child.stdoutSoFar().trimmingCharacters(in: .whitespacesAndNewlines)), child.stdoutSoFar())
        let outcome = child.finish(within: 0.2, grace: 5)
        XCTAssertTrue(outcome.timedOut)
        XCTAssertTrue(Self.ends(background, within: 30), "the background sleep \(background) was killed with its shell")

        // A shell that exits at once, leaving a job behind: the job goes too.
        let leaver = try ChildProcess.run("/bin/sh", ["-c", "sleep 60 > /dev/null 2>&1 & echo $!"], timeout: 30)
        assertExit(leaver, 0)
        let left = try XCTUnwrap(Int32(leaver.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), leaver.stdout)
        XCTAssertTrue(Self.ends(left, within: 30), "the job \(left) the shell left behind was killed")
    }

    /// Whether `pid` is gone (or a zombie nobody reaps) within `seconds`.
    static func ends(_ pid: Int32, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            // "pid (comm) S …": the state follows the last ')'.
            if let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z") {
                return true
            }
            usleep(20_000)
        } while Date() < deadline
        return false
    }

    func testOutputLargerThanAPipeDoesNotBlockTheChild() throws {
        let outcome = try ChildProcess.run("/bin/sh", ["-c", "head -c 1000000 /dev/zero; head -c 300000 /dev/zero >&2"], timeout: 60)
        assertExit(outcome, 0)
        XCTAssertEqual(outcome.stdoutData.count, 1_000_000)
        XCTAssertEqual(outcome.stderr.utf8.count, 300_000)
    }

    func testStopSendsTheSignalFirst() throws {
        let child = try ChildProcess("/bin/sleep", ["60"], stdout: .discard, stderr: .discard)
        XCTAssertTrue(child.isRunning)
        let outcome = child.stop(SIGINT, within: 30)
        XCTAssertFalse(outcome.timedOut, "sleep ends on SIGINT")
        XCTAssertEqual(outcome.reason, .uncaughtSignal)
        XCTAssertEqual(outcome.status, SIGINT)
    }

    func testAProgramThatCannotStartIsAnError() {
        XCTAssertThrowsError(try ChildProcess.run("/nonexistent/corscope-test-program", [], timeout: 5)) { error in
            XCTAssertTrue("\(error)".contains("could not start /nonexistent/corscope-test-program"), "\(error)")
        }
    }

    func testAChildThatReadsStandardInputGetsEndOfFile() throws {
        let outcome = try ChildProcess.run("/bin/cat", [], timeout: 30)
        assertExit(outcome, 0, "cat reads /dev/null and ends")
        XCTAssertEqual(outcome.stdout, "")
    }
}

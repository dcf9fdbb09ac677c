import Foundation
import XCTest

/// A child process a test starts (the corscope binary, tshark, python3, curl, a test server),
/// bounded in time: every wait has a deadline, a child that outlives it gets SIGTERM, then SIGKILL,
/// and is reaped before anything reads how it ended. `Process.terminationReason` and
/// `terminationStatus` crash the whole test binary when read on a running process, so only
/// `ChildOutcome`, made after the child was reaped, carries them.
///
/// Foundation (on Linux) starts each child as the leader of a process group of its own, so the
/// escalation reaches what a shell child started too (`sh -c 'cat … | corscope …'`), and whatever
/// of that group is left once the child has ended is killed as well: nothing outlives the test.
///
/// Standard output and error go to files (or /dev/null), never to pipes: a child writing more
/// than a pipe holds cannot block, and the test can read what was written so far while the child
/// runs. Standard input is /dev/null, so a child that reads it gets EOF instead of waiting.
public final class ChildProcess {
    /// Where one output stream goes.
    public enum Output: Sendable {
        /// To a temporary file, read into the outcome (and readable while the child runs).
        case capture
        /// To /dev/null.
        case discard
        /// To this file (created or truncated); the outcome does not read it back.
        case file(String)
    }

    /// The command line, for messages.
    public let command: String
    public var processIdentifier: Int32 { process.processIdentifier }
    /// Whether the child itself is still running.
    public var isRunning: Bool { outcome == nil && !hasEnded() }

    private let process: Process
    private let stdoutFile: String?
    private let stderrFile: String?
    private let started = Date()
    private var outcome: ChildOutcome?
    private var launched = false

    /// Starts `executable` (a path) with `arguments`.
    public init(_ executable: String, _ arguments: [String] = [], currentDirectory: URL? = nil,
                environment: [String: String]? = nil, stdout: Output = .capture, stderr: Output = .capture) throws {
        command = ([executable] + arguments).map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        let (stdoutHandle, stdoutFile) = try Self.open(stdout, suffix: "out")
        let (stderrHandle, stderrFile) = try Self.open(stderr, suffix: "err")
        self.stdoutFile = stdoutFile
        self.stderrFile = stderrFile
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        defer {
            // The child has its own copies; the parent's would only keep the files open.
            for handle in [stdoutHandle, stderrHandle] where handle !== FileHandle.nullDevice { try? handle.close() }
        }
        do {
            try process.run()
            launched = true
        } catch {
            removeCapturedFiles()
            throw ChildProcessError.couldNotStart(command: command, reason: "\(error)")
        }
    }

    /// Runs a program to its end, at most `timeout` seconds (then SIGTERM, SIGKILL, reaped: the
    /// outcome says it timed out).
    public static func run(_ executable: String, _ arguments: [String] = [], currentDirectory: URL? = nil,
                           environment: [String: String]? = nil, stdout: Output = .capture, stderr: Output = .capture,
                           timeout: Double = 120) throws -> ChildOutcome {
        let child = try ChildProcess(executable, arguments, currentDirectory: currentDirectory, environment: environment,
                                     stdout: stdout, stderr: stderr)
        return child.finish(within: timeout)
    }

    deinit {
        // A child nobody finished (a test that threw early) does not outlive the test.
        if launched && outcome == nil { _ = finish(within: 0, grace: 1) }
    }

    /// Waits at most `seconds` for the child to end by itself; true when it has ended.
    @discardableResult
    public func wait(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if outcome != nil || hasEnded() { return true }
            if Date() >= deadline { return false }
            usleep(10_000)
        }
    }

    /// Sends `signal` to the child (not its group) if it still runs.
    public func send(_ signal: Int32) {
        if isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits at most `seconds` for the child to end; if it still runs then, sends SIGTERM to its
    /// group, waits `grace` seconds, sends SIGKILL. Then kills what is left of its group, reaps it
    /// and returns how it ended. Idempotent.
    @discardableResult
    public func finish(within seconds: Double, grace: Double = 5) -> ChildOutcome {
        if let outcome { return outcome }
        var signals: [Int32] = []
        var ended = wait(within: seconds)
        if !ended {
            signals.append(SIGTERM)
            signalGroup(SIGTERM)
            ended = wait(within: grace)
        }
        if !ended {
            signals.append(SIGKILL)
            signalGroup(SIGKILL)
            // SIGKILL cannot be caught: the child ends as soon as the kernel gets to it.
            ended = wait(within: 60)
        }
        // What the child left in its group (a shell's background job, a pipeline's other end)
        // does not outlive it; it would also keep Foundation from noticing the end, which
        // Foundation learns from a descriptor every descendant inherits. The group's id stays
        // reserved while any member lives, so this reaches no other process.
        if ended { kill(-process.processIdentifier, SIGKILL) }
        // Foundation reaps the child; its status may be read only after that.
        let deadline = Date().addingTimeInterval(ended ? 60 : 0)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let reaped = !process.isRunning
        let status: Int32
        let reason: Process.TerminationReason
        if reaped {
            process.waitUntilExit()  // returns at once: the child has been reaped
            status = process.terminationStatus
            reason = process.terminationReason
        } else if let peeked = peekEnd() {
            // Ended, but a process that left its group still holds the inherited descriptor.
            (status, reason) = peeked
        } else {
            // Not even SIGKILL ended it (a process stuck in the kernel): nothing to read.
            (status, reason) = (-1, .uncaughtSignal)
        }
        let result = ChildOutcome(
            command: command, status: status, reason: reason, timedOut: !signals.isEmpty, waited: seconds,
            signalsSent: signals, reaped: reaped, elapsed: Date().timeIntervalSince(started),
            stdoutData: stdoutFile.flatMap { FileManager.default.contents(atPath: $0) } ?? Data(),
            stderr: stderrFile.flatMap { FileManager.default.contents(atPath: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? "")
        outcome = result
        removeCapturedFiles()
        return result
    }

    /// Whether the child itself has ended: reaped by Foundation, or a zombie not yet reaped
    /// (Foundation notices the end only when every inherited copy of its descriptor is closed).
    private func hasEnded() -> Bool {
        !process.isRunning || peekEnd() != nil
    }

    /// How the child ended if it is a zombie, without reaping it (Foundation does that).
    private func peekEnd() -> (Int32, Process.TerminationReason)? {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(process.processIdentifier), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
              info._sifields._sigchld.si_pid == process.processIdentifier else { return nil }
        let status = info._sifields._sigchld.si_status
        return info.si_code == Int32(CLD_EXITED) ? (status, .exit) : (status, .uncaughtSignal)
    }

    /// Sends `signal` (if the child still runs), then finishes it: `within` seconds to end by
    /// itself before SIGTERM and SIGKILL. For servers and other children that never end alone.
    @discardableResult
    public func stop(_ signal: Int32 = SIGTERM, within seconds: Double = 5) -> ChildOutcome {
        send(signal)
        return finish(within: seconds, grace: 2)
    }

    /// The child and its process group (the group exists when Foundation made the child its leader).
    private func signalGroup(_ signal: Int32) {
        kill(-process.processIdentifier, signal)
        kill(process.processIdentifier, signal)
    }

    /// What the child wrote to standard output so far (captured output only).
    public func stdoutSoFar() -> String { outcome?.stdout ?? Self.read(stdoutFile) }
    /// What the child wrote to standard error so far (captured output only).
    public func stderrSoFar() -> String { outcome?.stderr ?? Self.read(stderrFile) }

    private static func read(_ path: String?) -> String {
        guard let path, let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    private func removeCapturedFiles() {
        for path in [stdoutFile, stderrFile].compactMap({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }

    private static func open(_ output: Output, suffix: String) throws -> (FileHandle, String?) {
        switch output {
        case .discard:
            return (FileHandle.nullDevice, nil)
        case .capture:
            let path = FileManager.default.temporaryDirectory
                .appendingPathComponent("corscope-child-\(UUID().uuidString).\(suffix)").path
            return (try handle(writingTo: path), path)
        case .file(let path):
            return (try handle(writingTo: path), nil)
        }
    }

    private static func handle(writingTo path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw ChildProcessError.couldNotStart(command: path, reason: "cannot create the output file")
        }
        return handle
    }
}

/// How a child ended, read only after it was reaped.
public struct ChildOutcome: CustomStringConvertible, Sendable {
    public let command: String
    /// The exit status, or the signal number when `reason` is `.uncaughtSignal`.
    public let status: Int32
    public let reason: Process.TerminationReason
    /// The child outlived its wait and was killed (SIGTERM, then SIGKILL if needed).
    public let timedOut: Bool
    /// The wait it was given, in seconds.
    public let waited: Double
    /// The signals the helper sent after the wait (none when the child ended in time).
    public let signalsSent: [Int32]
    /// False only when even SIGKILL did not end the child within a minute.
    public let reaped: Bool
    public let elapsed: Double
    public let stdoutData: Data
    public let stderr: String

    public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    /// The exit status when the child exited by itself in time; nil when it timed out or a signal ended it.
    public var exitStatus: Int32? { !timedOut && reaped && reason == .exit ? status : nil }

    /// "… did not stop within 15 s; killed (SIGTERM, SIGKILL)", "… exited with status 2", ….
    public var description: String {
        if timedOut {
            let names = signalsSent.map { $0 == SIGKILL ? "SIGKILL" : $0 == SIGTERM ? "SIGTERM" : "signal \($0)" }
            let end = reaped ? "" : "; still not reaped"
            return "\(command) did not stop within \(Self.seconds(waited)) s; killed (\(names.joined(separator: ", ")))\(end)"
        }
        if reason == .uncaughtSignal { return "\(command) was ended by signal \(status)" }
        return "\(command) exited with status \(status)"
    }

    /// The description and the end of standard error: what an assertion message needs.
    public var summary: String {
        let tail = stderr.count > 4000 ? "…" + stderr.suffix(4000) : Substring(stderr)
        return tail.isEmpty ? description : "\(description); stderr:\n\(tail)"
    }

    /// Self when the child exited by itself in time (with any status); otherwise throws, so the
    /// test fails saying that it timed out or how it ended.
    @discardableResult
    public func requireExit() throws -> ChildOutcome {
        guard exitStatus != nil else { throw ChildProcessError.didNotExit(self) }
        return self
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case couldNotStart(command: String, reason: String)
    case didNotExit(ChildOutcome)

    public var description: String {
        switch self {
        case .couldNotStart(let command, let reason): return "could not start \(command): \(reason)"
        case .didNotExit(let outcome): return outcome.summary
        }
    }
}

/// Asserts that the child exited by itself, in time, with `expected`; a child that timed out or
/// was ended by a signal fails saying so ("did not stop within N s; killed").
public func assertExit(_ outcome: ChildOutcome, _ expected: Int32 = 0, _ message: @autoclosure () -> String = "",
                       file: StaticString = #filePath, line: UInt = #line) {
    guard let status = outcome.exitStatus else {
        return XCTFail(join(outcome.summary, message()), file: file, line: line)
    }
    XCTAssertEqual(status, expected, join(outcome.summary, message()), file: file, line: line)
}

/// Asserts that the child exited by itself, in time, with a non-zero status (a reported error,
/// not a crash or a hang).
public func assertFailingExit(_ outcome: ChildOutcome, _ message: @autoclosure () -> String = "",
                              file: StaticString = #filePath, line: UInt = #line) {
    guard let status = outcome.exitStatus else {
        return XCTFail(join(outcome.summary, message()), file: file, line: line)
    }
    XCTAssertNotEqual(status, 0, join(outcome.summary, message()), file: file, line: line)
}

private func join(_ first: String, _ second: String) -> String { second.isEmpty ? first : "\(second)\n\(first)" }

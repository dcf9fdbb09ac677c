import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffers bytes for a file descriptor and writes them in large blocks: per-line `print` is far
/// too slow for NDJSON at capture speed.
final class OutputBuffer {
    private var buffer: [UInt8] = []
    private let descriptor: Int32
    private let blockSize: Int

    init(descriptor: Int32 = STDOUT_FILENO, blockSize: Int = 1 << 16) {
        self.descriptor = descriptor
        self.blockSize = blockSize
        buffer.reserveCapacity(blockSize * 2)
    }

    func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= blockSize { flush() }
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= blockSize { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        Terminal.writeAll(buffer, to: descriptor)
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

enum Terminal {
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    static func warn(_ message: String) {
        writeAll(Array("corscope: \(message)\n".utf8), to: STDERR_FILENO)
    }

    /// An input's error as one line that names the file once: the readers' errors already
    /// start with the path; anything else gets it in front.
    static func naming(_ path: String, _ error: any Error) -> String {
        let text = "\(error)"
        return text.hasPrefix(path) ? text : "\(path): \(text)"
    }

    static func writeError(_ text: String) {
        writeAll(Array(text.utf8), to: STDERR_FILENO)
    }

    /// A command's result: to `output` when given (exit status 2, said on stderr, when it cannot
    /// be written), else to standard output.
    static func writeResult(_ bytes: [UInt8], to output: String?) throws {
        guard let output else {
            writeAll(bytes, to: STDOUT_FILENO)
            return
        }
        if let reason = writeFile(output, bytes) {
            warn("error: cannot write \(output): \(reason)")
            throw ExitCode(2)
        }
    }

    /// Writes every byte, retrying short writes and EINTR; a closed pipe ends the process quietly.
    /// Creates (or truncates) `path` and writes `bytes` to it; nil on success, else why not.
    /// Every write and the close are checked: a full disk must not leave a silently short file.
    static func writeFile(_ path: String, _ bytes: [UInt8]) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        let failure: String? = bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else {
                    return written < 0 ? String(cString: strerror(errno)) : "short write"
                }
            }
            return nil
        }
        if close(descriptor) != 0, failure == nil { return String(cString: strerror(errno)) }
        return failure
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    if errno == EPIPE { exit(0) }
                    return
                }
            }
        }
    }

    /// Wall-clock seconds, for progress and the summary line only (never for analysis).
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A one-line progress bar on stderr, redrawn at most a few times a second.
final class ProgressBar {
    private let label: String
    private var lastDraw = 0.0
    private var drawn = false

    init(label: String) { self.label = label }

    func update(consumed: Int64, total: Int64, exchanges: Int) {
        let now = Terminal.monotonicSeconds()
        guard now - lastDraw >= 0.2 else { return }
        lastDraw = now
        let line: String
        if total > 0 {
            let fraction = min(1, Double(consumed) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            line = "\r[\(bar)] \(Int(fraction * 100))% \(consumed / 1_000_000)/\(total / 1_000_000) MB \(exchanges) exchanges  \(label)"
        } else {
            // A pipe or standard input: the size is unknown, the bytes read so far are not.
            line = "\r\(consumed / 1_000_000) MB read, \(exchanges) exchanges  \(label)"
        }
        Terminal.writeError(line)
        drawn = true
    }

    func clear() {
        if drawn { Terminal.writeError("\r\u{1B}[K") }
        drawn = false
    }
}

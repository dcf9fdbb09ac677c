import CorscopeTLS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Follows key log files as browsers append to them (one line per TLS connection, written as the
/// connection's handshake finishes), adding each complete line to the key store: `watch`
/// decrypts connections whose keys arrive after their first records (the TLS stage buffers a
/// bounded amount while it waits). A file that shrinks (rotated, truncated) is read again from
/// its start.
final class KeyLogFollower: @unchecked Sendable {
    private struct Followed {
        var path: String
        var offset: Int64 = 0
        var partialLine: [UInt8] = []
        var nextLineNumber = 1
    }

    private let store: TLSKeyStore
    private let queue = DispatchQueue(label: "corscope.keylog-follower")
    private var files: [Followed]
    private var timer: DispatchSourceTimer?
    /// Longest line kept while waiting for its end (key log lines are under 300 bytes).
    private static let maximumLine = 4096
    private let report: @Sendable (String) -> Void

    init(paths: [String], store: TLSKeyStore, report: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.files = paths.map { Followed(path: $0) }
        self.report = report
    }

    /// Reads what is there now, then again every `interval` seconds until `stop`.
    func start(interval: Double = 0.25) {
        queue.sync { poll() }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [unowned self] in poll() }
        timer.resume()
        self.timer = timer
    }

    func stop() {
        timer?.cancel()
        timer = nil
        queue.sync { poll() }
    }

    private func poll() {
        for index in files.indices { read(&files[index]) }
    }

    private func read(_ file: inout Followed) {
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }  // not written yet: the browser creates it on its first connection
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return }
        if Int64(status.st_size) < file.offset {
            file = Followed(path: file.path)
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(file.offset)) }
            guard count > 0 else { return }
            file.offset += Int64(count)
            var chunk = file.partialLine + buffer[..<count]
            guard let lastNewline = chunk.lastIndex(of: UInt8(ascii: "\n")) else {
                file.partialLine = chunk.count > Self.maximumLine ? [] : chunk
                continue
            }
            file.partialLine = Array(chunk[(lastNewline + 1)...])
            chunk.removeSubrange((lastNewline + 1)...)
            let lines = chunk.lazy.filter { $0 == UInt8(ascii: "\n") }.count
            for problem in store.add(keyLog: chunk, source: file.path, firstLineNumber: file.nextLineNumber) {
                report(problem.description)
            }
            file.nextLineNumber += lines
        }
    }
}

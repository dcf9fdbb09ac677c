import CorscopeCapture
import CorscopeHAR
import CorscopeHTTP

#if canImport(Glibc)
import Glibc
#endif

/// Where exchanges come from: one input file, read in order, delivering every exchange and
/// saying how reading ended. Capture files go through the pcap pipeline; HAR files through the
/// HAR reader; a command reads both kinds, mixed, the same way.
public struct ExchangeSource {
    public enum Outcome: Sendable, Equatable {
        case complete
        /// Read only in part (truncated file, read error); what was read was delivered.
        case partial(String)
    }

    /// The input's name (its path), as shown in reports.
    public var name: String
    public var read: (_ deliver: (HTTPExchange) -> Void) throws -> Outcome

    public init(name: String, read: @escaping (_ deliver: (HTTPExchange) -> Void) throws -> Outcome) {
        self.name = name
        self.read = read
    }
}

/// Sources for a list of files, sharing one capture pipeline so connection ids stay unique
/// across files, HAR connections included.
public final class ExchangeSources {
    /// The sources, in the order the files were given.
    public let sources: [ExchangeSource]
    private let pipeline: ExchangePipeline
    private let relay: ExchangeRelay
    private let har: HARTally

    public init(paths: [String], configuration: ExchangePipeline.Configuration = .init()) {
        let relay = ExchangeRelay()
        let pipeline = ExchangePipeline(configuration: configuration) { relay.deliver?($0) }
        let har = HARTally()
        self.relay = relay
        self.pipeline = pipeline
        self.har = har
        func readCapture(_ path: String, _ deliver: (HTTPExchange) -> Void, _ read: () throws -> ExchangePipeline.FileResult) throws -> ExchangeSource.Outcome {
            try withoutActuallyEscaping(deliver) { deliver in
                relay.deliver = deliver
                defer { relay.deliver = nil }
                let result = try read()
                let capture = result.statistics.capture
                if capture.packets > 0, capture.tcpPackets == 0, capture.ipFragments == 0 {
                    // Nothing in the file could be analysed: an error, not an empty report.
                    throw NothingAnalysable(path: path, statistics: capture)
                }
                switch result.outcome {
                case .complete: return .complete
                case .truncated(let message): return .partial("truncated capture (\(message)); analysed everything before the cut")
                case .readError(let message): return .partial("read stopped early (\(message)); analysed everything before it")
                }
            }
        }
        sources = paths.map { path in
            if StreamedInput.isStream(path) {
                // Standard input, a pipe or a FIFO: read once; its first bytes say HAR or capture.
                return ExchangeSource(name: path) { deliver in
                    let stream = try StreamedInput(path: path)
                    if stream.looksLikeJSON {
                        return try Self.readHAR(HARReader(stream: stream, configuration: configuration.har), pipeline: pipeline, tally: har,
                                                size: { stream.bytesDelivered }, deliver: deliver)
                    }
                    return try readCapture(path, deliver) { try pipeline.read(stream: stream, progress: relay.progress) }
                }
            }
            if Self.looksLikeHAR(path) {
                return ExchangeSource(name: path) { deliver in
                    try Self.readHAR(try HARReader(path: path, configuration: configuration.har), pipeline: pipeline, tally: har,
                                     size: { Self.fileSize(path) }, deliver: deliver)
                }
            }
            return ExchangeSource(name: path) { deliver in
                try readCapture(path, deliver) { try pipeline.read(file: path, progress: relay.progress) }
            }
        }
    }

    /// Called now and then while a capture is read, with (bytes consumed, file size).
    public var progress: ((Int64, Int64) -> Void)? {
        get { relay.progress }
        set { relay.progress = newValue }
    }

    /// Totals so far: the capture pipeline's, plus the exchanges of HAR files.
    public var statistics: PipelineStatistics {
        var totals = pipeline.statistics
        totals.add(har.statistics)
        return totals
    }

    /// Bytes of every input read so far.
    public var bytesRead: Int64 { statistics.fileBytes }

    private static func readHAR(_ reader: HARReader, pipeline: ExchangePipeline, tally: HARTally, size: () -> Int64,
                                deliver: (HTTPExchange) -> Void) throws -> ExchangeSource.Outcome {
        let path = reader.path
        // HAR connection ids are the exporter's; give them ids after the captures' so every
        // exchange id stays unique in one run.
        var mapped: [Int: Int] = [:]
        var reorder = TimeOrderBuffer(capacity: Self.harReorderWindow)
        let outcome = reader.forEachExchange { exchange in
            var exchange = exchange
            let id = mapped[exchange.connection.id] ?? pipeline.allocateConnectionID()
            mapped[exchange.connection.id] = id
            exchange.connection.id = id
            tally.statistics.count(exchange)
            if let ready = reorder.insert(exchange) { deliver(ready) }
        }
        for exchange in reorder.drain() { deliver(exchange) }
        tally.statistics.fileBytes += size()
        let skipped = skippedEntries(reader.statistics, maximumEntryBytes: reader.configuration.maximumEntryBytes)
        switch outcome {
        case .complete(0):
            throw HARReadError.notAHAR(path: path, reason: "log.entries holds no entry")
        case .truncated(_, _, 0):
            throw HARReadError.notAHAR(path: path, reason: outcome.message ?? "truncated before its first entry")
        case .complete:
            return skipped.map { .partial($0) } ?? .complete
        case .truncated:
            return .partial(([outcome.message ?? "truncated HAR"] + (skipped.map { [$0] } ?? [])).joined(separator: "; "))
        case .failed(let error, let entriesRead):
            if entriesRead == 0 { throw error }
            return .partial((["\(error) after \(entriesRead) entries"] + (skipped.map { [$0] } ?? [])).joined(separator: "; "))
        }
    }

    /// "2 entries skipped: 1 over the 64 MiB entry limit, 1 not an entry object", or nil when
    /// every entry read was delivered.
    static func skippedEntries(_ statistics: HARReadStatistics, maximumEntryBytes: Int) -> String? {
        let oversized = statistics.oversizedEntriesSkipped, invalid = statistics.invalidEntriesSkipped
        let deep = statistics.deeplyNestedEntriesSkipped
        guard oversized + invalid + deep > 0 else { return nil }
        var reasons: [String] = []
        if oversized > 0 { reasons.append("\(oversized) over the \(byteSize(maximumEntryBytes)) entry limit") }
        if invalid > 0 { reasons.append("\(invalid) not an object with a request") }
        if deep > 0 { reasons.append("\(deep) nested deeper than 512 levels") }
        let total = oversized + invalid + deep
        return "\(total) \(total == 1 ? "entry" : "entries") skipped: " + reasons.joined(separator: ", ")
    }

    private static func byteSize(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes)-byte"
    }

    /// HAR entries are in the order the page asked for them (`startedDateTime`), so a request
    /// is listed before the preflight the browser sent for it. Exchanges are handed on in the
    /// order their requests went on the wire instead, through a bounded window.
    static let harReorderWindow = 512

    /// A HAR is JSON: its first non-blank byte (after an optional UTF-8 BOM) is `{`. Captures
    /// start with a binary magic number (or gzip's 1f 8b).
    static func looksLikeHAR(_ path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = fread(&buffer, 1, buffer.count, file)
        var index = 0
        if count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { index = 3 }
        while index < count, [0x20, 0x09, 0x0A, 0x0D].contains(buffer[index]) { index += 1 }
        return index < count && buffer[index] == UInt8(ascii: "{")
    }

    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}

/// What HAR files added to the run's totals.
final class HARTally {
    var statistics = PipelineStatistics()
}

/// Forwards the pipeline's exchanges to whichever source is reading.
final class ExchangeRelay {
    var deliver: ((HTTPExchange) -> Void)?
    var progress: ((Int64, Int64) -> Void)?
}

/// Holds up to `capacity` exchanges and hands them back in order of their request's first byte.
/// Entries arrive nearly in order, so an insertion lands at or near the end and the earliest
/// leaves from the front (a moving start index: no shifting of the whole window).
struct TimeOrderBuffer {
    let capacity: Int
    /// Each exchange with its request's first byte, read once (an exchange's start time is
    /// derived from its messages on every read).
    private var held: [(time: Timestamp, exchange: HTTPExchange)] = []
    private var start = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Adds one; returns the earliest when the window is full.
    mutating func insert(_ exchange: HTTPExchange) -> HTTPExchange? {
        let time = exchange.startTime
        var index = held.count
        while index > start, held[index - 1].time > time { index -= 1 }
        held.insert((time, exchange), at: index)
        guard held.count - start > capacity else { return nil }
        let earliest = held[start].exchange
        start += 1
        if start >= capacity {
            held.removeFirst(start)
            start = 0
        }
        return earliest
    }

    mutating func drain() -> [HTTPExchange] {
        defer { held.removeAll(); start = 0 }
        return held[start...].map(\.exchange)
    }
}

/// A capture whose every packet was skipped before TCP (a link type corscope does not decode,
/// no IP, no TCP): reading it gave nothing to judge, which a command reports as an error.
public struct NothingAnalysable: Error, CustomStringConvertible {
    public var path: String
    public var statistics: CaptureStatistics

    public var description: String {
        let reasons = [("of a link-layer type corscope does not decode", statistics.unsupportedLinkType),
                       ("not IP", statistics.nonIP), ("IP but not TCP", statistics.nonTCP),
                       ("malformed or cut short", statistics.malformed)]
            .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        return "\(path): every one of its \(statistics.packets) packets was skipped (\(reasons)): nothing to analyse"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CorscopeCapture
import CorscopeHTTP

/// Reads a HAR file as a stream of `HTTPExchange`s, one `log.entries[i]` at a time.
///
/// The file is read in chunks (`HARReaderConfiguration.chunkSize`) and only the entry being
/// mapped is held in memory, so memory is bounded by the largest entry (capped at
/// `maximumEntryBytes`; longer entries are skipped and counted), not by the file.
///
/// Each entry becomes one exchange on a synthetic connection (see `HAREntryMapper` for the
/// exporter quirks handled):
/// - request: `method` (case kept), `url` as the target, `httpVersion` best effort, headers in
///   order with duplicates and HTTP/2 pseudo-headers (`:authority`, …) kept as they appear;
/// - response: nil when `status` is 0 or missing (the browser got nothing usable: CORS block or
///   network error), its reason in `HAREvidence.error` (`_error`, else "status 0"); a response
///   with a real status is kept even when `_error` is set, and the error is recorded too;
/// - times: `startedDateTime` plus `timings` (request first byte after blocked+dns+connect,
///   response first byte after send+wait, last byte at `time`);
/// - connection id: `_connectionId`, else Chrome's numeric `connection` (not Firefox's, which is
///   a port), else `1_000_000_000 + entryIndex`; endpoints are `0.0.0.0:0` placeholders.
///
/// ```swift
/// let reader = try HARReader(path: "ticket.har")
/// let outcome = reader.forEachExchange { exchange in … }
/// if let warning = outcome.message { print(warning) }
/// ```
public final class HARReader {
    public let path: String
    public let configuration: HARReaderConfiguration
    /// `log.version`, `log.creator`, `log.browser`, `log.pages`, as far as the last read got.
    public private(set) var metadata = HARLogMetadata()
    /// Counts for the last read.
    public private(set) var statistics = HARReadStatistics()

    private let input: ChunkedFileBytes

    /// Opens `path`. Throws `HARReadError.cannotOpen` when it cannot be opened or is a directory;
    /// everything about the content is reported by `forEachExchange`.
    public init(path: String, configuration: HARReaderConfiguration = .init()) throws {
        self.path = path
        self.configuration = configuration
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw HARReadError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw HARReadError.cannotOpen(path: path, reason: "is a directory")
        }
        input = ChunkedFileBytes(descriptor: descriptor, chunkSize: configuration.chunkSize)
    }

    /// Reads a HAR from a stream (standard input, a pipe), gzip-compressed or not. A stream is
    /// read once: `forEachExchange` can be called once, and error positions have no line number.
    public init(stream: StreamedInput, configuration: HARReaderConfiguration = .init()) {
        path = stream.name
        self.configuration = configuration
        input = ChunkedFileBytes(stream: stream, chunkSize: configuration.chunkSize)
    }

    /// Calls `body` with each entry's exchange in file order and says how the read ended.
    ///
    /// Never throws for bad content: malformed JSON, a file that is not a HAR, or an I/O error end
    /// the read with `.failed`, a cut file with `.truncated`; every complete entry before that
    /// point has been delivered. Only errors thrown by `body` propagate (the read stops there).
    /// Each call reads the file from the start.
    @discardableResult
    public func forEachExchange(_ body: (HTTPExchange) throws -> Void) rethrows -> HARReadOutcome {
        input.rewind()
        metadata = HARLogMetadata()
        statistics = HARReadStatistics()
        var stream = HARStructureWalker(scanner: JSONScanner(input: input), maximumEntryBytes: configuration.maximumEntryBytes)
        var mapper = HAREntryMapper(file: path, configuration: configuration)
        var pagesSeen = 0
        while true {
            let step = stream.next()
            metadata = stream.metadata
            if stream.metadata.pages.count != pagesSeen {
                pagesSeen = stream.metadata.pages.count
                mapper.setPages(stream.metadata.pages)
            }
            switch step {
            case .entry(let document):
                let entryIndex = statistics.entriesRead
                statistics.entriesRead += 1
                mapper.metadata = metadata
                if let exchange = mapper.map(document.root, entryIndex: entryIndex) {
                    statistics.exchangesDelivered += 1
                    try body(exchange)
                } else {
                    statistics.invalidEntriesSkipped += 1
                }
            case .oversizedEntry:
                statistics.entriesRead += 1
                statistics.oversizedEntriesSkipped += 1
            case .tooDeepEntry:
                statistics.entriesRead += 1
                statistics.deeplyNestedEntriesSkipped += 1
            case .end:
                return .complete(entriesRead: statistics.entriesRead)
            case .stopped(let stop):
                return outcome(for: stop)
            }
        }
    }

    private func outcome(for stop: JSONScanStop) -> HARReadOutcome {
        let n = statistics.entriesRead
        switch stop {
        case .endOfInput:
            let position = TextPosition.locate(offset: input.bufferStartOffset + Int64(input.count), descriptor: input.descriptor)
            return .truncated(line: position.line, column: position.column, entriesRead: n)
        case .malformed(let offset, let expected):
            let position = TextPosition.locate(offset: offset, descriptor: input.descriptor)
            return .failed(.malformedJSON(path: path, line: position.line, column: position.column, expected: expected), entriesRead: n)
        case .io(let code):
            return .failed(.readFailed(path: path, reason: String(cString: strerror(code))), entriesRead: n)
        case .notAHAR(let reason):
            return .failed(.notAHAR(path: path, reason: reason), entriesRead: n)
        }
    }
}

extension ChunkedFileBytes {
    func rewind() {
        guard descriptor >= 0 else { return }  // a stream is read once, from where it is
        lseek(descriptor, 0, SEEK_SET)
        position = 0
        count = 0
        bufferStartOffset = 0
        resetEOF()
    }
}

/// Walks the HAR's outer structure (`{ "log": { …, "entries": [ … ] } }`) member by member and
/// hands out one entry at a time; it can resume after each entry because its position in the
/// structure is kept in `phase`.
struct HARStructureWalker {
    enum Step {
        case entry(JSONDocument)
        case oversizedEntry
        /// An entry nested deeper than `JSONDocument.maximumDepth` (its bytes were walked whole,
        /// so the next entry is read as usual).
        case tooDeepEntry
        case end
        case stopped(JSONScanStop)
    }


    private enum Phase {
        case start
        case topLevelMembers
        case logMembers
        case entries(first: Bool)
        case finished
    }

    private var scanner: JSONScanner
    private let maximumEntryBytes: Int
    private var phase = Phase.start
    private var topLevelNeedsSeparator = false
    private var logNeedsSeparator = false
    private var sawLog = false
    private var sawEntries = false
    private var entriesIsNotAnArray = false
    private var entryBytes: [UInt8] = []
    private(set) var metadata = HARLogMetadata()

    /// Small members (`version`, `creator`, `browser`) larger than this are skipped.
    private static let smallMemberLimit = 1 << 20

    init(scanner: JSONScanner, maximumEntryBytes: Int) {
        self.scanner = scanner
        self.maximumEntryBytes = maximumEntryBytes
    }

    mutating func next() -> Step {
        do throws(JSONScanStop) {
            return try advance()
        } catch {
            phase = .finished
            return .stopped(error)
        }
    }

    private mutating func advance() throws(JSONScanStop) -> Step {
        while true {
            switch phase {
            case .start:
                try scanner.skipByteOrderMark()
                guard let first = try scanner.peekSignificantByte() else { throw JSONScanStop.notAHAR("the file is empty") }
                if first == 0xFF || first == 0xFE || first == 0x00 {
                    throw JSONScanStop.notAHAR("the file looks UTF-16 or UTF-32 encoded; HAR files are UTF-8 (convert it first)")
                }
                if first == 0xFF || first == 0xFE || first == 0x00 {
                    throw JSONScanStop.notAHAR("the file looks UTF-16 or UTF-32 encoded; HAR files are UTF-8 (convert it first)")
                }
                if first == UInt8(ascii: "[") { throw JSONScanStop.notAHAR("the top-level value is an array, not an object with a \"log\" member") }
                guard first == UInt8(ascii: "{") else {
                    throw JSONScanStop.malformed(offset: scanner.offset, expected: "expected '{' to start the HAR object")
                }
                scanner.consumeByte()
                phase = .topLevelMembers

            case .topLevelMembers:
                var needsSeparator = topLevelNeedsSeparator
                let member = try nextMemberKey(needsSeparator: &needsSeparator)
                topLevelNeedsSeparator = needsSeparator
                guard let key = member else {
                    guard try scanner.peekSignificantByte() == nil else {
                        throw JSONScanStop.malformed(offset: scanner.offset, expected: "expected end of file after the HAR object")
                    }
                    phase = .finished
                    if !sawLog { throw JSONScanStop.notAHAR("no \"log\" member in the top-level object") }
                    if !sawEntries {
                        throw JSONScanStop.notAHAR(entriesIsNotAnArray ? "\"log.entries\" is not an array" : "\"log\" has no \"entries\" array")
                    }
                    return .end
                }
                if key == Array("log".utf8) {
                    guard try scanner.requireSignificantByte() == UInt8(ascii: "{") else { throw JSONScanStop.notAHAR("\"log\" is not an object") }
                    scanner.consumeByte()
                    sawLog = true
                    logNeedsSeparator = false
                    phase = .logMembers
                } else {
                    try scanner.skipValue()
                }

            case .logMembers:
                var needsSeparator = logNeedsSeparator
                let member = try nextMemberKey(needsSeparator: &needsSeparator)
                logNeedsSeparator = needsSeparator
                guard let key = member else {
                    phase = .topLevelMembers
                    continue
                }
                try readLogMember(key)

            case .entries(let first):
                let b = try scanner.requireSignificantByte()
                if b == UInt8(ascii: "]") {
                    scanner.consumeByte()
                    phase = .logMembers
                    continue
                }
                if !first {
                    guard b == UInt8(ascii: ",") else {
                        throw JSONScanStop.malformed(offset: scanner.offset, expected: "expected ',' or ']' after an entry of log.entries")
                    }
                    scanner.consumeByte()
                }
                phase = .entries(first: false)
                _ = try scanner.requireSignificantByte()
                let entryStart = scanner.offset
                entryBytes.removeAll(keepingCapacity: true)
                if case .tooLarge = try scanner.captureValue(into: &entryBytes, limit: maximumEntryBytes) {
                    entryBytes = []  // give the memory back: the next entries are usually small
                    return .oversizedEntry
                }
                do {
                    return .entry(try JSONDocument.parse(entryBytes))
                } catch {
                    if error.nestingTooDeep {
                        entryBytes = []
                        return .tooDeepEntry
                    }
                    throw JSONScanStop.malformed(offset: entryStart + Int64(error.offset), expected: error.expected)
                }

            case .finished:
                return .end
            }
        }
    }

    /// The next member's key (consuming the `:` after it), or nil when the object closed.
    private mutating func nextMemberKey(needsSeparator: inout Bool) throws(JSONScanStop) -> [UInt8]? {
        let b = try scanner.requireSignificantByte()
        if needsSeparator {
            if b == UInt8(ascii: "}") { scanner.consumeByte(); return nil }
            guard b == UInt8(ascii: ",") else {
                throw .malformed(offset: scanner.offset, expected: "expected ',' or '}' after object member")
            }
            scanner.consumeByte()
        } else if b == UInt8(ascii: "}") {
            scanner.consumeByte()
            return nil
        }
        let key = try scanner.readKey(expected: needsSeparator ? "expected string key after ','" : "expected string key or '}'")
        try scanner.expect(UInt8(ascii: ":"), "expected ':' after object key")
        needsSeparator = true
        return key
    }

    private mutating func readLogMember(_ key: [UInt8]) throws(JSONScanStop) {
        switch String(decoding: key, as: UTF8.self) {
        case "entries":
            guard try scanner.requireSignificantByte() == UInt8(ascii: "[") else {
                // Reported once the structure is known to be otherwise fine.
                try scanner.skipValue()
                entriesIsNotAnArray = true
                return
            }
            scanner.consumeByte()
            sawEntries = true
            phase = .entries(first: true)
        case "version":
            metadata.version = try readSmallMember(limit: Self.smallMemberLimit)?.root.string
        case "creator":
            metadata.creator = try readSmallMember(limit: Self.smallMemberLimit).flatMap { Self.creator($0.root) }
            if sawEntries { metadata.creatorFollowedEntries = true }
        case "browser":
            metadata.browser = try readSmallMember(limit: Self.smallMemberLimit).flatMap { Self.creator($0.root) }
        case "pages":
            if let pages = try readSmallMember(limit: maximumEntryBytes) {
                metadata.pages = pages.root.elements.compactMap(Self.page)
                if sawEntries { metadata.pagesFollowedEntries = true }
            }
        default:
            try scanner.skipValue()
        }
    }

    /// A member value parsed on its own, or nil when it is longer than `limit` (skipped).
    private mutating func readSmallMember(limit: Int) throws(JSONScanStop) -> JSONDocument? {
        _ = try scanner.requireSignificantByte()
        let start = scanner.offset
        var bytes: [UInt8] = []
        guard case .complete = try scanner.captureValue(into: &bytes, limit: limit) else { return nil }
        do {
            return try JSONDocument.parse(bytes)
        } catch {
            throw .malformed(offset: start + Int64(error.offset), expected: error.expected)
        }
    }

    private static func creator(_ ref: JSONRef) -> HARCreator? {
        guard ref.kind == .object, let name = ref["name"]?.string else { return nil }
        return HARCreator(name: name, version: ref["version"]?.string ?? "")
    }

    private static func page(_ ref: JSONRef) -> HARPage? {
        guard ref.kind == .object, let id = ref["id"]?.string else { return nil }
        let title = ref["title"]?.string
        return HARPage(id: id, title: title, url: title.flatMap { URLParts.isHTTPURL($0) ? $0 : nil },
                       startedDateTime: ref["startedDateTime"]?.string.flatMap(ISO8601Timestamp.parse))
    }
}

/// Line and column (from 1) of a byte offset, found by reading the file again: only needed for
/// error messages, so the streaming pass does not count lines.
enum TextPosition {
    /// (0, 0) for a stream, whose bytes cannot be read again.
    static func locate(offset: Int64, descriptor: Int32) -> (line: Int, column: Int) {
        guard descriptor >= 0 else { return (0, 0) }
        var line = 1
        var column = 1
        var position: Int64 = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        while position < offset {
            let want = Int(min(Int64(chunk), offset - position))
            let n = pread(descriptor, buffer, want, off_t(position))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            for i in 0..<n {
                let b = buffer[i]
                if b == 0x0A {
                    line += 1
                    column = 1
                } else if b & 0xC0 != 0x80 {
                    // Continuation bytes belong to the character already counted.
                    column += 1
                }
            }
            position += Int64(n)
        }
        return (line, column)
    }
}

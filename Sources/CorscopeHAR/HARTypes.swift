import CorscopeCapture

/// Limits for reading one HAR file.
public struct HARReaderConfiguration: Sendable, Hashable {
    /// An entry whose JSON text is longer is skipped and counted (`oversizedEntriesSkipped`); the
    /// reader's memory is bounded by this plus `chunkSize`.
    public var maximumEntryBytes: Int
    /// Bytes read from the file per `read(2)`.
    public var chunkSize: Int
    /// How many bytes of `postData.text` / `content.text` to keep in `HTTPBody.kept` (0: none).
    /// Base64-encoded content is not decoded, so its text is not kept.
    public var keptBodyBytes: Int

    public init(maximumEntryBytes: Int = 64 << 20, chunkSize: Int = 1 << 20, keptBodyBytes: Int = 0) {
        // Node offsets are 32-bit, so one entry can never exceed 2 GiB whatever is asked.
        self.maximumEntryBytes = min(max(maximumEntryBytes, 0), Int(Int32.max) - 1)
        self.chunkSize = max(chunkSize, 4096)
        self.keptBodyBytes = max(keptBodyBytes, 0)
    }
}

/// `log.creator` or `log.browser`.
public struct HARCreator: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    /// `"name version"`, or the name alone when there is no version.
    public var description: String { version.isEmpty ? name : "\(name) \(version)" }
}

/// One `log.pages[]` element.
public struct HARPage: Sendable, Hashable {
    public var id: String
    public var title: String?
    /// `title` when it is an http(s) URL (Safari, chrome-har with a URL title); nil otherwise
    /// (WebPageTest writes "Run 1, First View for http://…", which is not a URL).
    public var url: String?
    public var startedDateTime: Timestamp?

    public init(id: String, title: String?, url: String?, startedDateTime: Timestamp?) {
        self.id = id
        self.title = title
        self.url = url
        self.startedDateTime = startedDateTime
    }
}

/// What the HAR says about itself, filled in as the file is read.
///
/// Members are read in file order. When `pages` or `creator` come after `entries` (legal JSON,
/// rare in practice), entries already delivered keep their `pageref` but have no `pageURL`, and
/// the creator-based sanitization guess could not use the creator; `pagesFollowedEntries` /
/// `creatorFollowedEntries` say so and `pages` is complete once the read returns.
public struct HARLogMetadata: Sendable, Hashable {
    public var version: String?
    public var creator: HARCreator?
    public var browser: HARCreator?
    public var pages: [HARPage] = []
    public var pagesFollowedEntries = false
    public var creatorFollowedEntries = false

    public init() {}
}

/// Counts for one read.
public struct HARReadStatistics: Sendable, Hashable {
    /// Complete entries found in `log.entries` (delivered or skipped).
    public var entriesRead = 0
    /// Exchanges handed to the caller.
    public var exchangesDelivered = 0
    /// Entries longer than `maximumEntryBytes`, skipped.
    public var oversizedEntriesSkipped = 0
    /// Entries that are valid JSON but not an object with a `request` object, skipped.
    public var invalidEntriesSkipped = 0
    /// Entries nested deeper than 512 levels (legal JSON that no HAR needs), skipped.
    public var deeplyNestedEntriesSkipped = 0

    public init() {}
}

/// A reason a HAR file could not be read (the entries before it were delivered).
public enum HARReadError: Error, Sendable, Hashable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)
    /// Invalid JSON: `x.har:1234:56: expected ',' or '}' after object member`. Lines and columns
    /// count from 1; the column counts characters (UTF-8 sequences), not bytes.
    case malformedJSON(path: String, line: Int, column: Int, expected: String)
    /// Valid JSON that is not a HAR (no `log` object with an `entries` array).
    case notAHAR(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .readFailed(path, reason): "\(path): read failed: \(reason)"
        case let .malformedJSON(path, line, column, expected):
            line > 0 ? "\(path):\(line):\(column): \(expected)" : "\(path): invalid JSON (read from a stream: no line number): \(expected)"
        case let .notAHAR(path, reason): "\(path): not a HAR file: \(reason)"
        }
    }
}

/// How a read ended. Every complete entry before a cut or an error was delivered.
public enum HARReadOutcome: Sendable, Hashable, CustomStringConvertible {
    case complete(entriesRead: Int)
    /// The file ends inside the JSON (a cut or still-being-written HAR) at `line`:`column`, the
    /// position just past its last byte.
    case truncated(line: Int, column: Int, entriesRead: Int)
    /// Reading stopped on `error`.
    case failed(HARReadError, entriesRead: Int)

    public var entriesRead: Int {
        switch self {
        case let .complete(n), let .truncated(_, _, n), let .failed(_, n): n
        }
    }

    /// The warning or error text, nil when the read completed.
    public var message: String? {
        switch self {
        case .complete: nil
        case let .truncated(line, column, n):
            line > 0
                ? "truncated HAR: the file ends at line \(line), column \(column) inside the JSON; \(n) complete entries were read before the cut"
                : "truncated HAR: the stream ends inside the JSON; \(n) complete entries were read before the cut"
        case let .failed(error, _): error.description
        }
    }

    public var description: String { message ?? "complete: \(entriesRead) entries" }

    /// The outcome, or its error thrown (for callers that treat any failure as fatal).
    public func checked() throws(HARReadError) -> HARReadOutcome {
        if case let .failed(error, _) = self { throw error }
        return self
    }
}

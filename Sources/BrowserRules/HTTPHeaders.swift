/// One header line as it was on the wire (name case kept).
///
/// Values are the wire bytes decoded as UTF-8: byte counts (the 128/1024-byte safelist limits)
/// and Chromium's `\uXXXX` hint escaping work on those UTF-8 bytes, which equals the wire bytes
/// whenever they were valid UTF-8. Bytes that are not valid UTF-8 cannot be reproduced exactly.
public struct HTTPHeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Ordered header list with duplicates, as captured.
public struct HTTPHeaders: Sendable, Hashable, ExpressibleByArrayLiteral, Sequence {
    public var fields: [HTTPHeaderField]

    public init(_ fields: [HTTPHeaderField] = []) {
        self.fields = fields
    }

    public init(_ pairs: [(name: String, value: String)]) {
        fields = pairs.map { HTTPHeaderField(name: $0.name, value: $0.value) }
    }

    public init(arrayLiteral elements: (String, String)...) {
        fields = elements.map { HTTPHeaderField(name: $0.0, value: $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[HTTPHeaderField]> { fields.makeIterator() }

    /// Every value of `name` (case-insensitive), whitespace-trimmed as header parsing does.
    public func values(named name: String) -> [String] {
        var values: [String] = []
        for field in fields where field.name.equalsIgnoringASCIICase(name) {
            values.append(field.value.trimmingHTTPWhitespace)
        }
        return values
    }

    public func contains(_ name: String) -> Bool {
        for field in fields where field.name.equalsIgnoringASCIICase(name) { return true }
        return false
    }

    /// All lines of `name` joined with `", "` — what Chromium's `GetNormalizedHeader` and the
    /// Fetch "get" algorithm both see. nil when the header is absent.
    public func combinedValue(named name: String) -> String? {
        // One line (the usual case): no array, no join.
        var first: String?
        var all: [String] = []
        for field in fields where field.name.equalsIgnoringASCIICase(name) {
            let value = field.value.trimmingHTTPWhitespace
            if first == nil {
                first = value
            } else {
                if all.isEmpty { all.append(first!) }
                all.append(value)
            }
        }
        return all.isEmpty ? first : all.joined(separator: ", ")
    }

    public func lineCount(named name: String) -> Int {
        var count = 0
        for field in fields where field.name.equalsIgnoringASCIICase(name) { count += 1 }
        return count
    }

    /// The first value of `name`, trimmed (`values(named:).first` without the array).
    func firstValue(named name: String) -> String? {
        for field in fields where field.name.equalsIgnoringASCIICase(name) { return field.value.trimmingHTTPWhitespace }
        return nil
    }

    /// The last value of `name`, trimmed (`values(named:).last` without the array).
    func lastValue(named name: String) -> String? {
        for field in fields.reversed() where field.name.equalsIgnoringASCIICase(name) {
            return field.value.trimmingHTTPWhitespace
        }
        return nil
    }
}

/// Header names this module reads, in their canonical spelling.
enum HeaderName {
    static let origin = "Origin"
    static let allowOrigin = "Access-Control-Allow-Origin"
    static let allowCredentials = "Access-Control-Allow-Credentials"
    static let allowMethods = "Access-Control-Allow-Methods"
    static let allowHeaders = "Access-Control-Allow-Headers"
    static let maxAge = "Access-Control-Max-Age"
    static let exposeHeaders = "Access-Control-Expose-Headers"
    static let requestMethod = "Access-Control-Request-Method"
    static let requestHeaders = "Access-Control-Request-Headers"
    static let location = "Location"
    static let vary = "Vary"
    static let cookie = "Cookie"
    static let authorization = "Authorization"
    static let secFetchMode = "Sec-Fetch-Mode"
    static let upgrade = "Upgrade"
}

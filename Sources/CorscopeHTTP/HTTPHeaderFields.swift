/// Header fields exactly as they were on the wire: raw bytes, in order, duplicates kept.
///
/// The bytes are the source of truth; `String` views are made on demand, so a header with
/// invalid bytes or a duplicated `Access-Control-Allow-Origin` stays visible byte-exact.
public struct HTTPHeaderFields: Sendable, Hashable {
    /// Byte offsets of one field inside `storage`.
    public struct Span: Sendable, Hashable {
        public var nameStart: Int32
        public var nameEnd: Int32
        public var valueStart: Int32
        public var valueEnd: Int32

        public init(nameStart: Int32, nameEnd: Int32, valueStart: Int32, valueEnd: Int32) {
            self.nameStart = nameStart
            self.nameEnd = nameEnd
            self.valueStart = valueStart
            self.valueEnd = valueEnd
        }
    }

    /// Names and values back to back; a field's bytes are addressed by its `Span`.
    public private(set) var storage: [UInt8] = []
    public private(set) var spans: [Span] = []

    public init() {}

    /// Takes bytes and spans a decoder already laid out (HTTP/2's HPACK writes names and values
    /// straight into one buffer). Spans that do not fit the bytes are dropped.
    public init(storage: [UInt8], spans: [Span]) {
        let end = Int32(clamping: storage.count)
        self.storage = storage
        if spans.allSatisfy({ 0 <= $0.nameStart && $0.nameStart <= $0.nameEnd && $0.nameEnd <= $0.valueStart
                && $0.valueStart <= $0.valueEnd && $0.valueEnd <= end }) {
            self.spans = spans
        } else {
            self.spans = spans.filter { 0 <= $0.nameStart && $0.nameStart <= $0.nameEnd && $0.nameEnd <= $0.valueStart
                && $0.valueStart <= $0.valueEnd && $0.valueEnd <= end }
        }
    }

    /// Builds fields from (name, value) string pairs, in order (tests, HAR input).
    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { append(name: Array(name.utf8), value: Array(value.utf8)) }
    }

    public var count: Int { spans.count }
    public var isEmpty: Bool { spans.isEmpty }

    public mutating func reserveCapacity(bytes: Int, fields: Int) {
        storage.reserveCapacity(bytes)
        spans.reserveCapacity(fields)
    }

    public mutating func append<N: Collection, V: Collection>(name: N, value: V)
    where N.Element == UInt8, V.Element == UInt8 {
        let nameStart = Int32(storage.count)
        storage.append(contentsOf: name)
        let valueStart = Int32(storage.count)
        storage.append(contentsOf: value)
        spans.append(Span(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: Int32(storage.count)))
    }

    /// Appends a field from raw bytes (a HAR's strings, read in place): non-generic, so a caller
    /// in another module copies with two memcpys instead of an unspecialised element walk.
    public mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let nameStart = Int32(storage.count)
        storage.append(contentsOf: name)
        let valueStart = Int32(storage.count)
        storage.append(contentsOf: value)
        spans.append(Span(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: Int32(storage.count)))
    }

    /// Appends a field given as strings (HTTP/2's decoded headers) by copying their UTF-8
    /// storage: the generic `append(name:value:)` walks a `String.UTF8View` byte by byte through
    /// an unspecialised path when called from another module.
    public mutating func append(name: String, value: String) {
        var name = name, value = value
        let nameStart = Int32(storage.count)
        name.withUTF8 { storage.append(contentsOf: $0) }
        let valueStart = Int32(storage.count)
        value.withUTF8 { storage.append(contentsOf: $0) }
        spans.append(Span(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: Int32(storage.count)))
    }

    /// Builds the fields from byte ranges of one buffer in a single pass: one allocation for
    /// the bytes, one for the spans (the parser's fast path).
    ///
    /// `pieces` are offsets into `source`. A piece whose `nameStart` is negative continues the
    /// previous field's value (obs-fold): one space and its value bytes are appended to it.
    init(copying source: UnsafeRawBufferPointer, pieces: UnsafeBufferPointer<Span>) {
        var byteCount = 0
        var fieldCount = 0
        for piece in pieces {
            if piece.nameStart < 0 {
                byteCount += 1 + Int(piece.valueEnd - piece.valueStart)
            } else {
                byteCount += Int(piece.nameEnd - piece.nameStart) + Int(piece.valueEnd - piece.valueStart)
                fieldCount += 1
            }
        }
        guard fieldCount > 0, let base = source.baseAddress else { return }
        var spans: [Span] = []
        spans.reserveCapacity(fieldCount)
        storage = [UInt8](unsafeUninitializedCapacity: byteCount) { bytes, initialized in
            let out = UnsafeMutableRawPointer(bytes.baseAddress!)
            var written = 0
            for piece in pieces {
                if piece.nameStart < 0 {
                    guard !spans.isEmpty else { continue }
                    out.storeBytes(of: 0x20, toByteOffset: written, as: UInt8.self)
                    written += 1
                } else {
                    let nameLength = Int(piece.nameEnd - piece.nameStart)
                    (out + written).copyMemory(from: base + Int(piece.nameStart), byteCount: nameLength)
                    let nameStart = Int32(written)
                    written += nameLength
                    spans.append(Span(nameStart: nameStart, nameEnd: Int32(written), valueStart: Int32(written), valueEnd: Int32(written)))
                }
                let valueLength = Int(piece.valueEnd - piece.valueStart)
                (out + written).copyMemory(from: base + Int(piece.valueStart), byteCount: valueLength)
                written += valueLength
                spans[spans.count - 1].valueEnd = Int32(written)
            }
            initialized = written
        }
        self.spans = spans
    }

    /// Appends bytes to the value of the last field (obs-fold continuation lines).
    public mutating func extendLastValue<V: Collection>(with bytes: V) where V.Element == UInt8 {
        guard !spans.isEmpty else { return }
        storage.append(contentsOf: bytes)
        spans[spans.count - 1].valueEnd = Int32(storage.count)
    }

    public func nameBytes(at index: Int) -> ArraySlice<UInt8> {
        let s = spans[index]
        return storage[Int(s.nameStart)..<Int(s.nameEnd)]
    }

    public func valueBytes(at index: Int) -> ArraySlice<UInt8> {
        let s = spans[index]
        return storage[Int(s.valueStart)..<Int(s.valueEnd)]
    }

    public func name(at index: Int) -> String {
        let span = spans[index]
        return string(Int(span.nameStart)..<Int(span.nameEnd))
    }

    public func value(at index: Int) -> String {
        let span = spans[index]
        return string(Int(span.valueStart)..<Int(span.valueEnd))
    }

    private func string(_ range: Range<Int>) -> String {
        storage.withUnsafeBufferPointer { bytes in
            HTTPText.string(UnsafeBufferPointer(rebasing: bytes[range]))
        }
    }

    /// All fields as (name, value) strings, in order, duplicates kept.
    public var pairs: [(name: String, value: String)] {
        (0..<count).map { (name(at: $0), value(at: $0)) }
    }

    /// Indexes of the fields whose name equals `name`, ASCII case-insensitively.
    public func indexes(named name: String) -> [Int] {
        var found: [Int] = []
        var from = 0
        while let index = firstIndex(named: name, from: from) {
            found.append(index)
            from = index + 1
        }
        return found
    }

    /// Every value of the fields named `name`, in order, not joined.
    public func values(named name: String) -> [String] { indexes(named: name).map(value(at:)) }

    /// The first value of the fields named `name`.
    public func first(named name: String) -> String? {
        firstIndex(named: name).map(value(at:))
    }

    /// The index of the first field at or after `from` whose name equals `name`, ignoring ASCII
    /// case. Lengths are compared before bytes, so most fields cost one integer compare; every
    /// stage looks headers up by name on every exchange.
    public func firstIndex(named name: String, from: Int = 0) -> Int? {
        var name = name
        return name.withUTF8 { wanted in
            storage.withUnsafeBufferPointer { bytes in
                spans.withUnsafeBufferPointer { spans in
                    guard from < spans.count else { return nil }
                    let length = Int32(wanted.count)
                    for index in from..<spans.count {
                        let span = spans[index]
                        guard span.nameEnd - span.nameStart == length else { continue }
                        var offset = Int(span.nameStart)
                        var equal = true
                        for byte in wanted {
                            if HTTPText.lowercased(bytes[offset]) != HTTPText.lowercased(byte) { equal = false; break }
                            offset += 1
                        }
                        if equal { return index }
                    }
                    return nil
                }
            }
        }
    }

    public func contains(named name: String) -> Bool { firstIndex(named: name) != nil }

    /// Whether a comma-separated field named `name` lists `token` (ASCII case-insensitive), e.g.
    /// `close` in `Connection: keep-alive, close`. Reads the bytes; builds no strings.
    public func listContains(_ token: StaticString, inFieldsNamed name: String) -> Bool {
        var from = 0
        while let index = firstIndex(named: name, from: from) {
            let span = spans[index]
            let found: Bool = storage.withUnsafeBufferPointer { bytes in
                token.withUTF8Buffer { wanted in
                    var start = Int(span.valueStart)
                    let end = Int(span.valueEnd)
                    while start <= end {
                        var stop = start
                        while stop < end, bytes[stop] != UInt8(ascii: ",") { stop += 1 }
                        var low = start, high = stop
                        while low < high, bytes[low] == 0x20 || bytes[low] == 0x09 { low += 1 }
                        while high > low, bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09 { high -= 1 }
                        if HTTPText.equalsIgnoringASCIICase(bytes[low..<high], wanted) { return true }
                        start = stop + 1
                    }
                    return false
                }
            }
            if found { return true }
            from = index + 1
        }
        return false
    }
}

extension StringProtocol {
    /// Drops the given characters from both ends (header lists: `" \t"`); no Foundation needed.
    public func trimmingCharacters(in set: String) -> String {
        // Byte-wise when the set is ASCII (it always is here: spaces, tabs, quotes): a trimmed
        // ASCII byte is a whole character, so the cut is on a character boundary.
        guard set.utf8.allSatisfy({ $0 < 0x80 }) else {
            var slice = Substring(self)
            while let first = slice.first, set.contains(first) { slice.removeFirst() }
            while let last = slice.last, set.contains(last) { slice.removeLast() }
            return String(slice)
        }
        let whole = Substring(self)
        let utf8 = whole.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, set.utf8.contains(utf8[start]) { start = utf8.index(after: start) }
        while end > start, set.utf8.contains(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return String(whole[start..<end])
    }
}

/// Byte-level text helpers shared by the parser and the header views.
public enum HTTPText {
    /// UTF-8 when the bytes are valid UTF-8; otherwise each byte maps to U+0000–U+00FF
    /// (ISO-8859-1), so no byte is ever lost or replaced by U+FFFD.
    public static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var allASCII = true
        for b in bytes where b >= 0x80 { allASCII = false; break }
        if allASCII { return String(decoding: bytes, as: UTF8.self) }
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    public static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var allASCII = true
        for b in bytes where b >= 0x80 { allASCII = false; break }
        if allASCII { return String(decoding: bytes, as: UTF8.self) }
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    @inlinable @inline(__always)
    public static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    @inlinable
    public static func equalsIgnoringASCIICase<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lowercased(x) != lowercased(y) { return false }
        return true
    }
}

import CorscopeHTTP

/// A JSON syntax error inside one parsed value: `offset` counts bytes from the value's start.
struct JSONSyntaxError: Error {
    var offset: Int
    var expected: String
    /// Legal JSON nested deeper than `JSONDocument.maximumDepth`: the value is whole, only too
    /// deep to parse (a HAR entry like that is skipped, not the end of the file).
    var nestingTooDeep = false
}

/// One JSON value (a HAR entry, `log.creator`, `log.pages`) parsed into a flat node list.
///
/// Nodes point into the value's bytes; strings and numbers are decoded only when asked for, so a
/// large `content.text` costs one validating pass and no allocation.
final class JSONDocument {
    enum Kind: UInt8 {
        case null, `true`, `false`, number, string, array, object
    }

    struct Node {
        var kind: Kind
        /// The string contains a backslash escape (decode before comparing).
        var hasEscape: Bool
        /// For strings the bytes between the quotes; for other kinds the whole token.
        var start: Int32
        var end: Int32
        /// Index of the node after this one's subtree (its next sibling).
        var next: Int32
    }

    // Both `let`: read once per node visit, and a class's `var` would cost an exclusivity check each time.
    let bytes: [UInt8]
    let nodes: [Node]

    private init(bytes: [UInt8], nodes: [Node]) {
        self.bytes = bytes
        self.nodes = nodes
    }

    /// Deep nesting is legal JSON but no HAR needs it; the cap keeps recursion off the stack limit.
    static let maximumDepth = 512

    /// Parses exactly one value (whitespace around it allowed).
    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONDocument {
        guard bytes.count < Int(Int32.max) else { throw JSONSyntaxError(offset: 0, expected: "a value smaller than 2 GiB") }
        var parser = JSONValueParser(count: bytes.count)
        let result: Result<Void, JSONSyntaxError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(JSONSyntaxError) {
                try parser.parseDocument(buffer)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        return JSONDocument(bytes: bytes, nodes: parser.nodes)
    }

    var root: JSONRef { JSONRef(document: self, index: 0) }
}

/// A position in a `JSONDocument`: typed accessors return nil when the value has another type.
struct JSONRef {
    let document: JSONDocument
    let index: Int

    var node: JSONDocument.Node { document.nodes[index] }
    var kind: JSONDocument.Kind { node.kind }

    /// The member named `key` of an object (the first one when a key repeats).
    subscript(key: String) -> JSONRef? {
        guard kind == .object else { return nil }
        let end = Int(node.next)
        var i = index + 1
        var wanted = key
        return wanted.withUTF8 { wantedBytes -> JSONRef? in
            while i < end {
                let valueIndex = i + 1
                if keyEquals(i, wantedBytes) { return JSONRef(document: document, index: valueIndex) }
                i = Int(document.nodes[valueIndex].next)
            }
            return nil
        }
    }

    private func keyEquals(_ keyIndex: Int, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        let key = document.nodes[keyIndex]
        if key.hasEscape {
            return JSONRef(document: document, index: keyIndex).stringBytes.map { $0.elementsEqual(wanted) } ?? false
        }
        let length = Int(key.end - key.start)
        guard length == wanted.count else { return false }
        let start = Int(key.start)
        for j in 0..<length where document.bytes[start + j] != wanted[j] { return false }
        return true
    }

    /// Elements of an array in order.
    var elements: [JSONRef] {
        guard kind == .array else { return [] }
        var result: [JSONRef] = []
        var i = index + 1
        let end = Int(node.next)
        while i < end {
            result.append(JSONRef(document: document, index: i))
            i = Int(document.nodes[i].next)
        }
        return result
    }

    /// Bytes of a string after unescaping (UTF-8; a lone surrogate escape becomes U+FFFD).
    var stringBytes: [UInt8]? {
        guard kind == .string else { return nil }
        let n = node
        let raw = document.bytes[Int(n.start)..<Int(n.end)]
        return n.hasEscape ? JSONStringDecoder.unescape(raw) : Array(raw)
    }

    /// Calls `body` with the decoded string's bytes: the document's own bytes when the string has
    /// no escape (no copy), else an unescaped copy. Nil when the value is not a string.
    func withStringBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        guard kind == .string else { return nil }
        let n = node
        if n.hasEscape {
            return JSONStringDecoder.unescape(document.bytes[Int(n.start)..<Int(n.end)]).withUnsafeBytes(body)
        }
        return document.bytes.withUnsafeBytes { all in body(UnsafeRawBufferPointer(rebasing: all[Int(n.start)..<Int(n.end)])) }
    }

    /// Byte length of the decoded string without building it when there is no escape.
    var stringByteCount: Int? {
        guard kind == .string else { return nil }
        let n = node
        return n.hasEscape ? (stringBytes?.count ?? 0) : Int(n.end - n.start)
    }

    /// The string value. Invalid UTF-8 bytes are kept as ISO-8859-1 characters (never dropped).
    var string: String? {
        guard let bytes = stringBytes else { return nil }
        return textString(bytes)
    }

    /// A number, or a string holding a number (some exporters quote numbers).
    var double: Double? {
        switch kind {
        case .number:
            let n = node
            return Double(String(decoding: document.bytes[Int(n.start)..<Int(n.end)], as: UTF8.self))
        case .string:
            return string.flatMap { Double($0.trimmingASCIIWhitespace()) }
        default:
            return nil
        }
    }

    /// An integral number (fractions truncated toward zero), or nil when out of range.
    var int: Int? {
        guard let value = double, value.isFinite, value > -9.0e18, value < 9.0e18 else { return nil }
        return Int(value)
    }
}

/// Recursive-descent JSON validator that records nodes; recursion is bounded by `maximumDepth`.
struct JSONValueParser {
    var nodes: [JSONDocument.Node] = []
    private var i = 0
    private var depth = 0

    init(count: Int) {
        // A rough guess that avoids most regrowth for typical entries (one node per ~24 bytes),
        // capped so an entry that is one huge body does not reserve nodes it never uses.
        nodes.reserveCapacity(max(8, min(count / 24, 1 << 14)))
    }

    mutating func parseDocument(_ p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        try parseValue(p)
        skipWhitespace(p)
        guard i == p.count else { throw JSONSyntaxError(offset: i, expected: "expected end of value") }
    }

    @inline(__always)
    private mutating func skipWhitespace(_ p: UnsafeBufferPointer<UInt8>) {
        while i < p.count {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    private mutating func parseValue(_ p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        skipWhitespace(p)
        guard i < p.count else { throw JSONSyntaxError(offset: i, expected: "expected a value") }
        switch p[i] {
        case UInt8(ascii: "{"): try parseObject(p)
        case UInt8(ascii: "["): try parseArray(p)
        case UInt8(ascii: "\""): try parseString(p)
        case UInt8(ascii: "t"): try parseLiteral(p, "true", .true)
        case UInt8(ascii: "f"): try parseLiteral(p, "false", .false)
        case UInt8(ascii: "n"): try parseLiteral(p, "null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber(p)
        default: throw JSONSyntaxError(offset: i, expected: "expected a value")
        }
    }

    private mutating func openContainer(_ kind: JSONDocument.Kind) throws(JSONSyntaxError) -> Int {
        depth += 1
        guard depth <= JSONDocument.maximumDepth else {
            throw JSONSyntaxError(offset: i, expected: "nesting deeper than \(JSONDocument.maximumDepth) levels is not supported",
                                  nestingTooDeep: true)
        }
        nodes.append(.init(kind: kind, hasEscape: false, start: Int32(i), end: 0, next: 0))
        i += 1
        return nodes.count - 1
    }

    private mutating func closeContainer(_ index: Int) {
        i += 1
        nodes[index].end = Int32(i)
        nodes[index].next = Int32(nodes.count)
        depth -= 1
    }

    private mutating func parseObject(_ p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        let index = try openContainer(.object)
        skipWhitespace(p)
        if i < p.count, p[i] == UInt8(ascii: "}") { closeContainer(index); return }
        while true {
            skipWhitespace(p)
            guard i < p.count, p[i] == UInt8(ascii: "\"") else {
                throw JSONSyntaxError(offset: i, expected: nodes.count == index + 1 ? "expected string key or '}'" : "expected string key after ','")
            }
            try parseString(p)
            skipWhitespace(p)
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw JSONSyntaxError(offset: i, expected: "expected ':' after object key") }
            i += 1
            try parseValue(p)
            skipWhitespace(p)
            guard i < p.count else { throw JSONSyntaxError(offset: i, expected: "expected ',' or '}' after object member") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "}") { closeContainer(index); return }
            throw JSONSyntaxError(offset: i, expected: "expected ',' or '}' after object member")
        }
    }

    private mutating func parseArray(_ p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        let index = try openContainer(.array)
        skipWhitespace(p)
        if i < p.count, p[i] == UInt8(ascii: "]") { closeContainer(index); return }
        while true {
            try parseValue(p)
            skipWhitespace(p)
            guard i < p.count else { throw JSONSyntaxError(offset: i, expected: "expected ',' or ']' after array element") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "]") { closeContainer(index); return }
            throw JSONSyntaxError(offset: i, expected: "expected ',' or ']' after array element")
        }
    }

    private mutating func parseString(_ p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        i += 1  // opening quote
        let start = i
        var hasEscape = false
        let count = p.count
        while i < count {
            let b = p[i]
            if b == 0x22 {
                nodes.append(.init(kind: .string, hasEscape: hasEscape, start: Int32(start), end: Int32(i), next: Int32(nodes.count + 1)))
                i += 1
                return
            }
            if b == 0x5C {
                hasEscape = true
                guard i + 1 < count else { break }
                switch p[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 5 < count else { i = count; break }
                    for k in 2...5 where JSONStringDecoder.hexValue(p[i + k]) == nil {
                        throw JSONSyntaxError(offset: i + k, expected: "expected 4 hex digits after \\u")
                    }
                    i += 6
                default:
                    throw JSONSyntaxError(offset: i + 1, expected: "expected a valid escape after '\\'")
                }
                continue
            }
            if b < 0x20 { throw JSONSyntaxError(offset: i, expected: "expected '\"' (control character inside string)") }
            i += 1
        }
        throw JSONSyntaxError(offset: count, expected: "expected '\"' to end the string")
    }

    private mutating func parseLiteral(_ p: UnsafeBufferPointer<UInt8>, _ word: StaticString, _ kind: JSONDocument.Kind) throws(JSONSyntaxError) {
        let start = i
        let length = word.utf8CodeUnitCount
        let w = word.utf8Start
        for k in 0..<length {
            guard i + k < p.count, p[i + k] == w[k] else {
                throw JSONSyntaxError(offset: i + k, expected: "expected a value (\(word))")
            }
        }
        i += length
        nodes.append(.init(kind: kind, hasEscape: false, start: Int32(start), end: Int32(i), next: Int32(nodes.count + 1)))
    }

    private mutating func parseNumber(_ p: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        let start = i
        let count = p.count
        func isDigit(_ at: Int) -> Bool { at < count && p[at] &- 0x30 < 10 }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw JSONSyntaxError(offset: i, expected: "expected a digit") }
        if p[i] == UInt8(ascii: "0") { i += 1 } else { while isDigit(i) { i += 1 } }
        if i < count, p[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw JSONSyntaxError(offset: i, expected: "expected a digit after '.'") }
            while isDigit(i) { i += 1 }
        }
        if i < count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            i += 1
            if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw JSONSyntaxError(offset: i, expected: "expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
        }
        nodes.append(.init(kind: .number, hasEscape: false, start: Int32(start), end: Int32(i), next: Int32(nodes.count + 1)))
    }
}

enum JSONStringDecoder {
    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    /// Unescapes the bytes between a string's quotes (already validated by the parser).
    static func unescape(_ raw: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        let end = raw.endIndex
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= end else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let h = hexValue(raw[at + k]) else { return nil }
                v = v << 4 | h
            }
            return v
        }
        while i < end {
            let b = raw[i]
            guard b == 0x5C, i + 1 < end else { out.append(b); i += 1; continue }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i) else { out.append(contentsOf: [0xEF, 0xBF, 0xBD]); continue }
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate pairs with a following \uDC00–\uDFFF escape.
                    if i + 6 <= end, raw[i] == 0x5C, raw[i + 1] == UInt8(ascii: "u"), let low = hex4(i + 2), low >= 0xDC00, low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // \" \\ \/
            }
        }
        return out
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

/// UTF-8 when valid, otherwise ISO-8859-1 per byte, like the header views (`HTTPText.string`)
/// do; written for `[UInt8]` so the common all-ASCII case is not a generic cross-module call.
func textString(_ bytes: [UInt8]) -> String {
    let allASCII = bytes.withUnsafeBufferPointer { buffer in
        var combined: UInt8 = 0
        for b in buffer { combined |= b }
        return combined < 0x80
    }
    if allASCII { return String(decoding: bytes, as: UTF8.self) }
    return HTTPText.string(bytes)
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].value == 0x20 || scalars[start].value == 0x09 || scalars[start].value == 0x0A || scalars[start].value == 0x0D { start = scalars.index(after: start) }
        while end > start {
            let before = scalars.index(before: end)
            let v = scalars[before].value
            guard v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D else { break }
            end = before
        }
        return String(scalars[start..<end])
    }
}

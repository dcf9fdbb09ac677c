import CorscopeCapture
import CorscopeHTTP

/// A streaming JSON writer into a byte buffer.
///
/// `JSONEncoder` is an order of magnitude too slow for NDJSON at capture speed and reorders
/// keys; this writes fields in the order given, escapes bytes directly, and never builds an
/// intermediate tree. The caller is responsible for well-formed nesting.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next value at the current nesting level needs a leading comma.
    private var needsComma = false

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    public mutating func removeAll(keepingCapacity: Bool = true) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
        needsComma = false
    }

    public mutating func appendRaw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func newline() {
        bytes.append(0x0A)
        needsComma = false
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":` — the next call writes the value.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Appends members written by another writer (`"a":1,"b":2`) as the next members here.
    public mutating func appendMembers(_ members: [UInt8]) {
        guard !members.isEmpty else { return }
        separate()
        bytes.append(contentsOf: members)
    }

    public mutating func null() { separate(); appendRaw("null") }
    public mutating func bool(_ value: Bool) { separate(); if value { appendRaw("true") } else { appendRaw("false") } }

    public mutating func int(_ value: Int) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(UInt64(value.magnitude))
    }

    /// The decimal digits of `magnitude`, no sign, no separator.
    private mutating func appendDigits(_ magnitude: UInt64) {
        if magnitude == 0 { bytes.append(UInt8(ascii: "0")); return }
        var magnitude = magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[i]) }
        }
    }

    public mutating func double(_ value: Double) {
        separate()
        bytes.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
    }

    /// A capture timestamp as seconds with 9 decimals, exact (written digit by digit, no Double).
    public mutating func timestamp(seconds: Int64, nanoseconds: Int32) {
        // Times are normalised where they enter (`Timestamp(captureSeconds:fraction:)`); an
        // impossible fraction still never becomes a non-digit here (checked, not recomputed).
        let normalized = (0..<1_000_000_000).contains(nanoseconds)
            ? Timestamp(seconds: seconds, nanoseconds: nanoseconds)
            : Timestamp(captureSeconds: seconds, fraction: Int64(nanoseconds))
        // A time before 1970 is seconds < 0 plus a positive fraction: -0.5 s is (-1, 500000000)
        // and must read "-0.500000000", so the digits are those of its magnitude.
        var whole = normalized.seconds
        var rest = normalized.nanoseconds
        if whole < 0 {
            if rest > 0 {
                whole += 1
                rest = 1_000_000_000 - rest
            }
            separate()
            bytes.append(UInt8(ascii: "-"))
            appendDigits(UInt64(-whole))
        } else {
            int(Int(whole))
        }
        bytes.append(UInt8(ascii: "."))
        var divisor: Int32 = 100_000_000
        for _ in 0..<9 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    public mutating func string(_ value: String) {
        separate()
        var value = value
        value.withUTF8 { escape(UnsafeRawBufferPointer($0)) }
    }

    /// Writes header bytes as a JSON string: valid UTF-8 as is, other bytes as U+0000–U+00FF
    /// (the same mapping `HTTPText.string` uses), so nothing is lost or replaced.
    public mutating func string(bytes raw: ArraySlice<UInt8>) {
        separate()
        var ascii = true
        for b in raw where b >= 0x80 { ascii = false; break }
        if ascii {
            raw.withUnsafeBytes { escape($0) }
        } else {
            var text = HTTPText.string(raw)
            text.withUTF8 { escape(UnsafeRawBufferPointer($0)) }
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func escape(_ source: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        let count = source.count
        var runStart = 0
        var i = 0
        while i < count {
            // Most bytes need no escape: skip them eight at a time.
            while i + 8 <= count, !Self.mayNeedEscape(source.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
            }
            guard i < count else { break }
            let b = source[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0x7F {
                i += 1
                continue
            }
            if runStart < i { appendRun(source, runStart..<i) }
            runStart = i + 1
            i += 1
            switch b {
            case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            default:
                bytes.append(0x5C); bytes.append(UInt8(ascii: "u")); bytes.append(UInt8(ascii: "0")); bytes.append(UInt8(ascii: "0"))
                bytes.append(Self.hex[Int(b >> 4)]); bytes.append(Self.hex[Int(b & 0xF)])
            }
        }
        if runStart < count { appendRun(source, runStart..<count) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether any of eight bytes is a control byte, `"`, `\\` or DEL (never a false "no").
    @inline(__always)
    private static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        let below20 = (word &- ones &* 0x20) & ~word & highs != 0
        return below20 || hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C)) || hasZeroByte(word ^ (ones &* 0x7F))
    }

    /// Appends `range` of `source` as one copy.
    @inline(__always)
    private mutating func appendRun(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) {
        let start = source.baseAddress!.advanced(by: range.lowerBound).assumingMemoryBound(to: UInt8.self)
        bytes.append(contentsOf: UnsafeBufferPointer(start: start, count: range.count))
    }
}

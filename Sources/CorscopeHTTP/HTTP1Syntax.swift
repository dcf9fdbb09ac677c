/// Byte-level grammar of HTTP/1 start lines and fields (RFC 9110 §5.6, RFC 9112 §3–5),
/// written as plain loops over `UnsafeRawBufferPointer` so the hot path has no per-byte calls
/// through generics or existentials.
enum HTTP1Syntax {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// tchar (RFC 9110 §5.6.2), as a 128-bit set: one shift and mask per byte, no branches
    /// on the byte value.
    @inline(__always)
    static func isToken(_ b: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        let set = b < 64 ? low : high
        return b < 128 && (set >> UInt64(b & 63)) & 1 == 1
    }

    /// tchar membership by byte value ('1' = token), as a string literal so the table is
    /// constant data with no lazy initialisation on access.
    private static let tokenTable: StaticString = "0000000000000000000000000000000001011111001101101111111111000000011111111111111111111111111000111111111111111111111111111110101000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

    /// True when every byte of `[start, end)` is a tchar: one table load per byte, no branch
    /// on the byte value.
    @inline(__always)
    static func allTokens(_ buf: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        let table = tokenTable.utf8Start
        var ok: UInt8 = 1
        var i = start
        while i < end {
            ok &= table[Int(buf[i])]
            i += 1
        }
        return ok & 1 == 1
    }

    /// Index of the first `byte` in `[from, to)`, or `to`; eight bytes at a time.
    @inline(__always)
    static func firstIndex(of byte: UInt8, _ buf: UnsafeRawBufferPointer, from: Int, to: Int) -> Int {
        guard let base = buf.baseAddress else { return to }
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        var i = from
        while i + 8 <= to {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
            let zeroes = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zeroes != 0 { return i + zeroes.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < to {
            if buf[i] == byte { return i }
            i += 1
        }
        return to
    }

    /// Any byte >= 0x80 in `[start, end)`, eight bytes at a time.
    @inline(__always)
    static func containsHighBytes(_ buf: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var i = start
        var combined: UInt64 = 0
        if let base = buf.baseAddress {
            while i + 8 <= end {
                combined |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
        }
        while i < end {
            combined |= UInt64(buf[i])
            i += 1
        }
        return combined & 0x8080_8080_8080_8080 != 0
    }

    @inline(__always)
    static func isOWS(_ b: UInt8) -> Bool { b == space || b == tab }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    enum LineCheck: Equatable {
        /// A complete, plausible start line; `lineFeed` is the index of its LF.
        case valid(lineFeed: Int)
        case invalid
        /// Consistent so far; more bytes are needed to decide.
        case needMore
    }

    /// Longest start line accepted while resynchronising (a real head may be longer, up to the
    /// head cap, when the parser is already at a message boundary).
    static let resyncLineLimit = 8 * 1024
    static let maxMethodLength = 32

    /// Checks `METHOD SP target SP HTTP/d.d [CR] LF` starting at `start`.
    /// `strict` (resync) wants an upper-case method, a target without controls or spaces and
    /// HTTP/1.x, so that body text is unlikely to pass for a request line. Bytes ≥ 0x80 are
    /// allowed in the target (raw UTF-8 paths, as some clients send them and servers take them):
    /// after one bad request, every later request with such a target would be skipped too.
    static func checkRequestLine(_ buf: UnsafeRawBufferPointer, from start: Int, strict: Bool, limit: Int) -> LineCheck {
        let end = min(buf.count, start + limit)
        let outOfBytes: LineCheck = buf.count - start < limit ? .needMore : .invalid
        var i = start
        while i < end, isToken(buf[i]) {
            if strict, !(buf[i] &- 0x41 < 26 || buf[i] == 0x2D || buf[i] == 0x5F) { return .invalid }
            i += 1
            if i - start > maxMethodLength { return .invalid }
        }
        if i == end { return outOfBytes }
        if i == start || buf[i] != space { return .invalid }
        while i < end, buf[i] == space { i += 1 }
        let targetStart = i
        while i < end {
            let b = buf[i]
            if b <= space || b == 0x7F { break }
            i += 1
        }
        if i == end { return outOfBytes }
        if i == targetStart { return .invalid }
        // Tolerant mode takes a request line without a version (`GET /path`, as HTTP/0.9 wrote
        // it and broken clients still do); the parser flags it.
        if !strict, buf[i] == cr || buf[i] == lf {
            if buf[i] == cr {
                i += 1
                if i == end { return outOfBytes }
            }
            return buf[i] == lf ? .valid(lineFeed: i) : .invalid
        }
        if buf[i] != space { return .invalid }
        while i < end, buf[i] == space { i += 1 }
        let versioned = checkVersionThenEOL(buf, at: i, end: end, strict: strict, outOfBytes: outOfBytes)
        guard !strict, versioned == .invalid else { return versioned }
        // Tolerant mode also takes a mangled version (`HTTP/1.`): one last token that starts
        // like a version, then the end of the line.
        for k in 0..<5 {
            if i == end { return outOfBytes }
            if buf[i] != StaticString("HTTP/").utf8Start[k] { return .invalid }
            i += 1
        }
        while i < end, buf[i] > space, buf[i] != 0x7F { i += 1 }
        if i == end { return outOfBytes }
        if buf[i] == cr {
            i += 1
            if i == end { return outOfBytes }
        }
        return buf[i] == lf ? .valid(lineFeed: i) : .invalid
    }

    /// `HTTP/d.d` then `[CR] LF`.
    private static func checkVersionThenEOL(_ buf: UnsafeRawBufferPointer, at start: Int, end: Int, strict: Bool, outOfBytes: LineCheck) -> LineCheck {
        var i = start
        switch checkVersion(buf, at: i, end: end, strict: strict) {
        case .invalid: return .invalid
        case .needMore: return outOfBytes
        case .valid: i += 8
        }
        if i == end { return outOfBytes }
        if buf[i] == cr {
            i += 1
            if i == end { return outOfBytes }
        }
        return buf[i] == lf ? .valid(lineFeed: i) : .invalid
    }

    /// `HTTP/d.d` (8 bytes) at `start`; `.valid(lineFeed:)` carries no position here.
    static func checkVersion(_ buf: UnsafeRawBufferPointer, at start: Int, end: Int, strict: Bool) -> LineCheck {
        let pattern: StaticString = "HTTP/"
        var i = start
        for k in 0..<5 {
            if i == end { return .needMore }
            if buf[i] != pattern.utf8Start[k] { return .invalid }
            i += 1
        }
        if i == end { return .needMore }
        if !isDigit(buf[i]) || (strict && buf[i] != 0x31) { return .invalid }
        i += 1
        if i == end { return .needMore }
        if buf[i] != 0x2E { return .invalid }
        i += 1
        if i == end { return .needMore }
        if !isDigit(buf[i]) { return .invalid }
        return .valid(lineFeed: -1)
    }

    /// Checks `HTTP/d.d SP ddd [SP reason] [CR] LF` starting at `start`.
    static func checkStatusLine(_ buf: UnsafeRawBufferPointer, from start: Int, strict: Bool, limit: Int) -> LineCheck {
        let end = min(buf.count, start + limit)
        let outOfBytes: LineCheck = buf.count - start < limit ? .needMore : .invalid
        var i = start
        switch checkVersion(buf, at: i, end: end, strict: strict) {
        case .invalid: return .invalid
        case .needMore: return outOfBytes
        case .valid: i += 8
        }
        if i == end { return outOfBytes }
        if buf[i] != space { return .invalid }
        while i < end, buf[i] == space { i += 1 }
        for _ in 0..<3 {
            if i == end { return outOfBytes }
            if !isDigit(buf[i]) { return .invalid }
            i += 1
        }
        if i == end { return outOfBytes }
        let afterStatus = buf[i]
        if afterStatus != space && afterStatus != cr && afterStatus != lf { return .invalid }
        // The reason phrase is free text up to the end of the line.
        while i < end, buf[i] != lf { i += 1 }
        if i == end { return outOfBytes }
        return .valid(lineFeed: i)
    }

    /// Index of the first LF in `[from, to)`, or nil. Header lines are short, so eight bytes
    /// at a time in registers beats a call to memchr.
    @inline(__always)
    static func firstLineFeed(_ buf: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let base = buf.baseAddress else { return nil }
        var i = from
        while i + 8 <= to {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            // A zero byte in `word` (an LF in the input) sets its high bit here; the lowest
            // set bit is exact (borrows only run upwards from the first zero byte).
            let zeroes = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zeroes != 0 { return i + zeroes.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < to {
            if buf[i] == lf { return i }
            i += 1
        }
        return nil
    }

    /// Compares a field name with a lower-case ASCII name made of letters and '-'.
    /// `byte | 0x20` folds case; for token bytes it maps nothing else onto a letter or '-'.
    @inline(__always)
    static func nameEquals(_ buf: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ lowercase: StaticString) -> Bool {
        guard end - start == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for k in 0..<(end - start) where buf[start + k] | 0x20 != expected[k] { return false }
        return true
    }

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Comma-separated list elements of a field value, trimmed and lower-cased (codings).
    static func lowercasedListElements(_ value: ArraySlice<UInt8>) -> [String] {
        var result: [String] = []
        var current: [UInt8] = []
        func flush() {
            while let last = current.last, isOWS(last) { current.removeLast() }
            if !current.isEmpty { result.append(String(decoding: current, as: UTF8.self)) }
            current.removeAll(keepingCapacity: true)
        }
        for b in value {
            if b == 0x2C { flush(); continue }
            if current.isEmpty && isOWS(b) { continue }
            current.append(HTTPText.lowercased(b))
        }
        flush()
        return result
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

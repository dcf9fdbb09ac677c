import CorscopeCapture

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the scanner stopped early. Internal: the reader turns it into `HARReadError` (with a
/// line and column) or into a `.truncated` outcome.
enum JSONScanStop: Error {
    /// The file ended where more JSON was required (a cut file).
    case endOfInput
    /// A byte that cannot continue the JSON text at `offset` (absolute, from the file start).
    case malformed(offset: Int64, expected: String)
    case io(errno: Int32)
    /// Valid JSON so far, but not the shape of a HAR.
    case notAHAR(String)
}

/// A file read in fixed-size chunks into one reused buffer, so the memory used for reading does
/// not grow with the file.
final class ChunkedFileBytes {
    /// The file, or -1 when the bytes come from `stream` (a pipe or standard input).
    let descriptor: Int32
    let stream: StreamedInput?
    let capacity: Int
    let buffer: UnsafeMutablePointer<UInt8>
    /// Valid bytes are `buffer[position..<count]`.
    var position = 0
    var count = 0
    /// Absolute file offset of `buffer[0]`.
    var bufferStartOffset: Int64 = 0
    private(set) var reachedEOF = false

    init(descriptor: Int32, chunkSize: Int) {
        self.descriptor = descriptor
        self.stream = nil
        self.capacity = max(chunkSize, 16)
        self.buffer = .allocate(capacity: self.capacity)
    }

    init(stream: StreamedInput, chunkSize: Int) {
        self.descriptor = -1
        self.stream = stream
        self.capacity = max(chunkSize, 16)
        self.buffer = .allocate(capacity: self.capacity)
    }

    deinit {
        buffer.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    var absoluteOffset: Int64 { bufferStartOffset + Int64(position) }

    func resetEOF() { reachedEOF = false }

    /// Reads the next chunk once the current one is used up. False at the end of the file.
    func refill() throws(JSONScanStop) -> Bool {
        if position < count { return true }
        if reachedEOF { return false }
        bufferStartOffset += Int64(count)
        position = 0
        count = 0
        if let stream {
            do {
                let n = try stream.read(into: buffer, count: capacity)
                if n > 0 { count = n; return true }
                reachedEOF = true
                return false
            } catch {
                throw .io(errno: EIO)
            }
        }
        while true {
            let n = read(descriptor, buffer, capacity)
            if n > 0 { count = n; return true }
            if n == 0 { reachedEOF = true; return false }
            if errno == EINTR { continue }
            throw .io(errno: errno)
        }
    }
}

/// A byte-level JSON tokenizer over a chunked file: it walks the HAR's outer structure token by
/// token and copies (or skips) whole values without interpreting them.
///
/// Copying a value only tracks strings and bracket depth, which is what makes the streaming pass
/// fast; the copied bytes are validated afterwards by `JSONDocument`. Values that are skipped
/// (unknown `log` members) get only that structural check.
struct JSONScanner {
    let input: ChunkedFileBytes

    init(input: ChunkedFileBytes) { self.input = input }

    var offset: Int64 { input.absoluteOffset }

    /// The next byte that is not JSON whitespace, not consumed; nil at the end of the file.
    mutating func peekSignificantByte() throws(JSONScanStop) -> UInt8? {
        while true {
            guard try input.refill() else { return nil }
            let buffer = input.buffer
            var i = input.position
            let end = input.count
            while i < end {
                let b = buffer[i]
                if b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09 {
                    input.position = i
                    return b
                }
                i += 1
            }
            input.position = end
        }
    }

    /// The next significant byte, or `.endOfInput`.
    mutating func requireSignificantByte() throws(JSONScanStop) -> UInt8 {
        guard let b = try peekSignificantByte() else { throw .endOfInput }
        return b
    }

    mutating func consumeByte() { input.position += 1 }

    /// Skips a UTF-8 byte order mark at the very start of the file.
    mutating func skipByteOrderMark() throws(JSONScanStop) {
        guard try input.refill(), input.bufferStartOffset == 0, input.position == 0 else { return }
        // A chunk is at least 16 bytes, so a BOM is never split unless the file is shorter.
        if input.count >= 3, input.buffer[0] == 0xEF, input.buffer[1] == 0xBB, input.buffer[2] == 0xBF {
            input.position = 3
        }
    }

    /// Consumes `byte` (after whitespace) or reports what was expected.
    mutating func expect(_ byte: UInt8, _ expected: String) throws(JSONScanStop) {
        let b = try requireSignificantByte()
        guard b == byte else { throw .malformed(offset: offset, expected: expected) }
        consumeByte()
    }

    /// Result of copying one value.
    enum Capture {
        case complete
        /// The value was longer than the limit: it was skipped and `output` holds a prefix.
        case tooLarge
    }

    /// Copies the next value's bytes into `output` (appending), or only skips it when `output` is
    /// nil. Stops copying past `limit` bytes but still scans to the value's end.
    mutating func captureValue(into output: inout [UInt8], limit: Int) throws(JSONScanStop) -> Capture {
        let first = try requireSignificantByte()
        var state = CaptureState(limit: limit)
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try scan(&state, into: &output, scalar: false)
        case UInt8(ascii: "\""):
            state.inString = true
            state.stringIsWholeValue = true
            try copy(1, &state, into: &output)
            try scan(&state, into: &output, scalar: false)
        case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"):
            throw .malformed(offset: offset, expected: "expected a value")
        default:
            try scan(&state, into: &output, scalar: true)
        }
        return state.overflowed ? .tooLarge : .complete
    }

    /// Skips the next value without keeping its bytes.
    mutating func skipValue() throws(JSONScanStop) {
        var nothing: [UInt8] = []
        _ = try captureValue(into: &nothing, limit: 0)
    }

    struct CaptureState {
        var limit: Int
        var depth = 0
        var inString = false
        var escaped = false
        /// The value is a lone string: it ends at its closing quote.
        var stringIsWholeValue = false
        var done = false
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    // Each step advances over the bytes of one chunk and returns the index after the last byte
    // that belongs to the value, setting `state.done` when the value ended inside this chunk.

    /// Strings and bracket depth only: the byte loop that runs over almost every byte of a HAR.
    /// Inside strings it jumps to the next quote with `memchr` (vectorized in libc), since string
    /// contents (bodies, URLs, header values) are most of a HAR's bytes.
    @inline(__always)
    static func containerStep(_ buffer: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int, _ state: inout CaptureState) -> Int {
        var i = start
        var depth = state.depth
        var inString = state.inString
        if inString, state.escaped, i < end {
            // The previous chunk ended on a backslash: this byte is escaped.
            state.escaped = false
            i += 1
        }
        while i < end {
            if inString {
                guard let found = memchr(buffer + i, 0x22, end - i) else {
                    // No quote in the rest of the chunk: remember whether it ends inside an escape.
                    state.escaped = trailingBackslashCount(buffer, from: i, to: end) % 2 == 1
                    i = end
                    break
                }
                let quote = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                let escapedQuote = trailingBackslashCount(buffer, from: i, to: quote) % 2 == 1
                i = quote + 1
                if escapedQuote { continue }
                inString = false
                if state.stringIsWholeValue { state.done = true; break }
                continue
            }
            let b = buffer[i]
            i += 1
            if b == 0x22 {
                inString = true
            } else if b == 0x7B || b == 0x5B {
                depth += 1
            } else if b == 0x7D || b == 0x5D {
                depth -= 1
                if depth <= 0 { state.done = true; break }
            }
        }
        state.depth = depth
        state.inString = inString
        return i
    }

    /// Backslashes directly before `end`, not looking before `start` (where no escape is pending).
    @inline(__always)
    static func trailingBackslashCount(_ buffer: UnsafeMutablePointer<UInt8>, from start: Int, to end: Int) -> Int {
        var j = end
        while j > start, buffer[j - 1] == 0x5C { j -= 1 }
        return end - j
    }

    /// Numbers and literals: up to the next delimiter (not included).
    @inline(__always)
    static func scalarStep(_ buffer: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int, _ state: inout CaptureState) -> Int {
        var i = start
        while i < end {
            switch buffer[i] {
            case 0x20, 0x0A, 0x0D, 0x09, 0x2C, 0x7D, 0x5D, 0x3A, 0x7B, 0x5B, 0x22:
                state.done = true
                return i
            default:
                i += 1
            }
        }
        return i
    }

    private mutating func scan(_ state: inout CaptureState, into output: inout [UInt8], scalar: Bool) throws(JSONScanStop) {
        while !state.done {
            // A HAR's scalars always sit inside a container, so the end of the file inside a value is a cut.
            guard try input.refill() else { throw .endOfInput }
            let start = input.position
            let stop = scalar
                ? Self.scalarStep(input.buffer, start, input.count, &state)
                : Self.containerStep(input.buffer, start, input.count, &state)
            try copy(stop - start, &state, into: &output)
        }
    }

    /// Appends the next `n` bytes of the current chunk to `output` (within the limit) and consumes them.
    private mutating func copy(_ n: Int, _ state: inout CaptureState, into output: inout [UInt8]) throws(JSONScanStop) {
        guard n > 0 else { return }
        if !state.overflowed {
            if output.count + n <= state.limit {
                output.append(contentsOf: UnsafeBufferPointer(start: input.buffer + input.position, count: n))
            } else {
                state.overflowed = true
            }
        }
        input.position += n
    }

    /// Reads an object key (a string) and returns its decoded bytes.
    mutating func readKey(expected: String) throws(JSONScanStop) -> [UInt8] {
        let b = try requireSignificantByte()
        guard b == UInt8(ascii: "\"") else { throw .malformed(offset: offset, expected: expected) }
        let keyStart = offset
        var raw: [UInt8] = []
        raw.reserveCapacity(32)
        if case .tooLarge = try captureValue(into: &raw, limit: 4096) {
            throw .malformed(offset: keyStart, expected: "object key is longer than 4096 bytes")
        }
        do {
            let document = try JSONDocument.parse(raw)
            return document.root.stringBytes ?? []
        } catch {
            throw .malformed(offset: keyStart + Int64(error.offset), expected: error.expected)
        }
    }
}

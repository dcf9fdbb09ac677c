// HPACK (RFC 7541) for a passive reader: header blocks decoded straight into HTTPHeaderFields.
import CorscopeHTTP

/// Decodes the header blocks of one direction of an HTTP/2 connection, keeping the dynamic
/// table in step with the encoder's.
///
/// Why not NIOHPACK's `HPACKDecoder` (used until the HTTPS throughput work of issue #12): it
/// answers with `HPACKHeaders` of `String`s — one String per name and value, a Huffman string
/// decoded into a fresh String, UTF-8 repaired — which the analyzer then copied back into bytes.
/// On the HTTPS bench capture (263 MB, 280,000 exchanges, `exchanges --stats`) that decoding and
/// copy were 37 % of all CPU time. This decoder reads the block's bytes and writes names and
/// values into the `HTTPHeaderFields` storage directly, with no String at all, and keeps the
/// octets exactly as they were (HPACK carries octets; NIOHPACK replaced invalid UTF-8 by
/// U+FFFD). It is checked against NIOHPACK's encoder in the tests (every Huffman symbol, random
/// header lists with every representation, table-size changes), and against tshark on the
/// HTTPS captures.
///
/// What it bounds: the dynamic table (≤ `maxTableSize` as HPACK counts it, 32 bytes per entry
/// plus name and value), and the fields it hands back (`maxFields`, `maxBytes`): past those the
/// block is still decoded to the end — entries it adds must reach the table — but no more fields
/// are kept, and `tooLarge` says so. The work per block is linear in its length.
///
/// Leniencies (named as in the analyzer):
/// * **size-update-anywhere**: a dynamic table size update after the first field of a block is
///   applied where it stands (RFC 7541 §4.2 puts it at the start; its meaning is the same).
struct HPACKBlockDecoder {
    enum Failure: Error, Equatable {
        /// An index of 0, or past the end of the static and dynamic tables.
        case invalidIndex(Int)
        /// An integer longer than the decoder accepts (more than 2^28).
        case integerOverflow
        /// The block ends inside a representation.
        case truncated
        /// A Huffman string with the EOS symbol, padding longer than 7 bits, or padding not all ones.
        case invalidHuffman
        /// A dynamic table size update above the maximum in force.
        case tableSizeAboveMaximum(Int)
    }

    struct Decoded {
        var fields: HTTPHeaderFields
        /// Fields or bytes past the limits were decoded but not kept.
        var tooLarge: Bool
        /// Fields with an empty name were decoded but not kept (HTTP/1 keeps such lines out too).
        var emptyNames = 0
    }

    /// The largest table the encoder may use (SETTINGS_HEADER_TABLE_SIZE of the decoding side);
    /// lowering it evicts at once.
    var maxTableSize: Int {
        didSet {
            if tableSize > maxTableSize { tableSize = maxTableSize }
            evict(toFit: 0)
        }
    }

    /// The size the encoder chose (dynamic table size updates), ≤ `maxTableSize`.
    private(set) var tableSize: Int
    /// Bytes the entries use, as HPACK counts them.
    private(set) var usedSize = 0
    /// The entries' names and values, oldest first, in one ring of bytes: an indexed field costs
    /// a copy into it and nothing else (an array per entry cost an allocation and a release per
    /// field, 2–3 % of HTTPS `--stats`). The bytes of all entries are fewer than `tableSize`
    /// (HPACK counts 32 more per entry), so the ring grows to at most that.
    private var ring: [UInt8] = []
    /// Where the oldest entry's bytes start, and how many bytes the entries hold.
    private var ringStart = 0
    private var ringCount = 0
    /// Oldest first, from `oldest`: index 62 is the last element.
    private var entries: [Entry] = []
    private var oldest = 0

    private struct Entry {
        /// Where its bytes start in `ring` (they may wrap past its end).
        var offset: Int
        /// Name then value.
        var length: Int
        var nameLength: Int
        var size: Int { length + 32 }
    }

    /// Repeated Huffman strings are looked up here instead of decoded again (nil: always decoded).
    var huffmanCache: HPACKHuffmanCache?

    init(maxTableSize: Int = 4096, huffmanCache: HPACKHuffmanCache? = nil) {
        self.maxTableSize = maxTableSize
        tableSize = maxTableSize
        self.huffmanCache = huffmanCache
    }

    var dynamicEntryCount: Int { entries.count - oldest }

    /// Decodes one complete header block.
    mutating func decode(_ block: UnsafeRawBufferPointer, maxFields: Int, maxBytes: Int) throws(Failure) -> Decoded {
        var storage: [UInt8] = []
        storage.reserveCapacity(min(maxBytes, block.count * 2 + 64))
        var spans: [HTTPHeaderFields.Span] = []
        // Heads have a dozen fields or so; a block of indexed fields can name one per byte, so
        // its length would reserve far too much for every exchange that is kept a while.
        spans.reserveCapacity(min(maxFields, block.count, 24))
        var tooLarge = false
        var emptyNames = 0
        var reader = Reader(block, huffmanCache: huffmanCache)
        while !reader.atEnd {
            let first = reader.peek()
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let index = try reader.integer(prefixBits: 7)
                let start = storage.count
                let nameLength = try copyEntry(index, nameOnly: false, into: &storage)
                keep(start: start, nameLength: nameLength, storage: &storage, spans: &spans,
                     maxFields: maxFields, maxBytes: maxBytes, tooLarge: &tooLarge, emptyNames: &emptyNames)
            } else if first & 0xE0 == 0x20 {
                // Dynamic table size update (§6.3).
                let size = try reader.integer(prefixBits: 5)
                guard size <= maxTableSize else { throw .tableSizeAboveMaximum(size) }
                tableSize = size
                evict(toFit: 0)
            } else {
                // Literal (§6.2): with incremental indexing (01), without (0000), never indexed (0001).
                let indexing = first & 0xC0 == 0x40
                let nameIndex = try reader.integer(prefixBits: indexing ? 6 : 4)
                let start = storage.count
                if nameIndex == 0 {
                    try reader.string(into: &storage)
                } else {
                    _ = try copyEntry(nameIndex, nameOnly: true, into: &storage)
                }
                let nameLength = storage.count - start
                try reader.string(into: &storage)
                if indexing { insert(from: storage, start: start, nameLength: nameLength) }
                keep(start: start, nameLength: nameLength, storage: &storage, spans: &spans,
                     maxFields: maxFields, maxBytes: maxBytes, tooLarge: &tooLarge, emptyNames: &emptyNames)
            }
        }
        return Decoded(fields: HTTPHeaderFields(storage: storage, spans: spans), tooLarge: tooLarge, emptyNames: emptyNames)
    }

    /// The field just written at `start…` is kept as a span, or taken back when over the limits
    /// or nameless (a literal may have an empty name; no field has one).
    private func keep(start: Int, nameLength: Int, storage: inout [UInt8], spans: inout [HTTPHeaderFields.Span],
                      maxFields: Int, maxBytes: Int, tooLarge: inout Bool, emptyNames: inout Int) {
        if nameLength == 0 {
            emptyNames += 1
            storage.removeSubrange(start...)
            return
        }
        // Bytes counted as HTTP/1 would: name, value and 4 for ": " and CRLF per field.
        if tooLarge || spans.count >= maxFields || storage.count + 4 * (spans.count + 1) > maxBytes {
            tooLarge = true
            storage.removeSubrange(start...)
            return
        }
        let nameEnd = Int32(start + nameLength)
        spans.append(HTTPHeaderFields.Span(nameStart: Int32(start), nameEnd: nameEnd, valueStart: nameEnd, valueEnd: Int32(storage.count)))
    }

    /// Appends entry `index`'s name (and value) to `storage`; returns the name's length.
    private func copyEntry(_ index: Int, nameOnly: Bool, into storage: inout [UInt8]) throws(Failure) -> Int {
        if index >= 1 && index <= HPACKStaticTable.count {
            let entry = HPACKStaticTable.entries[index - 1]
            storage.append(contentsOf: entry.name)
            if !nameOnly { storage.append(contentsOf: entry.value) }
            return entry.name.count
        }
        let dynamicIndex = index - HPACKStaticTable.count
        guard index > 0, dynamicIndex <= dynamicEntryCount else { throw .invalidIndex(index) }
        let entry = entries[entries.count - dynamicIndex]
        let length = nameOnly ? entry.nameLength : entry.length
        ring.withUnsafeBufferPointer { ring in
            let first = min(length, ring.count - entry.offset)
            storage.append(contentsOf: UnsafeBufferPointer(rebasing: ring[entry.offset..<(entry.offset + first)]))
            if first < length { storage.append(contentsOf: UnsafeBufferPointer(rebasing: ring[0..<(length - first)])) }
        }
        return entry.nameLength
    }

    /// Adds the field `storage[start...]` as an entry (§4.4): older ones leave until it fits; one
    /// larger than the table empties it.
    private mutating func insert(from storage: [UInt8], start: Int, nameLength: Int) {
        let length = storage.count - start
        guard length + 32 <= tableSize else {
            // Larger than the table: the table is emptied and the entry not added (§4.4).
            entries.removeAll(keepingCapacity: true)
            oldest = 0
            usedSize = 0
            ringStart = 0
            ringCount = 0
            return
        }
        evict(toFit: length + 32)
        if ringCount + length > ring.count { growRing(toHold: ringCount + length) }
        let offset = (ringStart + ringCount) % max(ring.count, 1)
        storage.withUnsafeBufferPointer { source in
            ring.withUnsafeMutableBufferPointer { ring in
                let first = min(length, ring.count - offset)
                (ring.baseAddress! + offset).update(from: source.baseAddress! + start, count: first)
                if first < length { ring.baseAddress!.update(from: source.baseAddress! + start + first, count: length - first) }
            }
        }
        ringCount += length
        entries.append(Entry(offset: offset, length: length, nameLength: nameLength))
        usedSize += length + 32
    }

    /// A larger ring (the table grew, or this is its first entry), the entries laid out from 0.
    private mutating func growRing(toHold bytes: Int) {
        var grown = [UInt8](repeating: 0, count: max(bytes, min(max(ring.count * 2, 256), tableSize)))
        var position = 0
        for index in oldest..<entries.count {
            let entry = entries[index]
            for i in 0..<entry.length { grown[position + i] = ring[(entry.offset + i) % ring.count] }
            entries[index].offset = position
            position += entry.length
        }
        ring = grown
        ringStart = 0
    }

    private mutating func evict(toFit incoming: Int) {
        while usedSize + incoming > tableSize && oldest < entries.count {
            let entry = entries[oldest]
            usedSize -= entry.size
            ringCount -= entry.length
            ringStart = ring.isEmpty ? 0 : (entry.offset + entry.length) % ring.count
            oldest += 1
        }
        if oldest == entries.count {
            entries.removeAll(keepingCapacity: true)
            oldest = 0
            ringStart = 0
            ringCount = 0
        } else if oldest > 64 && oldest * 2 > entries.count {
            entries.removeFirst(oldest)
            oldest = 0
        }
    }
}

/// Reads HPACK integers (§5.1) and strings (§5.2) from a block.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    let huffmanCache: HPACKHuffmanCache?

    init(_ bytes: UnsafeRawBufferPointer, huffmanCache: HPACKHuffmanCache? = nil) {
        self.bytes = bytes
        self.huffmanCache = huffmanCache
    }

    var atEnd: Bool { position >= bytes.count }

    func peek() -> UInt8 { bytes[position] }

    mutating func integer(prefixBits: Int) throws(HPACKBlockDecoder.Failure) -> Int {
        guard position < bytes.count else { throw .truncated }
        let mask = (1 << prefixBits) - 1
        var value = Int(bytes[position]) & mask
        position += 1
        guard value == mask else { return value }
        var shift = 0
        while true {
            guard position < bytes.count else { throw .truncated }
            let byte = bytes[position]
            position += 1
            guard shift <= 21 else { throw .integerOverflow }   // 2^28 is far past any real table or string
            value += Int(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { return value }
        }
    }

    /// Appends a string literal's octets (Huffman-decoded when its H bit is set) to `out`.
    mutating func string(into out: inout [UInt8]) throws(HPACKBlockDecoder.Failure) {
        guard position < bytes.count else { throw .truncated }
        let huffman = bytes[position] & 0x80 != 0
        let length = try integer(prefixBits: 7)
        guard length <= bytes.count - position else { throw .truncated }
        let literal = UnsafeRawBufferPointer(rebasing: bytes[position..<position + length])
        position += length
        if huffman {
            if let huffmanCache {
                try huffmanCache.decode(literal, into: &out)
            } else {
                try HPACKHuffman.decode(literal, into: &out)
            }
        } else {
            out.append(contentsOf: literal)
        }
    }
}

/// The static Huffman code of RFC 7541 Appendix B.
///
/// The code is canonical (codes of one length are consecutive and follow symbol order, each
/// length's first code is the previous length's last plus one, shifted), so the appendix is
/// fully given by the code length of each symbol, which is all this table holds. The tests check
/// every symbol's code against NIOHPACK's encoder.
enum HPACKHuffman {
    /// Code length in bits of symbols 0–255 and EOS (256), from RFC 7541 Appendix B.
    static let codeLengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  // 0–15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  // 16–31
         6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6,  // 32–47  ' ' … '/'
         5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10,  // 48–63  '0' … '?'
        13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  // 64–79  '@' … 'O'
         7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6,  // 80–95  'P' … '_'
        15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,  // 96–111 '`' … 'o'
         6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28,  // 112–127 'p' … DEL
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  // 128–143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  // 144–159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  // 160–175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  // 176–191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  // 192–207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  // 208–223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  // 224–239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  // 240–255
        30,                                                              // EOS
    ]

    static let eos = 256
    static let longest = 30
    /// One lookup reads this many bits and yields the one or two whole codes at their start
    /// (header text is mostly 5–8-bit codes: two symbols per lookup, often).
    static let lookupBits = 12

    /// The canonical code's tables: for each length, its first code, how many symbols have it,
    /// and where they start in `symbolsByCode`; and the lookup table: for each `lookupBits`-bit
    /// window, the codes it starts with (see `Step`; 0 when the first is longer). Built once and never
    /// freed: the decoding loop reads them through pointers, with no reference counting.
    struct Tables: @unchecked Sendable {
        let firstCode = UnsafeMutablePointer<UInt32>.allocate(capacity: longest + 1)
        let countOfLength = UnsafeMutablePointer<UInt32>.allocate(capacity: longest + 1)
        let firstIndex = UnsafeMutablePointer<Int>.allocate(capacity: longest + 1)
        let symbolsByCode = UnsafeMutablePointer<UInt16>.allocate(capacity: 257)
        let lookup = UnsafeMutablePointer<UInt32>.allocate(capacity: 1 << lookupBits)
        /// Each symbol's code, right-aligned (the tests check it).
        let code = UnsafeMutablePointer<UInt32>.allocate(capacity: 257)
    }

    static let tables: Tables = {
        let tables = Tables()
        for length in 0...longest { tables.countOfLength[length] = 0 }
        for length in codeLengths { tables.countOfLength[Int(length)] += 1 }
        let sorted = (0...256).map(UInt16.init).sorted { (codeLengths[Int($0)], $0) < (codeLengths[Int($1)], $1) }
        for (index, symbol) in sorted.enumerated() { tables.symbolsByCode[index] = symbol }
        var code: UInt32 = 0
        var index = 0
        for length in 0...longest {
            tables.firstCode[length] = code
            tables.firstIndex[length] = index
            code = (code + tables.countOfLength[length]) << 1
            index += Int(tables.countOfLength[length])
        }
        for length in 1...longest {
            for offset in 0..<Int(tables.countOfLength[length]) {
                let symbol = Int(tables.symbolsByCode[tables.firstIndex[length] + offset])
                let symbolCode = tables.firstCode[length] + UInt32(offset)
                tables.code[symbol] = symbolCode
            }
        }
        /// The symbol whose code starts the `bits`-bit `pattern`, and its length.
        func first(_ pattern: Int, bits: Int) -> (symbol: Int, length: Int)? {
            guard bits >= 1 else { return nil }
            for length in 1...bits {
                let offset = UInt32(pattern >> (bits - length)) &- tables.firstCode[length]
                if offset < tables.countOfLength[length] {
                    return (Int(tables.symbolsByCode[tables.firstIndex[length] + Int(offset)]), length)
                }
            }
            return nil
        }
        for window in 0..<(1 << lookupBits) {
            guard let one = first(window, bits: lookupBits) else {
                tables.lookup[window] = 0
                continue
            }
            let rest = lookupBits - one.length
            let two = first(window & ((1 << rest) - 1), bits: rest)
            tables.lookup[window] = Step(first: one.symbol, firstLength: one.length, second: two?.symbol, totalLength: one.length + (two?.length ?? 0)).raw
        }
        return tables
    }()

    /// One lookup's answer, packed in 32 bits: the first symbol and its code length, and when a
    /// second whole code follows within the window, that symbol; how many (0 when the first code
    /// is longer than the window) and how many bits they take.
    struct Step {
        var raw: UInt32
        init(first: Int, firstLength: Int, second: Int?, totalLength: Int) {
            raw = UInt32(first) | UInt32(second ?? 0) << 8 | UInt32(second == nil ? 1 : 2) << 16
                | UInt32(firstLength) << 18 | UInt32(totalLength) << 23
        }
        init(raw: UInt32) { self.raw = raw }
        var count: Int { Int(raw >> 16 & 3) }
        var first: UInt8 { UInt8(truncatingIfNeeded: raw) }
        var second: UInt8 { UInt8(truncatingIfNeeded: raw >> 8) }
        var firstLength: Int { Int(raw >> 18 & 31) }
        /// The bits of every code it holds.
        var advance: Int { Int(raw >> 23 & 31) }
    }

    /// Appends the decoding of `encoded` to `out` (§5.2): bits are read most significant first;
    /// the last byte is padded with at most 7 one-bits (the start of EOS).
    static func decode(_ encoded: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(HPACKBlockDecoder.Failure) {
        guard !encoded.isEmpty else { return }
        // The shortest code has 5 bits; the fast path stores two bytes per step: one spare.
        let room = encoded.count * 8 / 5 + 2
        let decoded = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { buffer -> Bool in
            guard let written = decode(encoded, to: buffer.baseAddress!) else { return false }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<written]))
            return true
        }
        if !decoded { throw .invalidHuffman }
    }

    /// Decodes into `output` (room for `encoded.count * 8 / 5 + 2` bytes); the count written,
    /// or nil when the string is not a valid Huffman string.
    private static func decode(_ encoded: UnsafeRawBufferPointer, to output: UnsafeMutablePointer<UInt8>) -> Int? {
        let tables = Self.tables
        let windowMask = UInt64(1 << lookupBits - 1)
        // The low `available` bits of the accumulator are unread; bits above them are stale and
        // masked out wherever they could matter.
        var accumulator: UInt64 = 0
        var available = 0
        var position = 0
        var written = 0
        while true {
            while available <= 56 && position < encoded.count {
                accumulator = accumulator << 8 | UInt64(encoded[position])
                available += 8
                position += 1
            }
            guard available >= lookupBits else { break }
            let step = Step(raw: tables.lookup[Int(accumulator >> UInt64(available - lookupBits) & windowMask)])
            if step.count > 0 {
                // One or two codes: both bytes are stored, `count` of them kept.
                output[written] = step.first
                output[written + 1] = step.second
                written += step.count
                available -= step.advance
            } else {
                guard let (symbol, length) = longCode(accumulator, available: available, tables: tables) else { return nil }
                output[written] = symbol
                written += 1
                available -= length
            }
        }
        // The last bits (fewer than a window): codes that fit, then the padding.
        while available > 0 {
            let missing = UInt64(lookupBits - available)
            let window = (accumulator << missing | (1 << missing - 1)) & windowMask   // padded with one-bits
            let step = Step(raw: tables.lookup[Int(window)])
            guard step.count > 0, step.firstLength <= available else { break }
            output[written] = step.first
            written += 1
            available -= step.firstLength
        }
        // What is left must be the padding: at most 7 bits, all ones.
        let rest = accumulator & (1 << UInt64(available) - 1)
        guard available <= 7, rest == 1 << UInt64(available) - 1 else { return nil }
        return written
    }

    /// A code longer than the window (or EOS, which is an error: nil).
    private static func longCode(_ accumulator: UInt64, available: Int, tables: Tables) -> (UInt8, Int)? {
        var length = lookupBits + 1
        while length <= longest && length <= available {
            let code = UInt32(truncatingIfNeeded: accumulator >> UInt64(available - length)) & UInt32(1 << length - 1)
            let offset = code &- tables.firstCode[length]
            if offset < tables.countOfLength[length] {
                let symbol = Int(tables.symbolsByCode[tables.firstIndex[length] + Int(offset)])
                return symbol == eos ? nil : (UInt8(symbol), length)
            }
            length += 1
        }
        return nil
    }
}

/// RFC 7541 Appendix A.
enum HPACKStaticTable {
    static let count = 61
    static let entries: [(name: [UInt8], value: [UInt8])] = ([
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
        (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"), (":status", "200"),
        (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
        (":status", "404"), (":status", "500"), ("accept-charset", ""), ("accept-encoding", "gzip, deflate"),
        ("accept-language", ""), ("accept-ranges", ""), ("accept", ""), ("access-control-allow-origin", ""),
        ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
        ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""),
        ("from", ""), ("host", ""), ("if-match", ""), ("if-modified-since", ""),
        ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""), ("last-modified", ""),
        ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
        ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
        ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ] as [(String, String)]).map { (Array($0.utf8), Array($1.utf8)) }
}

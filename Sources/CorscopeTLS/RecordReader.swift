/// One TLS record as it was on the wire: the 5-byte header and the fragment.
struct TLSRecord: Equatable {
    /// Header and fragment, as received.
    let bytes: [UInt8]

    var contentType: UInt8 { bytes[0] }
    var version: UInt16 { UInt16(bytes[1]) << 8 | UInt16(bytes[2]) }
    var header: [UInt8] { Array(bytes[0..<RecordHeader.length]) }
    var fragment: ArraySlice<UInt8> { bytes[RecordHeader.length...] }
    var count: Int { bytes.count }
}

enum ContentType {
    static let changeCipherSpec: UInt8 = 20
    static let alert: UInt8 = 21
    static let handshake: UInt8 = 22
    static let applicationData: UInt8 = 23
}

/// The record header test, in its two strengths.
enum RecordHeader {
    static let length = 5

    /// Whether 5 bytes can start a record. In sync (`strict` false) any version 3.0–3.4 is taken
    /// (leniency `anyRecordVersion`: SSL 3.0 to TLS 1.3 record versions). When looking for a
    /// record boundary after a gap (`strict`), only 0x0301 and 0x0303 — the versions every
    /// TLS 1.0–1.3 peer puts there today — and a non-empty fragment count, so that fewer random
    /// ciphertext bytes pass for a header.
    static func isPlausible(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, fragmentLength: Int, maximumLength: Int, strict: Bool) -> Bool {
        guard (ContentType.changeCipherSpec...ContentType.applicationData).contains(b0), b1 == 3 else { return false }
        guard fragmentLength <= maximumLength else { return false }
        if strict { return (b2 == 1 || b2 == 3) && fragmentLength > 0 }
        return b2 <= 4
    }
}

/// Cuts one direction's byte stream into records, across TCP segments, with at most one record
/// (plus the bytes of the segment being read) held.
///
/// After a gap, or bytes that are no record header, it looks for the next plausible header and
/// counts what it skipped; the record it finds there is a candidate that the caller may reject
/// (its tag did not verify with any sequence number tried), and then the search goes on from the
/// candidate's second byte.
struct RecordReader {
    enum Next: Equatable {
        case record(TLSRecord, afterResync: Bool)
        case needMoreBytes
        /// In sync, the next 5 bytes are no record header.
        case notARecordHeader
    }

    let maximumLength: Int
    private var buffer: [UInt8] = []
    /// Where the unread bytes start in `buffer`.
    private var start = 0
    private(set) var isResynchronising = false
    /// The last record handed out, while it can still be rejected.
    private var lastRecordStart: Int?
    /// Bytes thrown away while looking for a header, not yet taken by the caller.
    private var skipped = 0

    init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    /// Bytes received but not yet part of a record handed out.
    var bufferedCount: Int { buffer.count - start }

    mutating func append(_ data: UnsafeRawBufferPointer) {
        lastRecordStart = nil
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: data)
    }

    /// A gap: the partial record held is lost too. Returns how many bytes that was; the next
    /// record is looked for.
    mutating func discardForGap() -> Int {
        let dropped = buffer.count - start
        buffer.removeAll(keepingCapacity: true)
        start = 0
        lastRecordStart = nil
        isResynchronising = true
        return dropped
    }

    /// The bytes of a record not completed when the stream ended.
    mutating func discardRemainder() -> Int {
        let dropped = buffer.count - start
        buffer.removeAll()
        start = 0
        lastRecordStart = nil
        return dropped
    }

    /// Starts looking for the next plausible header (the current bytes are not one).
    mutating func startResynchronising() {
        isResynchronising = true
    }

    /// The record just handed out was a false match: search again from its second byte.
    mutating func rejectLastRecord() {
        guard let recordStart = lastRecordStart else { return }
        start = recordStart + 1
        skipped += 1
        lastRecordStart = nil
        isResynchronising = true
    }

    /// Bytes skipped while searching since the last call.
    mutating func takeSkippedBytes() -> Int {
        defer { skipped = 0 }
        return skipped
    }

    mutating func next() -> Next {
        let resynchronised = isResynchronising
        if isResynchronising {
            guard findPlausibleHeader() else { return .needMoreBytes }
        }
        guard buffer.count - start >= RecordHeader.length else { return .needMoreBytes }
        let fragmentLength = Int(buffer[start + 3]) << 8 | Int(buffer[start + 4])
        guard RecordHeader.isPlausible(buffer[start], buffer[start + 1], buffer[start + 2], fragmentLength: fragmentLength,
                                       maximumLength: maximumLength, strict: false) else {
            return .notARecordHeader
        }
        let end = start + RecordHeader.length + fragmentLength
        guard end <= buffer.count else { return .needMoreBytes }
        let record = TLSRecord(bytes: Array(buffer[start..<end]))
        lastRecordStart = start
        start = end
        isResynchronising = false
        return .record(record, afterResync: resynchronised)
    }

    /// Moves `start` to the next strictly plausible header, counting what it passes; false when
    /// none is in the buffer yet (the last 4 bytes are kept: they may begin one).
    private mutating func findPlausibleHeader() -> Bool {
        var index = start
        while index + RecordHeader.length <= buffer.count {
            let fragmentLength = Int(buffer[index + 3]) << 8 | Int(buffer[index + 4])
            if RecordHeader.isPlausible(buffer[index], buffer[index + 1], buffer[index + 2], fragmentLength: fragmentLength,
                                        maximumLength: maximumLength, strict: true) {
                skipped += index - start
                start = index
                return true
            }
            index += 1
        }
        skipped += index - start
        start = index
        return false
    }
}

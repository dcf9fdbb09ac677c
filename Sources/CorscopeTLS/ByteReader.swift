/// The one place bytes from the wire are read: a cursor over a slice in which every read is
/// bounds-checked and a short read returns nil instead of trapping. Handshake and extension
/// parsing go through it only.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position >= bytes.endIndex }

    mutating func uint8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func uint24() -> Int? {
        guard remaining >= 3 else { return nil }
        defer { position += 3 }
        return Int(bytes[position]) << 16 | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
    }

    mutating func uint32() -> UInt32? {
        guard let high = uint16(), let low = uint16() else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return bytes[position..<position + count]
    }

    @discardableResult
    mutating func skip(_ count: Int) -> Bool { bytes(count) != nil }

    /// A vector with a one-byte length (`opaque x<0..2^8-1>`).
    mutating func vector8() -> ArraySlice<UInt8>? {
        guard let length = uint8() else { return nil }
        return bytes(Int(length))
    }

    /// A vector with a two-byte length (`opaque x<0..2^16-1>`).
    mutating func vector16() -> ArraySlice<UInt8>? {
        guard let length = uint16() else { return nil }
        return bytes(Int(length))
    }

    /// A vector with a three-byte length.
    mutating func vector24() -> ArraySlice<UInt8>? {
        guard let length = uint24() else { return nil }
        return bytes(length)
    }
}

/// Huffman strings decoded lately, by their encoded bytes. Servers send the same literal values
/// in every response (`Server`, `Content-Type`, `Date` within its second, one
/// `Access-Control-Allow-Origin` per origin), nginx without indexing them, so most Huffman strings
/// of a busy connection repeat: a hash of the bytes and one comparison replace decoding them.
///
/// Direct-mapped, fixed size (a slot keeps the last string that hashed to it), short strings
/// only. Shared by the connections one thread analyses: not thread-safe, one per thread.
public final class HPACKHuffmanCache {
    static let slots = 512
    static let maxEncoded = 48
    /// The shortest code has 5 bits: 48 encoded bytes decode to at most 76.
    static let maxDecoded = 80
    /// A slot: encoded length, decoded length, the encoded bytes, the decoded bytes.
    static let stride = 2 + maxEncoded + maxDecoded

    private let storage: UnsafeMutablePointer<UInt8>

    public init() {
        storage = .allocate(capacity: Self.slots * Self.stride)
        storage.initialize(repeating: 0, count: Self.slots * Self.stride)
    }

    deinit { storage.deallocate() }

    /// Appends the decoding of `encoded` to `out`, as `HPACKHuffman.decode` does (and throws as it
    /// does: only strings that decode are kept).
    func decode(_ encoded: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(HPACKBlockDecoder.Failure) {
        let count = encoded.count
        guard count > 0, count <= Self.maxEncoded else {
            try HPACKHuffman.decode(encoded, into: &out)
            return
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in encoded { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let slot = storage + Int(truncatingIfNeeded: (hash ^ hash >> 29) % UInt64(Self.slots)) * Self.stride
        let encodedBytes = slot + 2, decodedBytes = slot + 2 + Self.maxEncoded
        if Int(slot[0]) == count, (0..<count).allSatisfy({ encodedBytes[$0] == encoded[$0] }) {
            out.append(contentsOf: UnsafeBufferPointer(start: decodedBytes, count: Int(slot[1])))
            return
        }
        let before = out.count
        try HPACKHuffman.decode(encoded, into: &out)
        let decodedCount = out.count - before
        guard decodedCount <= Self.maxDecoded else { return }
        slot[0] = UInt8(count)
        slot[1] = UInt8(decodedCount)
        UnsafeMutableRawPointer(encodedBytes).copyMemory(from: encoded.baseAddress!, byteCount: count)
        out.withUnsafeBufferPointer { decoded in
            decodedBytes.update(from: decoded.baseAddress! + before, count: decodedCount)
        }
    }
}

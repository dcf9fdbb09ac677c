// HPACK: corscope's header block decoder (`HPACKBlockDecoder`) beside NIOHPACK's decoder, on the
// same blocks with the same table. The input is a configuration byte and a sequence of chunks
// `[op][length: u16 BE]…`: op 0–191 is a header block of `length` bytes; op 192–255 sets the
// table maximum both decoders allow (SETTINGS_HEADER_TABLE_SIZE) to `length`. Configuration:
// bits 0–1 the first maximum (4096, 256, 0, 65536); bit 2: small field limits; bit 3: the
// Huffman string cache.
// Checks: the table never passes its size, nor its size the maximum; the fields kept stay
// within the limits and have names. Wherever NIOHPACK decodes a block, corscope decodes it too, to the same
// fields (its Strings against our octets read as UTF-8, limits permitting); once either fails
// (corscope is more lenient: a table size update anywhere in the block), the tables may part
// and the rest of the input is decoded by corscope alone.
// fuzz-options: -dict=Fuzz/dict/http2.dict -max_len=8192
@testable import CorscopeHTTP2
import CorscopeHTTP
import FuzzSupport
import NIOCore
import NIOHPACK

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHPACK(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let configuration = input.u8()
    var maximum = [4096, 256, 0, 65536][Int(configuration & 3)]
    let maxFields = configuration & 4 != 0 ? 3 : 1000
    let maxBytes = configuration & 4 != 0 ? 64 : 1 << 20
    // Bit 3: with the cache of repeated Huffman strings (fresh per input, so an input replays alone).
    var ours = HPACKBlockDecoder(maxTableSize: maximum, huffmanCache: configuration & 8 != 0 ? HPACKHuffmanCache() : nil)
    let allocator = ByteBufferAllocator()
    var theirs: HPACKDecoder? = HPACKDecoder(allocator: allocator, maxDynamicTableSize: maximum, maxHeaderListSize: 1 << 24)
    while input.remaining > 0 {
        let op = input.u8()
        let length = Int(input.u16())
        if op >= 192 {
            maximum = length
            ours.maxTableSize = length
            theirs?.maxDynamicTableLength = length
            continue
        }
        let block = Array(input.take(length))
        let decoded: HPACKBlockDecoder.Decoded?
        do {
            decoded = try block.withUnsafeBytes { try ours.decode($0, maxFields: maxFields, maxBytes: maxBytes) }
        } catch {
            decoded = nil
        }
        fuzzCheck(ours.usedSize <= ours.tableSize && ours.tableSize <= maximum,
                  "table: \(ours.usedSize) bytes used of \(ours.tableSize), maximum \(maximum)")
        if let decoded {
            fuzzCheck(decoded.fields.count <= maxFields, "\(decoded.fields.count) fields kept, limit \(maxFields)")
            fuzzCheck((0..<decoded.fields.count).allSatisfy { !decoded.fields.nameBytes(at: $0).isEmpty }, "a field kept with an empty name")
            fuzzCheck(decoded.fields.storage.count + 4 * decoded.fields.count <= maxBytes, "\(decoded.fields.storage.count) bytes kept, limit \(maxBytes)")
        }
        guard theirs != nil else { continue }
        var buffer = allocator.buffer(bytes: block)
        guard let expected = try? theirs!.decodeHeaders(from: &buffer) else {
            theirs = nil
            continue
        }
        guard let decoded else {
            fuzzCheck(false, "NIOHPACK decoded \(Array(expected)) where corscope failed")
            return 0
        }
        let ourPairs = (0..<decoded.fields.count).map {
            (String(decoding: decoded.fields.nameBytes(at: $0), as: UTF8.self), String(decoding: decoded.fields.valueBytes(at: $0), as: UTF8.self))
        }
        let theirPairs = expected.map { ($0.name, $0.value) }
        // Past the limits, what corscope kept is the start of the list.
        let comparable = decoded.tooLarge ? ourPairs.count <= theirPairs.count : ourPairs.count == theirPairs.count
        fuzzCheck(comparable && zip(ourPairs, theirPairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 },
                  "corscope: \(ourPairs), NIOHPACK: \(theirPairs)")
    }
    return 0
}

runFuzzer(fuzzHPACK)

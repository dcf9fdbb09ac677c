import CorscopeHTTP
@testable import CorscopeHTTP2
import CorscopeTestSupport
import NIOCore
import NIOHPACK
import XCTest

/// corscope's HPACK decoder against RFC 7541's own examples and against NIOHPACK's encoder (an
/// independent implementation): every Huffman symbol a String can carry, random header lists in
/// every representation, table size changes, evictions; and malformed blocks fail cleanly.
final class HPACKBlockDecoderTests: XCTestCase {
    private func decode(_ decoder: inout HPACKBlockDecoder, hex: String, maxFields: Int = 1000, maxBytes: Int = 1 << 20,
                        file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let bytes = Self.bytes(hex: hex)
        let decoded = try bytes.withUnsafeBytes { try decoder.decode($0, maxFields: maxFields, maxBytes: maxBytes) }
        return decoded.fields.pairs.map { "\($0.name): \($0.value)" }
    }

    private static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    // MARK: RFC 7541 Appendix C

    func testRequestExamplesWithHuffmanShareOneTable() throws {
        // C.4: three requests on one connection, Huffman-coded, the table growing.
        var decoder = HPACKBlockDecoder()
        XCTAssertEqual(try decode(&decoder, hex: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
                       [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"])
        XCTAssertEqual(decoder.usedSize, 57)
        XCTAssertEqual(try decode(&decoder, hex: "8286 84be 5886 a8eb 1064 9cbf"),
                       [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"])
        XCTAssertEqual(decoder.usedSize, 110)
        XCTAssertEqual(try decode(&decoder, hex: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
                       [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"])
        XCTAssertEqual(decoder.usedSize, 164)
        XCTAssertEqual(decoder.dynamicEntryCount, 3)
    }

    func testResponseExamplesEvictWithASmallTable() throws {
        // C.6: responses with a 256-byte table; the second and third evict older entries.
        var decoder = HPACKBlockDecoder(maxTableSize: 256)
        let date = "date: Mon, 21 Oct 2013 20:13:21 GMT", location = "location: https://www.example.com"
        XCTAssertEqual(try decode(&decoder, hex: """
            4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3
            """), [":status: 302", "cache-control: private", date, location])
        XCTAssertEqual(decoder.usedSize, 222)
        XCTAssertEqual(try decode(&decoder, hex: "4883 640e ffc1 c0bf"), [":status: 307", "cache-control: private", date, location])
        XCTAssertEqual(decoder.usedSize, 222)
        XCTAssertEqual(try decode(&decoder, hex: """
            88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07
            """), [":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT", location,
                   "content-encoding: gzip", "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"])
        XCTAssertEqual(decoder.usedSize, 215)
        XCTAssertEqual(decoder.dynamicEntryCount, 3)
    }

    // MARK: The Huffman code

    func testTheCodeIsCompleteAndEOSIsThirtyOneBits() {
        // A complete prefix code: Kraft's sum is exactly 1 (in units of 2^-30).
        let sum = HPACKHuffman.codeLengths.reduce(0) { $0 + (1 << (30 - Int($1))) }
        XCTAssertEqual(sum, 1 << 30)
        XCTAssertEqual(HPACKHuffman.tables.code[HPACKHuffman.eos], 0x3FFF_FFFF)
        XCTAssertEqual(HPACKHuffman.tables.code[Int(UInt8(ascii: "0"))], 0)         // the first 5-bit code
        XCTAssertEqual(HPACKHuffman.tables.code[Int(UInt8(ascii: " "))], 0x14)      // the first 6-bit code
    }

    func testEverySymbolAStringCarriesDecodesAsNIOHPACKEncodedIt() throws {
        // Each byte that valid UTF-8 can hold, alone and in runs (every alignment of its code):
        // 0x00–0x7F, continuation bytes 0x80–0xBF, lead bytes 0xC2–0xF4.
        var scalars: [Unicode.Scalar] = (0...0x7F).map { Unicode.Scalar(UInt8($0)) }
        scalars += (0x80...0xBF).map { Unicode.Scalar(0x80 | UInt32($0 & 0x3F) | 0x400)! }   // U+0480…: 0xD2 0x80–0xBF
        scalars += (0xC2...0xDF).map { Unicode.Scalar((UInt32($0) & 0x1F) << 6 | 0x01)! }
        scalars += (0xE0...0xEF).map { Unicode.Scalar((UInt32($0) & 0x0F) << 12 | ($0 == 0xE0 ? 0x0841 : 0x0441))! }
        scalars += (0xF0...0xF4).map { Unicode.Scalar((UInt32($0) & 0x07) << 18 | ($0 == 0xF0 ? 0x10441 : 0x0441))! }
        var covered = Set<UInt8>()
        for scalar in scalars {
            for repeat_ in [1, 3, 7] {
                let value = String(repeating: String(Character(scalar)), count: repeat_) + "x"
                covered.formUnion(value.utf8)
                var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: true)
                try encoder.beginEncoding(allocator: ByteBufferAllocator())
                try encoder.appendNonIndexed(header: "x-symbol", value: value)
                let block = try encoder.endEncoding()
                var decoder = HPACKBlockDecoder()
                let fields = try Array(block.readableBytesView).withUnsafeBytes { try decoder.decode($0, maxFields: 10, maxBytes: 1 << 16) }.fields
                XCTAssertEqual(fields.count, 1)
                XCTAssertEqual(Array(fields.valueBytes(at: 0)), Array(value.utf8), "U+\(String(scalar.value, radix: 16))")
            }
        }
        XCTAssertEqual(covered.count, 256 - 13, "all bytes but 0xC0, 0xC1, 0xF5–0xFF (never in UTF-8)")
    }

    // MARK: Against NIOHPACK's encoder

    func testRandomHeaderListsDecodeAsNIOHPACKEncodedThem() throws {
        var random = SeededGenerator(seed: 7541)
        let names = [":method", ":path", ":authority", ":status", "origin", "access-control-allow-origin", "vary",
                     "access-control-request-headers", "cookie", "x-request-id", "content-type", "set-cookie", "x-long-\u{e9}"]
        let values = ["GET", "OPTIONS", "/api/items/1", "https://app.example.com", "Origin", "*", "", "200", "204",
                      "session=\u{2603}; theme=dark", String(repeating: "v", count: 300), "caf\u{e9}", "x\ty"]
        // Half the rounds decode through one Huffman string cache, which fills over the rounds:
        // its answers must be the decoder's.
        let cache = HPACKHuffmanCache()
        for round in 0..<40 {
            let huffman = round % 2 == 0
            var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: huffman, maxDynamicTableSize: 4096)
            var decoder = HPACKBlockDecoder(maxTableSize: 4096, huffmanCache: round % 4 < 2 ? cache : nil)
            for blockNumber in 0..<30 {
                if blockNumber % 10 == 9 {
                    // The receiver's SETTINGS_HEADER_TABLE_SIZE changes; the encoder signals it in the next block.
                    let size = [0, 100, 256, 4096][Int.random(in: 0..<4, using: &random)]
                    try encoder.setDynamicTableSize(size)
                    decoder.maxTableSize = max(decoder.maxTableSize, size)
                }
                try encoder.beginEncoding(allocator: ByteBufferAllocator())
                var expected: [String] = []
                for _ in 0..<Int.random(in: 1...12, using: &random) {
                    let name = names.randomElement(using: &random)!, value = values.randomElement(using: &random)! + String(Int.random(in: 0..<3, using: &random))
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: try encoder.appendNonIndexed(header: name, value: value)
                    case 1: try encoder.appendNeverIndexed(header: name, value: value)
                    default: try encoder.append(header: name, value: value)
                    }
                    expected.append("\(name): \(value)")
                }
                let block = Array(try encoder.endEncoding().readableBytesView)
                let decoded = try block.withUnsafeBytes { try decoder.decode($0, maxFields: 100, maxBytes: 1 << 20) }
                XCTAssertEqual(decoded.fields.pairs.map { "\($0.name): \($0.value)" }, expected, "round \(round) block \(blockNumber)")
                XCTAssertFalse(decoded.tooLarge)
                XCTAssertLessThanOrEqual(decoder.usedSize, decoder.tableSize)
            }
        }
    }

    // MARK: Limits and malformed blocks

    func testFieldsPastTheLimitsAreDroppedButStillIndexed() throws {
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: true)
        try encoder.beginEncoding(allocator: ByteBufferAllocator())
        for n in 0..<5 { try encoder.append(header: "x-field-\(n)", value: "value \(n)") }
        let first = Array(try encoder.endEncoding().readableBytesView)
        try encoder.beginEncoding(allocator: ByteBufferAllocator())
        for n in (0..<5).reversed() { try encoder.append(header: "x-field-\(n)", value: "value \(n)") }
        let second = Array(try encoder.endEncoding().readableBytesView)
        XCTAssertEqual(second.count, 5, "the second block is five indexed fields")

        var decoder = HPACKBlockDecoder()
        let capped = try first.withUnsafeBytes { try decoder.decode($0, maxFields: 2, maxBytes: 1 << 16) }
        XCTAssertTrue(capped.tooLarge)
        XCTAssertEqual(capped.fields.pairs.map(\.name), ["x-field-0", "x-field-1"])
        XCTAssertEqual(decoder.dynamicEntryCount, 5, "every literal reached the table")
        let byBytes = try second.withUnsafeBytes { try decoder.decode($0, maxFields: 100, maxBytes: 40) }
        XCTAssertTrue(byBytes.tooLarge)
        XCTAssertEqual(byBytes.fields.pairs.map(\.name), ["x-field-4", "x-field-3"], "2 × (9 + 7 + 4) bytes fit in 40")
    }

    /// A literal may carry an empty name; no field has one. It is left out (and counted), and
    /// still reaches the table when it asks to be indexed, so later blocks decode as the encoder meant.
    func testAnEmptyNameIsLeftOutButStillIndexed() throws {
        var decoder = HPACKBlockDecoder()
        let bytes = Self.bytes(hex: "82 40 00 03 61 62 63 84")   // :method GET, "" = "abc" (indexed), :path /
        let decoded = try bytes.withUnsafeBytes { try decoder.decode($0, maxFields: 100, maxBytes: 1 << 16) }
        XCTAssertEqual(decoded.fields.pairs.map { "\($0.name): \($0.value)" }, [":method: GET", ":path: /"])
        XCTAssertEqual(decoded.emptyNames, 1)
        XCTAssertFalse(decoded.tooLarge)
        XCTAssertEqual(decoder.dynamicEntryCount, 1)
        XCTAssertEqual(decoder.usedSize, 3 + 32)
    }

    func testMalformedBlocksFailWithTheirReason() {
        func failure(_ hex: String, maxTableSize: Int = 4096) -> HPACKBlockDecoder.Failure? {
            var decoder = HPACKBlockDecoder(maxTableSize: maxTableSize)
            do {
                _ = try Self.bytes(hex: hex).withUnsafeBytes { try decoder.decode($0, maxFields: 100, maxBytes: 1 << 16) }
                return nil
            } catch { return error as? HPACKBlockDecoder.Failure }
        }
        XCTAssertEqual(failure("80"), .invalidIndex(0))
        XCTAssertEqual(failure("be"), .invalidIndex(62), "an empty dynamic table")
        XCTAssertEqual(failure("ff"), .truncated, "an integer that does not end")
        XCTAssertEqual(failure("ff ff ff ff ff 7f"), .integerOverflow)
        XCTAssertEqual(failure("40 05 61 62"), .truncated, "a name shorter than its length")
        XCTAssertNil(failure("40 81 1f 00"), "00011 111: 'a' and three bits of padding")
        XCTAssertEqual(failure("40 81 18 00"), .invalidHuffman, "00011 000: the padding is not all ones")
        XCTAssertEqual(failure("40 81 ff 00"), .invalidHuffman, "8 bits of padding")
        XCTAssertEqual(failure("40 82 ff ff 00"), .invalidHuffman, "16 bits of padding")
        XCTAssertEqual(failure("40 84 ff ff ff ff 00"), .invalidHuffman, "the EOS symbol")
        XCTAssertEqual(failure("3f e2 1f", maxTableSize: 4096), .tableSizeAboveMaximum(4097))
        XCTAssertNil(failure("3f e2 1f", maxTableSize: 8192))
    }
}

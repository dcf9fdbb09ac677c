import CorscopeCapture
import XCTest

/// Feeds damaged variants of every public capture's packets through the decoder: it must never
/// crash, and its counters must account for every packet.
final class RobustnessTests: XCTestCase {
    private static let linkTypes: [Int32] = [
        LinkType.null, LinkType.ethernet, LinkType.raw, LinkType.loop, LinkType.linuxSLL,
        LinkType.ipv4, LinkType.ipv6, LinkType.linuxSLL2, 147,
    ]

    func testDamagedPacketsNeverCrashAndCountersAddUp() throws {
        var generator = SeededGenerator(seed: 20_261_122)
        let decoder = PacketDecoder(fragmentLimits: FragmentReassemblyLimits(maxDatagramsInProgress: 16))
        var decodes = 0
        var segments = 0
        var payloadChecksum = 0

        func decode(_ record: PacketRecord) {
            decodes += 1
            record.withRawPacket { packet in
                decoder.decode(packet) { segment in
                    segments += 1
                    // Touch every payload byte: a payload reaching outside the packet would show
                    // up under the address sanitizer and as garbage here.
                    for byte in segment.payload { payloadChecksum &+= Int(byte) }
                    XCTAssertLessThanOrEqual(segment.payload.count, 65_535)
                }
            }
        }

        for path in try PublicCaptures.all() {
            let packets = try readPackets(path).packets.prefix(150)
            for packet in packets {
                decode(packet)
                // Every cut of the first 120 bytes (where the headers are), as a snaplen would
                // cut it and as a broken frame would.
                for length in 0..<min(packet.bytes.count, 120) {
                    var cut = packet
                    cut.bytes = Array(packet.bytes.prefix(length))
                    decode(cut)
                    cut.originalLength = length
                    decode(cut)
                }
                // Random byte flips in the headers, read as every link type.
                for _ in 0..<12 {
                    var flipped = packet
                    for _ in 0..<Int.random(in: 1...4, using: &generator) where !flipped.bytes.isEmpty {
                        let index = Int.random(in: 0..<min(flipped.bytes.count, 96), using: &generator)
                        flipped.bytes[index] = UInt8.random(in: 0...255, using: &generator)
                    }
                    decode(flipped)
                    flipped.linkType = Self.linkTypes.randomElement(using: &generator)!
                    decode(flipped)
                }
            }
        }
        // Pure noise as every link type.
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            decode(Frames.record(bytes, Self.linkTypes.randomElement(using: &generator)!))
        }
        decoder.finish()
        let statistics = decoder.statistics
        XCTAssertEqual(statistics.packets, decodes)
        XCTAssertEqual(statistics.tcpSegments, segments)
        XCTAssertTrue(statistics.dispositionsAddUp, "\(statistics.namedCounts)")
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 0)
        XCTAssertGreaterThan(statistics.tcpPackets, 0)
        XCTAssertGreaterThan(statistics.malformed, 0)
        print("robustness: \(decodes) frames, \(segments) segments, " + statistics.namedCounts.map { "\($0.name)=\($0.value)" }.joined(separator: " "))
    }
}

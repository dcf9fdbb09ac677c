import CorscopeCapture
import XCTest

/// Fragments built from a real packet's IP datagram must reassemble into that packet's segment.
final class FragmentReassemblyTests: XCTestCase {
    /// Splits an IPv4 datagram's payload into fragments covering `ranges` (byte ranges of the
    /// payload; offsets must be multiples of 8), each with a copy of the original header.
    private func ipv4Fragments(_ datagram: [UInt8], ranges: [Range<Int>], identification: UInt16 = 0x4242) -> [[UInt8]] {
        let headerLength = Int(datagram[0] & 0x0f) * 4
        let payload = Array(datagram[headerLength...])
        return ranges.map { range in
            var header = Array(datagram[0..<headerLength])
            let total = headerLength + range.count
            header[2] = UInt8(total >> 8)
            header[3] = UInt8(total & 0xff)
            header[4] = UInt8(identification >> 8)
            header[5] = UInt8(identification & 0xff)
            let more: UInt16 = range.upperBound < payload.count ? 0x2000 : 0
            let field = more | UInt16(range.lowerBound / 8)
            header[6] = UInt8(field >> 8)
            header[7] = UInt8(field & 0xff)
            return header + payload[range]
        }
    }

    /// Consecutive 24-byte pieces of a payload of `length` bytes.
    private func pieces(_ length: Int, size: Int = 24) -> [Range<Int>] {
        stride(from: 0, to: length, by: size).map { $0..<min($0 + size, length) }
    }

    private func feed(_ fragments: [[UInt8]], to decoder: PacketDecoder, seconds: Int64 = 1_000) -> [SegmentRecord] {
        fragments.flatMap { decoder.decodeRecord(Frames.record(Frames.ethernet(0x0800, $0), LinkType.ethernet, time: Timestamp(seconds: seconds, nanoseconds: 0))) }
    }

    private func payloadLength(_ datagram: [UInt8]) -> Int { datagram.count - Int(datagram[0] & 0x0f) * 4 }

    func testInOrderReversedShuffledFragmentsReassemble() throws {
        let (datagram, expected, _) = try RealPackets.ipv4Request()
        let ranges = pieces(payloadLength(datagram))
        XCTAssertGreaterThan(ranges.count, 4)
        var generator = SeededGenerator(seed: 7)
        let orders: [(String, [Range<Int>])] = [
            ("in order", ranges),
            ("reversed", ranges.reversed()),
            ("shuffled", ranges.shuffled(using: &generator)),
        ]
        for (name, order) in orders {
            let decoder = PacketDecoder()
            let segments = feed(ipv4Fragments(datagram, ranges: order), to: decoder)
            XCTAssertEqual(segments.count, 1, name)
            XCTAssertEqual(segments.first?.payload, expected.payload, name)
            XCTAssertEqual(segments.first?.source, expected.source, name)
            XCTAssertEqual(segments.first?.sequence, expected.sequence, name)
            let statistics = decoder.statistics
            XCTAssertEqual(statistics.ipFragments, ranges.count, name)
            XCTAssertEqual(statistics.ipDatagramsReassembled, 1, name)
            XCTAssertEqual(statistics.tcpSegments, 1, name)
            XCTAssertEqual(statistics.tcpPackets, 0, name)
            XCTAssertEqual(statistics.ipFragmentsDropped, 0, name)
            XCTAssertEqual(decoder.datagramsAwaitingFragments, 0, name)
            XCTAssertTrue(statistics.dispositionsAddUp, name)
        }
    }

    func testOverlappingFragmentsReassemble() throws {
        let (datagram, expected, _) = try RealPackets.ipv4Request()
        let length = payloadLength(datagram)
        // 0..<32, 16..<64, 40..<104 ... each piece overlaps the previous one by 16 or more bytes.
        var ranges: [Range<Int>] = []
        var start = 0
        while start < length {
            ranges.append(start..<min(start + 48, length))
            start += 32
        }
        ranges.append(8..<24)  // a piece wholly inside others
        let decoder = PacketDecoder()
        let segments = feed(ipv4Fragments(datagram, ranges: ranges.reversed()), to: decoder)
        XCTAssertEqual(segments.count, 1)
        XCTAssertEqual(segments.first?.payload, expected.payload)
    }

    /// Duplicates before completion are absorbed; a duplicate arriving after the datagram
    /// completed starts a new one that never completes and is dropped at the end.
    func testDuplicatedFragmentsReassembleOnce() throws {
        let (datagram, expected, _) = try RealPackets.ipv4Request()
        let ranges = pieces(payloadLength(datagram))
        let doubled = ranges.flatMap { [$0, $0] }
        let decoder = PacketDecoder()
        let segments = feed(ipv4Fragments(datagram, ranges: doubled), to: decoder)
        XCTAssertEqual(segments.count, 1)
        XCTAssertEqual(segments.first?.payload, expected.payload)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 1)
        decoder.finish()
        XCTAssertEqual(decoder.statistics.ipFragmentsDropped, 1)
        XCTAssertEqual(decoder.statistics.ipFragments, doubled.count)
    }

    func testMissingFragmentTimesOutAndIsCounted() throws {
        let (datagram, _, _) = try RealPackets.ipv4Request()
        var ranges = pieces(payloadLength(datagram))
        ranges.remove(at: 2)
        let decoder = PacketDecoder(fragmentLimits: FragmentReassemblyLimits(timeoutSeconds: 30))
        XCTAssertTrue(feed(ipv4Fragments(datagram, ranges: ranges), to: decoder, seconds: 1_000).isEmpty)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 1)

        // Any later packet moves capture time on; 29 s is not enough, 30 s is.
        let ack = try RealPackets.ipv4PureACK()
        _ = decoder.decodeRecord(Frames.record(ack, LinkType.raw, time: Timestamp(seconds: 1_029, nanoseconds: 0)))
        XCTAssertEqual(decoder.statistics.ipFragmentsDropped, 0)
        _ = decoder.decodeRecord(Frames.record(ack, LinkType.raw, time: Timestamp(seconds: 1_030, nanoseconds: 0)))
        XCTAssertEqual(decoder.statistics.ipFragmentsDropped, ranges.count)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 0)
        XCTAssertEqual(decoder.statistics.ipDatagramsReassembled, 0)
        XCTAssertTrue(decoder.statistics.dispositionsAddUp)
    }

    func testFinishDropsIncompleteDatagrams() throws {
        let (datagram, _, _) = try RealPackets.ipv4Request()
        let ranges = Array(pieces(payloadLength(datagram)).dropLast())
        let decoder = PacketDecoder()
        _ = feed(ipv4Fragments(datagram, ranges: ranges), to: decoder)
        decoder.finish()
        XCTAssertEqual(decoder.statistics.ipFragmentsDropped, ranges.count)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 0)
    }

    func testInProgressCapEvictsTheOldest() throws {
        let (datagram, expected, _) = try RealPackets.ipv4Request()
        let ranges = pieces(payloadLength(datagram))
        let decoder = PacketDecoder(fragmentLimits: FragmentReassemblyLimits(maxDatagramsInProgress: 2))
        for (index, id) in [UInt16(1), 2, 3].enumerated() {
            let first = ipv4Fragments(datagram, ranges: [ranges[0]], identification: id)
            _ = feed(first, to: decoder, seconds: 1_000 + Int64(index))
        }
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 2)
        XCTAssertEqual(decoder.statistics.ipFragmentsDropped, 1)
        // Datagram 3 survived and completes.
        let rest = ipv4Fragments(datagram, ranges: Array(ranges.dropFirst()), identification: 3)
        let segments = feed(rest, to: decoder, seconds: 1_003)
        XCTAssertEqual(segments.first?.payload, expected.payload)
    }

    func testSizeAndConsistencyLimits() throws {
        let (datagram, _, _) = try RealPackets.ipv4Request()
        let ranges = pieces(payloadLength(datagram))

        // A fragment reaching past the size cap is dropped at once.
        let small = PacketDecoder(fragmentLimits: FragmentReassemblyLimits(maxDatagramSize: 64))
        _ = feed(ipv4Fragments(datagram, ranges: ranges), to: small)
        XCTAssertEqual(small.statistics.ipDatagramsReassembled, 0)
        XCTAssertGreaterThan(small.statistics.ipFragmentsDropped, 0)

        // Two "last" fragments that disagree about the end drop the datagram.
        let last = ranges.last!
        let shorter = (last.lowerBound - 24)..<(last.lowerBound - 8)
        var conflicting = ipv4Fragments(datagram, ranges: [ranges[0], last])
        var early = ipv4Fragments(datagram, ranges: [shorter])[0]
        early[6] &= 0x1f  // clear more-fragments: claims the datagram ends earlier
        conflicting.append(early)
        let decoder = PacketDecoder()
        _ = feed(conflicting, to: decoder)
        XCTAssertEqual(decoder.statistics.ipFragmentsDropped, 3)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 0)

        // Too many fragments for one datagram.
        let few = PacketDecoder(fragmentLimits: FragmentReassemblyLimits(maxFragmentsPerDatagram: 3))
        _ = feed(ipv4Fragments(datagram, ranges: ranges), to: few)
        XCTAssertEqual(few.statistics.ipDatagramsReassembled, 0)
        XCTAssertGreaterThanOrEqual(few.statistics.ipFragmentsDropped, 4)
    }

    func testNonTCPFragmentsAreNotHeld() throws {
        let (datagram, _, _) = try RealPackets.ipv4Request()
        var udp = datagram
        udp[9] = 17
        let decoder = PacketDecoder()
        _ = feed(ipv4Fragments(udp, ranges: pieces(payloadLength(udp))), to: decoder)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 0)
        XCTAssertEqual(decoder.statistics.nonTCP, pieces(payloadLength(udp)).count)
    }

    func testIPv6FragmentsReassemble() throws {
        let (datagram, expected, _) = try RealPackets.ipv6Request()
        let fragmentable = Array(datagram[40...])  // TCP header and payload
        let ranges = pieces(fragmentable.count, size: 16)
        let identification: UInt32 = 0xDEAD_BEEF
        let fragments: [[UInt8]] = ranges.reversed().map { range in
            var header = Array(datagram[0..<40])
            let payloadLength = 8 + range.count
            header[4] = UInt8(payloadLength >> 8)
            header[5] = UInt8(payloadLength & 0xff)
            header[6] = 44
            let more: UInt16 = range.upperBound < fragmentable.count ? 1 : 0
            let field = UInt16(range.lowerBound) | more
            return header + [6, 0] + Frames.be16(field) + Frames.be32(identification) + fragmentable[range]
        }
        let decoder = PacketDecoder()
        let segments = fragments.flatMap { decoder.decodeRecord(Frames.record($0, LinkType.ipv6)) }
        XCTAssertEqual(segments.count, 1)
        XCTAssertEqual(segments.first?.payload, expected.payload)
        XCTAssertEqual(segments.first?.source, expected.source)
        XCTAssertEqual(decoder.statistics.ipDatagramsReassembled, 1)

        // An atomic fragment (offset 0, no more fragments) is just a header to skip.
        var atomic = Array(datagram[0..<40]) + [6, 0, 0, 0] + Frames.be32(1) + fragmentable
        let atomicLength = 8 + fragmentable.count
        atomic[4] = UInt8(atomicLength >> 8)
        atomic[5] = UInt8(atomicLength & 0xff)
        atomic[6] = 44
        XCTAssertEqual(PacketDecoder().decodeRecord(Frames.record(atomic, LinkType.ipv6)).first?.payload, expected.payload)
    }

    /// Random fragment soup: never crashes and never holds more than the cap.
    func testRandomFragmentsStayBounded() throws {
        let (datagram, _, _) = try RealPackets.ipv4Request()
        let limits = FragmentReassemblyLimits(maxDatagramsInProgress: 8, maxFragmentsPerDatagram: 16)
        let decoder = PacketDecoder(fragmentLimits: limits)
        var generator = SeededGenerator(seed: 99)
        for step in 0..<5_000 {
            var fragment = Array(datagram.prefix(20 + Int.random(in: 0...60, using: &generator)))
            let total = fragment.count
            fragment[2] = UInt8(total >> 8)
            fragment[3] = UInt8(total & 0xff)
            fragment[5] = UInt8.random(in: 0...15, using: &generator)
            let field = UInt16.random(in: 0...0x3fff, using: &generator) & (Bool.random(using: &generator) ? 0x2007 : 0x3fff)
            fragment[6] = UInt8(field >> 8)
            fragment[7] = UInt8(field & 0xff)
            _ = decoder.decodeRecord(Frames.record(fragment, LinkType.raw, time: Timestamp(seconds: Int64(step / 100), nanoseconds: 0)))
            XCTAssertLessThanOrEqual(decoder.datagramsAwaitingFragments, 8)
        }
        decoder.finish()
        let statistics = decoder.statistics
        XCTAssertEqual(statistics.packets, 5_000)
        XCTAssertTrue(statistics.dispositionsAddUp)
        XCTAssertEqual(decoder.datagramsAwaitingFragments, 0)
    }
}

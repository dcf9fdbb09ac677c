import CorscopeCapture
import XCTest

final class PacketDecoderTests: XCTestCase {
    // MARK: Public captures (numbers verified with tshark -Y tcp)

    func testVLANAndQinQCapturesYieldTheirSegments() throws {
        for name in ["zeek__http-vlan-0.pcap", "zeek__http-qinq-0.pcap"] {
            let decoded = try decodeCapture(try PublicCaptures.path(name))
            XCTAssertEqual(decoded.segments.count, 14, name)
            XCTAssertEqual(decoded.statistics.tcpPackets, 14, name)
            XCTAssertEqual(decoded.segments.first?.source, "141.142.228.5:59856", name)
            XCTAssertEqual(decoded.segments.first?.destination, "192.150.187.43:80", name)
            XCTAssertEqual(decoded.segments.first?.time, Timestamp(seconds: 1_362_692_526, nanoseconds: 869_344_000), name)
            XCTAssertTrue(decoded.segments.contains { String(decoding: $0.payload.prefix(4), as: UTF8.self) == "GET " }, name)
        }
    }

    func testLinuxCookedCapturesV1AndV2() throws {
        let v1 = try decodeCapture(try PublicCaptures.path("sv__http-sll.pcap"))
        XCTAssertEqual(v1.linkType, LinkType.linuxSLL)
        XCTAssertEqual(v1.segments.count, 12)
        XCTAssertEqual(v1.segments.first?.source, "192.168.111.128:56369")
        XCTAssertEqual(v1.segments.first?.destination, "192.168.112.136:80")

        let v2 = try decodeCapture(try PublicCaptures.path("sv__http-sll2.pcap"))
        XCTAssertEqual(v2.linkType, LinkType.linuxSLL2)
        XCTAssertEqual(v2.segments.count, 5)
        XCTAssertEqual(v2.segments.first?.source, "192.168.1.253:56478")
        XCTAssertEqual(v2.segments.first?.destination, "192.168.1.21:80")
    }

    func testIPv6EndpointsAreBracketed() throws {
        let decoded = try decodeCapture(try PublicCaptures.path("sv__http-ipv6.pcap"))
        XCTAssertEqual(decoded.linkType, LinkType.null)
        XCTAssertEqual(decoded.segments.count, 14)
        XCTAssertEqual(decoded.segments.first?.source, "[::1]:55717")
        XCTAssertEqual(decoded.segments.first?.destination, "[::1]:8000")
        XCTAssertEqual(decoded.segments.first?.time, Timestamp(seconds: 1_626_868_686, nanoseconds: 228_067_000))
    }

    func testPPPoESessionFrames() throws {
        let decoded = try decodeCapture(try PublicCaptures.path("sv__http-pppoe.pcap"))
        XCTAssertEqual(decoded.segments.count, 30)
        XCTAssertEqual(decoded.segments.first?.source, "10.100.0.0:57013")
        XCTAssertEqual(decoded.segments.first?.destination, "142.250.179.131:80")
    }

    func testUnsupportedLinkTypeIsCountedNotFatal() throws {
        let decoded = try decodeCapture(try PublicCaptures.path("zeek__nflog-http.pcap"))
        XCTAssertEqual(decoded.outcome, .complete)
        XCTAssertEqual(decoded.linkType, 239)  // DLT_NFLOG
        XCTAssertEqual(decoded.packets.count, 13)
        XCTAssertEqual(decoded.segments.count, 0)
        XCTAssertEqual(decoded.statistics.unsupportedLinkType, 13)
        XCTAssertTrue(decoded.statistics.dispositionsAddUp)
    }

    func testGzipCaptureSegments() throws {
        let decoded = try decodeCapture(try PublicCaptures.path("zeek__http_1000-requests-one-dropped-response.pcap.gz"))
        XCTAssertEqual(decoded.segments.count, 4102)
        XCTAssertEqual(decoded.segments.filter { !$0.payload.isEmpty }.count, 2999)  // tshark -Y 'tcp.len>0'
        XCTAssertEqual(decoded.segments.first?.source, "[::1]:44730")
        XCTAssertEqual(decoded.segments.first?.destination, "[::1]:80")
    }

    // MARK: Link layers around one real datagram

    func testEveryLinkLayerCarriesTheSameIPv4Segment() throws {
        let (ip, expected, _) = try RealPackets.ipv4Request()
        let tag: [UInt8] = [0x20, 0x07]
        let cases: [(String, PacketRecord)] = [
            ("ethernet", Frames.record(Frames.ethernet(0x0800, ip), LinkType.ethernet)),
            ("802.1Q", Frames.record(Frames.ethernet(0x8100, tag + [0x08, 0x00] + ip), LinkType.ethernet)),
            ("three tags", Frames.record(Frames.ethernet(0x88A8, tag + [0x81, 0x00] + tag + [0x81, 0x00] + tag + [0x08, 0x00] + ip), LinkType.ethernet)),
            ("PPPoE", Frames.record(Frames.ethernet(0x8864, [0x11, 0, 0, 0x2d] + Frames.be16(UInt16(ip.count + 2)) + [0x00, 0x21] + ip), LinkType.ethernet)),
            ("SLL", Frames.record(Frames.sll(0x0800, ip), LinkType.linuxSLL)),
            ("SLL2", Frames.record(Frames.sll2(0x0800, ip), LinkType.linuxSLL2)),
            ("NULL little-endian", Frames.record([2, 0, 0, 0] + ip, LinkType.null)),
            ("NULL big-endian", Frames.record([0, 0, 0, 2] + ip, LinkType.null)),
            ("LOOP", Frames.record([0, 0, 0, 2] + ip, LinkType.loop)),
            ("RAW", Frames.record(ip, LinkType.raw)),
            ("LINKTYPE_RAW", Frames.record(ip, LinkType.linkTypeRaw)),
            ("IPV4", Frames.record(ip, LinkType.ipv4)),
            ("ethernet with padding", Frames.record(Frames.ethernet(0x0800, ip) + [UInt8](repeating: 0, count: 6), LinkType.ethernet)),
        ]
        for (name, record) in cases {
            let decoder = PacketDecoder()
            var segments = decoder.decodeRecord(record)
            XCTAssertEqual(segments.count, 1, name)
            segments[0].time = expected.time
            XCTAssertEqual(segments.first, expected, name)
            XCTAssertEqual(decoder.statistics.tcpPackets, 1, name)
        }
    }

    func testEveryLinkLayerCarriesTheSameIPv6Segment() throws {
        let (ip, expected, _) = try RealPackets.ipv6Request()
        let cases: [(String, PacketRecord)] = [
            ("ethernet", Frames.record(Frames.ethernet(0x86DD, ip), LinkType.ethernet)),
            ("SLL", Frames.record(Frames.sll(0x86DD, ip), LinkType.linuxSLL)),
            ("SLL2", Frames.record(Frames.sll2(0x86DD, ip), LinkType.linuxSLL2)),
            ("NULL Linux", Frames.record([10, 0, 0, 0] + ip, LinkType.null)),
            ("NULL BSD", Frames.record([24, 0, 0, 0] + ip, LinkType.null)),
            ("NULL FreeBSD", Frames.record([28, 0, 0, 0] + ip, LinkType.null)),
            ("NULL Darwin big-endian", Frames.record([0, 0, 0, 30] + ip, LinkType.null)),
            ("RAW", Frames.record(ip, LinkType.raw)),
            ("IPV6", Frames.record(ip, LinkType.ipv6)),
        ]
        for (name, record) in cases {
            var segments = PacketDecoder().decodeRecord(record)
            XCTAssertEqual(segments.count, 1, name)
            segments[0].time = expected.time
            XCTAssertEqual(segments.first, expected, name)
        }
    }

    func testIPv6ExtensionHeadersAreSkipped() throws {
        let (ip, expected, _) = try RealPackets.ipv6Request()
        let padN: [UInt8] = [0x01, 0x04, 0, 0, 0, 0]
        // hop-by-hop -> routing -> AH -> destination options -> TCP
        let extensions: [UInt8] =
            [43, 0] + padN
            + [51, 0, 0, 0, 0, 0, 0, 0]  // routing type 0, segments left 0
            + [60, 4] + [UInt8](repeating: 0xAA, count: 22)  // AH: (4 + 2) * 4 = 24 bytes
            + [6, 1] + padN + [UInt8](repeating: 0, count: 8)  // destination options: 16 bytes
        var datagram = Array(ip[0..<40]) + extensions + Array(ip[40...])
        datagram[6] = 0  // first next header: hop-by-hop
        let payloadLength = ip.count - 40 + extensions.count
        datagram[4] = UInt8(payloadLength >> 8)
        datagram[5] = UInt8(payloadLength & 0xff)
        var segments = PacketDecoder().decodeRecord(Frames.record(datagram, LinkType.ipv6))
        XCTAssertEqual(segments.count, 1)
        segments[0].time = expected.time
        XCTAssertEqual(segments.first, expected)

        // ESP and No Next Header end the walk without a segment.
        for stop: UInt8 in [50, 59] {
            var hidden = datagram
            hidden[40 + 8 + 8 + 24] = stop  // the destination options header now says ESP / none follows
            let decoder = PacketDecoder()
            XCTAssertTrue(decoder.decodeRecord(Frames.record(hidden, LinkType.ipv6)).isEmpty)
            XCTAssertEqual(decoder.statistics.nonTCP, 1)
        }
        // An extension header longer than the packet is malformed.
        var overlong = datagram
        overlong[41] = 200
        let decoder = PacketDecoder()
        XCTAssertTrue(decoder.decodeRecord(Frames.record(overlong, LinkType.ipv6)).isEmpty)
        XCTAssertEqual(decoder.statistics.malformed, 1)
    }

    func testIPv4OptionsAreSkipped() throws {
        let (ip, expected, _) = try RealPackets.ipv4Request()
        let options: [UInt8] = [0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00]  // router alert, NOPs, end
        var datagram = Array(ip[0..<20]) + options + Array(ip[20...])
        datagram[0] = 0x47
        let total = datagram.count
        datagram[2] = UInt8(total >> 8)
        datagram[3] = UInt8(total & 0xff)
        var segments = PacketDecoder().decodeRecord(Frames.record(datagram, LinkType.raw))
        XCTAssertEqual(segments.count, 1)
        segments[0].time = expected.time
        XCTAssertEqual(segments.first, expected)
    }

    // MARK: What is not a TCP segment

    func testNonTCPAndNonIPAreCountedByCategory() throws {
        let (ip, _, _) = try RealPackets.ipv4Request()
        var udp = ip
        udp[9] = 17
        var icmp = ip
        icmp[9] = 1
        let decoder = PacketDecoder()
        let records = [
            Frames.record(Frames.ethernet(0x0800, udp), LinkType.ethernet),
            Frames.record(icmp, LinkType.raw),
            Frames.record(Frames.ethernet(0x0806, [UInt8](repeating: 1, count: 28)), LinkType.ethernet),  // ARP
            Frames.record(Frames.ethernet(0x0040, [UInt8](repeating: 0xAA, count: 64)), LinkType.ethernet),  // 802.3 length
            Frames.record(Frames.ethernet(0x8863, [0x11, 0x09, 0, 0, 0, 0]), LinkType.ethernet),  // PPPoE discovery
            Frames.record([7, 0, 0, 0] + ip, LinkType.null),  // unknown address family
            Frames.record(Frames.ethernet(0x0800, ip), 147),  // DLT_USER0
        ]
        for record in records { XCTAssertTrue(decoder.decodeRecord(record).isEmpty) }
        let statistics = decoder.statistics
        XCTAssertEqual(statistics.nonTCP, 2)
        XCTAssertEqual(statistics.nonIP, 4)
        XCTAssertEqual(statistics.unsupportedLinkType, 1)
        XCTAssertEqual(statistics.packets, 7)
        XCTAssertEqual(statistics.tcpSegments, 0)
        XCTAssertTrue(statistics.dispositionsAddUp)
    }

    func testMalformedHeadersAreCounted() throws {
        let (ip, _, _) = try RealPackets.ipv4Request()
        let ack = try RealPackets.ipv4PureACK()
        var shortDataOffset = ip
        shortDataOffset[20 + 12] = 0x40  // 16-byte TCP header
        var longDataOffset = ack
        longDataOffset[20 + 12] = 0xF0  // 60-byte TCP header in a datagram that has fewer
        var shortIHL = ip
        shortIHL[0] = 0x44
        var wrongVersion = ip
        wrongVersion[0] = 0x55
        var longTotalLength = ip
        longTotalLength[2] = 0xFF  // more than the frame, and the snaplen did not cut it
        var totalBelowHeader = ip
        totalBelowHeader[2] = 0
        totalBelowHeader[3] = 12
        let records = [
            Frames.record(shortDataOffset, LinkType.raw),
            Frames.record(longDataOffset, LinkType.raw),
            Frames.record(shortIHL, LinkType.raw),
            Frames.record(wrongVersion, LinkType.ipv4),
            Frames.record(longTotalLength, LinkType.raw),
            Frames.record(totalBelowHeader, LinkType.raw),
            Frames.record([], LinkType.raw),
            Frames.record(Array(Frames.ethernet(0x0800, ip).prefix(13)), LinkType.ethernet),
            Frames.record(Frames.ethernet(0x8100, [0x00]), LinkType.ethernet),  // tag cut short
            Frames.record(Array(ip.prefix(30)), LinkType.raw),  // TCP header cut, no snaplen excuse
        ]
        let decoder = PacketDecoder()
        for record in records { XCTAssertTrue(decoder.decodeRecord(record).isEmpty) }
        XCTAssertEqual(decoder.statistics.malformed, records.count)
        XCTAssertTrue(decoder.statistics.dispositionsAddUp)
    }

    func testZeroTotalLengthFromSegmentationOffloadTakesTheFrame() throws {
        let (ip, expected, _) = try RealPackets.ipv4Request()
        var offloaded = ip
        offloaded[2] = 0
        offloaded[3] = 0
        let segments = PacketDecoder().decodeRecord(Frames.record(offloaded, LinkType.raw))
        XCTAssertEqual(segments.first?.payload, expected.payload)
    }

    // MARK: Snaplen

    func testSnaplenCutDeliversTheCapturedPayload() throws {
        let (ip, expected, _) = try RealPackets.ipv4Request()
        let frame = Frames.ethernet(0x0800, ip)
        let headers = 14 + 20 + (Int(ip[32] >> 4) * 4)
        let decoder = PacketDecoder()
        let cut = PacketRecord(time: .zero, bytes: Array(frame.prefix(headers + 10)), linkType: LinkType.ethernet, originalLength: frame.count)
        let segments = decoder.decodeRecord(cut)
        XCTAssertEqual(segments.first?.payload, Array(expected.payload.prefix(10)))
        // Cut inside the TCP header: nothing to deliver.
        let tooShort = PacketRecord(time: .zero, bytes: Array(frame.prefix(14 + 20 + 10)), linkType: LinkType.ethernet, originalLength: frame.count)
        XCTAssertTrue(decoder.decodeRecord(tooShort).isEmpty)
        let statistics = decoder.statistics
        XCTAssertEqual(statistics.truncatedBySnaplen, 2)
        XCTAssertEqual(statistics.tcpPackets, 1)
        XCTAssertEqual(statistics.malformed, 1)
    }

    /// A real capture cut to 100 bytes per packet with editcap: every segment keeps the captured
    /// prefix of its payload.
    func testEditcapSnaplenCaptureDeliversPayloadPrefixes() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/editcap") else {
            throw XCTSkip("editcap is not installed: snaplen capture test skipped")
        }
        let original = try PublicCaptures.path("zeek__wikipedia.pcap")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cut = directory.appendingPathComponent("snap100.pcap").path
        let editcap = try ChildProcess.run("/usr/bin/editcap", ["-s", "100", original, cut], timeout: 120)
        assertExit(editcap, 0)

        let full = try decodeCapture(original)
        let snapped = try decodeCapture(cut)
        XCTAssertEqual(snapped.segments.count, full.segments.count)
        for (short, whole) in zip(snapped.segments, full.segments) {
            XCTAssertEqual(short.payload, Array(whole.payload.prefix(short.payload.count)))
            XCTAssertEqual(short.sequence, whole.sequence)
        }
        XCTAssertEqual(snapped.statistics.truncatedBySnaplen, full.packets.filter { $0.bytes.count > 100 }.count)
        XCTAssertGreaterThan(snapped.statistics.truncatedBySnaplen, 0)
    }
}

import CorscopeCapture
import XCTest

/// Packets taken from public captures, so synthetic variants start from real bytes.
enum RealPackets {
    /// The HTTP GET of zeek__http_get.pcap (Ethernet, IPv4): its IP datagram and its segment.
    static func ipv4Request() throws -> (datagram: [UInt8], segment: SegmentRecord, time: Timestamp) {
        try firstSegmentWithPayload("zeek__http_get.pcap", linkHeaderLength: 14)
    }

    /// The HTTP GET of sv__http-ipv6.pcap (NULL/loopback, IPv6).
    static func ipv6Request() throws -> (datagram: [UInt8], segment: SegmentRecord, time: Timestamp) {
        try firstSegmentWithPayload("sv__http-ipv6.pcap", linkHeaderLength: 4)
    }

    /// A pure ACK (no payload) of zeek__http_get.pcap: its IP datagram.
    static func ipv4PureACK() throws -> [UInt8] {
        let decoded = try decodeCapture(try PublicCaptures.path("zeek__http_get.pcap"))
        for packet in decoded.packets {
            if let segment = PacketDecoder().decodeRecord(packet).first, segment.payload.isEmpty, segment.flags == 0x10 {
                return Array(packet.bytes[14...])
            }
        }
        throw XCTSkip("no pure ACK found")
    }

    private static func firstSegmentWithPayload(_ name: String, linkHeaderLength: Int) throws -> (datagram: [UInt8], segment: SegmentRecord, time: Timestamp) {
        let decoded = try decodeCapture(try PublicCaptures.path(name))
        for packet in decoded.packets {
            if let segment = PacketDecoder().decodeRecord(packet).first, !segment.payload.isEmpty {
                return (Array(packet.bytes[linkHeaderLength...]), segment, packet.time)
            }
        }
        throw XCTSkip("no segment with payload in \(name)")
    }
}

/// Builders for link-layer frames around an IP datagram.
enum Frames {
    static let macs: [UInt8] = [0x00, 0x0c, 0x29, 0x39, 0xf3, 0xc3, 0x00, 0x0c, 0x29, 0x20, 0x8e, 0xa1]

    static func ethernet(_ etherType: UInt16, _ payload: [UInt8]) -> [UInt8] {
        macs + be16(etherType) + payload
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
    static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xffff)) }

    /// Linux cooked v1: packet type, ARPHRD_ETHER, address length, 8 address bytes, protocol.
    static func sll(_ protocolType: UInt16, _ payload: [UInt8]) -> [UInt8] {
        [0, 0] + [0, 1] + [0, 6] + Array(macs.prefix(6)) + [0, 0] + be16(protocolType) + payload
    }

    /// Linux cooked v2: protocol, reserved, interface index, ARPHRD_ETHER, packet type, address
    /// length, 8 address bytes.
    static func sll2(_ protocolType: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(protocolType) + [0, 0] + be32(3) + [0, 1] + [4, 6] + Array(macs.prefix(6)) + [0, 0] + payload
    }

    static func record(_ bytes: [UInt8], _ linkType: Int32, time: Timestamp = Timestamp(seconds: 1_000, nanoseconds: 5)) -> PacketRecord {
        PacketRecord(time: time, bytes: bytes, linkType: linkType)
    }
}

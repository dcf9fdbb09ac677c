/// Turns link-layer frames into TCP segments.
///
/// Understands Ethernet (with any depth of 802.1Q/802.1ad/QinQ tags, and PPPoE sessions), Linux
/// cooked captures v1 and v2, BSD/OpenBSD loopback and raw IP; IPv4 with options and fragments;
/// IPv6 with extension headers and fragments (reassembled like IPv4). Whatever it cannot turn into
/// a segment is counted in `statistics`, never fatal: every read is bounds-checked, so any byte
/// sequence is safe to feed.
///
/// Unfragmented packets are decoded without allocating: segments point into the packet's bytes
/// and are valid only during the `onSegment` call. IP checksums are not verified, because
/// checksum offloading leaves them wrong in most captures taken on the sending host.
public final class PacketDecoder {
    private var counters = CaptureStatistics()
    private let reassembler: FragmentReassembler

    public init(fragmentLimits: FragmentReassemblyLimits = FragmentReassemblyLimits()) {
        reassembler = FragmentReassembler(limits: fragmentLimits)
    }

    /// Counters for everything decoded so far.
    public var statistics: CaptureStatistics {
        var result = counters
        result.ipFragmentsDropped = reassembler.droppedFragments
        return result
    }

    /// IP datagrams waiting for more fragments.
    public var datagramsAwaitingFragments: Int { reassembler.datagramsInProgress }

    /// Decodes one frame, calling `onSegment` for the TCP segment it carries, if any (or for the
    /// segment a completed fragmented datagram carries).
    public func decode(_ packet: borrowing RawPacket, _ onSegment: (TCPSegment) -> Void) {
        counters.packets &+= 1
        counters.bytesCaptured &+= packet.capturedLength
        let truncated = packet.capturedLength < packet.originalLength
        if truncated { counters.truncatedBySnaplen &+= 1 }
        if packet.time.seconds >= reassembler.nextSweepSeconds {
            reassembler.expire(nowSeconds: packet.time.seconds)
        }
        let frame = Frame(data: packet.data, time: packet.time, truncated: truncated)
        let disposition = decodeLinkLayer(frame, linkType: packet.linkType, onSegment)
        switch disposition {
        case .tcp: counters.tcpPackets &+= 1
        case .fragment: counters.ipFragments &+= 1
        case .nonTCP: counters.nonTCP &+= 1
        case .nonIP: counters.nonIP &+= 1
        case .unsupportedLinkType: counters.unsupportedLinkType &+= 1
        case .malformed: counters.malformed &+= 1
        }
    }

    /// Gives up on every datagram still waiting for fragments (counted as dropped). Call at the
    /// end of a capture.
    public func finish() {
        reassembler.dropAll()
    }

    // MARK: - Link layer

    private enum Disposition {
        case tcp, fragment, nonTCP, nonIP, unsupportedLinkType, malformed
    }

    /// The frame being decoded: its bytes, its time, and whether the snaplen cut it.
    private struct Frame {
        var data: UnsafeRawBufferPointer
        var time: Timestamp
        var truncated: Bool
    }

    @inline(__always)
    private func decodeLinkLayer(_ frame: Frame, linkType: Int32, _ onSegment: (TCPSegment) -> Void) -> Disposition {
        let data = frame.data
        switch linkType {
        case LinkType.ethernet:
            guard data.count >= 14 else { return .malformed }
            return decodeEtherType(data.u16(12), at: 14, frame, onSegment)
        case LinkType.linuxSLL:
            // 16-byte header; the protocol field at 14 is an ethertype for IP traffic.
            guard data.count >= 16 else { return .malformed }
            return decodeEtherType(data.u16(14), at: 16, frame, onSegment)
        case LinkType.linuxSLL2:
            // 20-byte header starting with the protocol (ethertype).
            guard data.count >= 20 else { return .malformed }
            return decodeEtherType(data.u16(0), at: 20, frame, onSegment)
        case LinkType.null, LinkType.loop:
            // A 4-byte address family: host order of the capturing machine for DLT_NULL, network
            // order for DLT_LOOP. Families are small numbers, so a value with high bits set was
            // written in the other byte order.
            guard data.count >= 4 else { return .malformed }
            var family = data.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            if family & 0xFFFF_0000 != 0 { family = family.byteSwapped }
            switch family {
            case 2: return decodeIPv4(at: 4, frame, onSegment)  // AF_INET everywhere
            case 10, 24, 28, 30: return decodeIPv6(at: 4, frame, onSegment)  // AF_INET6: Linux, BSDs, FreeBSD, Darwin
            default: return .nonIP
            }
        case LinkType.raw, LinkType.rawOpenBSD, LinkType.linkTypeRaw:
            guard data.count >= 1 else { return .malformed }
            switch data[0] >> 4 {
            case 4: return decodeIPv4(at: 0, frame, onSegment)
            case 6: return decodeIPv6(at: 0, frame, onSegment)
            default: return .malformed
            }
        case LinkType.ipv4:
            return decodeIPv4(at: 0, frame, onSegment)
        case LinkType.ipv6:
            return decodeIPv6(at: 0, frame, onSegment)
        default:
            return .unsupportedLinkType
        }
    }

    /// Follows VLAN tags and PPPoE to the IP header.
    @inline(__always)
    private func decodeEtherType(_ etherType: UInt16, at start: Int, _ frame: Frame, _ onSegment: (TCPSegment) -> Void) -> Disposition {
        let data = frame.data
        var type = etherType
        var offset = start
        // Each tag consumes 4 bytes, so the loop ends within the frame whatever the bytes say.
        while true {
            switch type {
            case 0x0800:
                return decodeIPv4(at: offset, frame, onSegment)
            case 0x86DD:
                return decodeIPv6(at: offset, frame, onSegment)
            case 0x8100, 0x88A8, 0x9100, 0x9200, 0x9300:  // 802.1Q, 802.1ad, and pre-standard QinQ
                guard offset + 4 <= data.count else { return .malformed }
                type = data.u16(offset + 2)
                offset += 4
            case 0x8864:
                return decodePPPoESession(at: offset, frame, onSegment)
            default:
                return .nonIP  // ARP, LLC (values below 0x0600 are 802.3 lengths), PPPoE discovery...
            }
        }
    }

    /// PPPoE session stage (RFC 2516): 6-byte header, then a PPP protocol number.
    private func decodePPPoESession(at offset: Int, _ frame: Frame, _ onSegment: (TCPSegment) -> Void) -> Disposition {
        let data = frame.data
        guard offset + 8 <= data.count else { return .malformed }
        guard data[offset] == 0x11, data[offset + 1] == 0 else { return .malformed }  // version 1, type 1, code 0
        // PPP protocol numbers have an odd last byte and an even first byte, so an odd first byte
        // means the sender compressed the field to one byte (RFC 1661 protocol-field compression).
        let pppProtocol: UInt16
        let ipOffset: Int
        if data[offset + 6] & 1 == 1 {
            pppProtocol = UInt16(data[offset + 6])
            ipOffset = offset + 7
        } else {
            pppProtocol = data.u16(offset + 6)
            ipOffset = offset + 8
        }
        switch pppProtocol {
        case 0x0021: return decodeIPv4(at: ipOffset, frame, onSegment)
        case 0x0057: return decodeIPv6(at: ipOffset, frame, onSegment)
        default: return .nonIP  // LCP, IPCP and other control protocols
        }
    }

    // MARK: - IP

    /// Where the IP payload ends: the IP length, not the frame length, so Ethernet padding never
    /// becomes payload. Nil when the frame is shorter than the IP length without the snaplen
    /// explaining it.
    @inline(__always)
    private func payloadEnd(declaredEnd: Int, _ frame: Frame) -> Int? {
        if declaredEnd <= frame.data.count { return declaredEnd }
        return frame.truncated ? frame.data.count : nil
    }

    private func decodeIPv4(at offset: Int, _ frame: Frame, _ onSegment: (TCPSegment) -> Void) -> Disposition {
        let data = frame.data
        guard offset + 20 <= data.count else { return .malformed }
        let versionAndLength = data[offset]
        guard versionAndLength >> 4 == 4 else { return .malformed }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        var totalLength = Int(data.u16(offset + 2))
        // Length 0 is what segmentation offload leaves in captures taken on the sender.
        if totalLength == 0 { totalLength = data.count - offset }
        guard headerLength >= 20, totalLength >= headerLength, offset + headerLength <= data.count,
              let end = payloadEnd(declaredEnd: offset + totalLength, frame)
        else { return .malformed }
        let protocolNumber = data[offset + 9]
        guard protocolNumber == 6 else { return .nonTCP }
        let source = IPAddress.v4(data.u32(offset + 12))
        let destination = IPAddress.v4(data.u32(offset + 16))
        let fragmentField = data.u16(offset + 6)
        let moreFragments = fragmentField & 0x2000 != 0
        let fragmentOffset = Int(fragmentField & 0x1FFF) * 8
        if moreFragments || fragmentOffset != 0 {
            // A fragment cut by the snaplen would leave a hole nothing can fill.
            guard end == offset + totalLength else { return .malformed }
            let key = FragmentKey(source: source, destination: destination,
                                  identification: UInt32(data.u16(offset + 4)), protocolNumber: protocolNumber)
            addFragment(key: key, offset: fragmentOffset, payload: data.slice(offset + headerLength, end),
                        moreFragments: moreFragments, upperProtocol: protocolNumber, frame, onSegment)
            return .fragment
        }
        return decodeTCP(data, from: offset + headerLength, to: end, source: source, destination: destination,
                         time: frame.time, onSegment)
    }

    private func decodeIPv6(at offset: Int, _ frame: Frame, _ onSegment: (TCPSegment) -> Void) -> Disposition {
        let data = frame.data
        guard offset + 40 <= data.count else { return .malformed }
        guard data[offset] >> 4 == 6 else { return .malformed }
        let payloadLength = Int(data.u16(offset + 4))
        // Payload length 0 means a jumbogram (RFC 2675) or segmentation offload: take the frame.
        let declaredEnd = payloadLength == 0 ? data.count : offset + 40 + payloadLength
        guard let end = payloadEnd(declaredEnd: declaredEnd, frame) else { return .malformed }
        let source = IPAddress.v6(high: data.u64(offset + 8), low: data.u64(offset + 16))
        let destination = IPAddress.v6(high: data.u64(offset + 24), low: data.u64(offset + 32))
        return decodeIPv6Headers(data, from: offset + 40, to: end, nextHeader: data[offset + 6],
                                 source: source, destination: destination, frame: frame,
                                 fragmentAllowed: end == declaredEnd, onSegment)
    }

    /// Walks the IPv6 extension-header chain to TCP. Fragments go to reassembly (all of them, so
    /// the segment is delivered whole); after reassembly the chain continues in the rebuilt
    /// payload, where a second fragment header is malformed.
    private func decodeIPv6Headers(
        _ data: UnsafeRawBufferPointer, from start: Int, to end: Int, nextHeader: UInt8,
        source: IPAddress, destination: IPAddress, frame: Frame, fragmentAllowed: Bool,
        _ onSegment: (TCPSegment) -> Void
    ) -> Disposition {
        var next = nextHeader
        var cursor = start
        // Every extension header is at least 8 bytes long, so the walk ends within the packet.
        while true {
            switch next {
            case 6:
                return decodeTCP(data, from: cursor, to: end, source: source, destination: destination,
                                 time: frame.time, onSegment)
            case 0, 43, 60, 135, 139, 140:  // hop-by-hop, routing, destination options, mobility, HIP, shim6
                guard cursor + 8 <= end else { return .malformed }
                let length = (Int(data[cursor + 1]) + 1) * 8
                guard cursor + length <= end else { return .malformed }
                next = data[cursor]
                cursor += length
            case 51:  // AH: length in 4-byte units, minus 2
                guard cursor + 8 <= end else { return .malformed }
                let length = (Int(data[cursor + 1]) + 2) * 4
                guard cursor + length <= end else { return .malformed }
                next = data[cursor]
                cursor += length
            case 44:
                guard cursor + 8 <= end else { return .malformed }
                let fragmentNext = data[cursor]
                let field = data.u16(cursor + 2)
                let fragmentOffset = Int(field & 0xFFF8)
                let moreFragments = field & 1 != 0
                let identification = data.u32(cursor + 4)
                cursor += 8
                if fragmentOffset == 0 && !moreFragments {  // atomic fragment (RFC 6946): not really split
                    next = fragmentNext
                    continue
                }
                guard fragmentAllowed else { return .malformed }
                let key = FragmentKey(source: source, destination: destination, identification: identification, protocolNumber: 0)
                addFragment(key: key, offset: fragmentOffset, payload: data.slice(cursor, end),
                            moreFragments: moreFragments, upperProtocol: fragmentNext, frame, onSegment)
                return .fragment
            default:
                return .nonTCP  // UDP, ICMPv6, ESP (50) and No Next Header (59) end the walk too
            }
        }
    }

    /// Slow path: hands a fragment to reassembly and decodes the datagram it completes.
    private func addFragment(
        key: FragmentKey, offset: Int, payload: UnsafeRawBufferPointer, moreFragments: Bool,
        upperProtocol: UInt8, _ frame: Frame, _ onSegment: (TCPSegment) -> Void
    ) {
        let result = reassembler.add(key: key, offset: offset, payload: payload, moreFragments: moreFragments,
                                     upperProtocol: upperProtocol, timeSeconds: frame.time.seconds)
        guard case .complete(let datagram) = result else { return }
        counters.ipDatagramsReassembled += 1
        let disposition: Disposition = datagram.bytes.withUnsafeBytes { bytes in
            let length = datagram.totalLength ?? 0
            let first = datagram.upperProtocol ?? 59
            if key.source.isIPv6 {
                let whole = Frame(data: bytes, time: frame.time, truncated: false)
                return decodeIPv6Headers(bytes, from: 0, to: length, nextHeader: first, source: key.source,
                                         destination: key.destination, frame: whole, fragmentAllowed: false, onSegment)
            }
            return decodeTCP(bytes, from: 0, to: length, source: key.source, destination: key.destination,
                             time: frame.time, onSegment)
        }
        if disposition != .tcp { counters.reassembledDatagramsDiscarded += 1 }
    }

    // MARK: - TCP

    @inline(__always)
    private func decodeTCP(
        _ data: UnsafeRawBufferPointer, from start: Int, to end: Int, source: IPAddress, destination: IPAddress,
        time: Timestamp, _ onSegment: (TCPSegment) -> Void
    ) -> Disposition {
        guard start + 20 <= end else { return .malformed }
        let headerLength = Int(data[start + 12] >> 4) * 4
        guard headerLength >= 20, start + headerLength <= end else { return .malformed }
        let segment = TCPSegment(
            time: time,
            source: Endpoint(address: source, port: data.u16(start)),
            destination: Endpoint(address: destination, port: data.u16(start + 2)),
            sequence: data.u32(start + 4),
            acknowledgment: data.u32(start + 8),
            flags: TCPFlags(rawValue: data[start + 13]),
            window: data.u16(start + 14),
            payload: data.slice(start + headerLength, end)
        )
        counters.tcpSegments &+= 1
        onSegment(segment)
        return .tcp
    }
}

// Unchecked readers: every caller has already checked the bounds.
extension UnsafeRawBufferPointer {
    @inline(__always)
    fileprivate func u16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    fileprivate func u32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    fileprivate func u64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Bytes `start..<end`, which the caller has checked lie within the buffer.
    @inline(__always)
    fileprivate func slice(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        guard let base = baseAddress, end > start else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + start, count: end - start)
    }
}

/// What the decoder did with the packets it was given.
///
/// Every packet lands in exactly one disposition, so
/// `packets == tcpPackets + ipFragments + nonTCP + nonIP + unsupportedLinkType + malformed`
/// (see `dispositionsAddUp`). The other counters describe events across packets.
public struct CaptureStatistics: Equatable, Sendable {
    /// Packets of the file that a `--filter` left out (never given to the decoder).
    public var filteredOut = 0
    // Dispositions: one per packet.
    /// Packets given to the decoder.
    public var packets = 0
    /// Packets that carried a whole (unfragmented) TCP segment, delivered as is.
    public var tcpPackets = 0
    /// IP fragments handed to fragment reassembly (delivered later, if ever, as one segment).
    public var ipFragments = 0
    /// IP packets that carry something other than TCP (UDP, ICMP, ESP...).
    public var nonTCP = 0
    /// Frames whose link layer carries something other than IP (ARP, LLC, unknown ethertypes...).
    public var nonIP = 0
    /// Frames of a link-layer type the decoder does not know.
    public var unsupportedLinkType = 0
    /// Frames whose headers are inconsistent or cut short (including by the snapshot length).
    public var malformed = 0

    // Events.
    /// Bytes captured (sum of captured lengths).
    public var bytesCaptured = 0
    /// TCP segments delivered: `tcpPackets` plus those rebuilt from fragments.
    public var tcpSegments = 0
    /// Packets the snapshot length cut short (caplen < len). Whatever TCP payload was captured is
    /// still delivered, so these overlap the dispositions.
    public var truncatedBySnaplen = 0
    /// IP datagrams completed from fragments.
    public var ipDatagramsReassembled = 0
    /// Reassembled datagrams that held no usable TCP segment (not TCP, or a malformed header).
    public var reassembledDatagramsDiscarded = 0
    /// Fragments thrown away: their datagram timed out, broke a size or count cap, was evicted to
    /// make room, or had inconsistent lengths.
    public var ipFragmentsDropped = 0

    public init() {}

    /// True when every packet is counted in exactly one disposition.
    public var dispositionsAddUp: Bool {
        packets == tcpPackets + ipFragments + nonTCP + nonIP + unsupportedLinkType + malformed
    }

    /// Every counter with a stable, printable name, in a fixed order.
    public var namedCounts: [(name: String, value: Int)] {
        [
            ("packets", packets),
            ("bytesCaptured", bytesCaptured),
            ("tcpSegments", tcpSegments),
            ("tcpPackets", tcpPackets),
            ("ipFragments", ipFragments),
            ("nonTCP", nonTCP),
            ("nonIP", nonIP),
            ("unsupportedLinkType", unsupportedLinkType),
            ("malformed", malformed),
            ("truncatedBySnaplen", truncatedBySnaplen),
            ("ipDatagramsReassembled", ipDatagramsReassembled),
            ("reassembledDatagramsDiscarded", reassembledDatagramsDiscarded),
            ("ipFragmentsDropped", ipFragmentsDropped),
        ]
    }
}

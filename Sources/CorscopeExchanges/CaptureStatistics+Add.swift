import CorscopeCapture

extension CaptureStatistics {
    /// Adds another file's counts.
    mutating func add(_ other: CaptureStatistics) {
        filteredOut += other.filteredOut
        packets += other.packets
        tcpPackets += other.tcpPackets
        ipFragments += other.ipFragments
        nonTCP += other.nonTCP
        nonIP += other.nonIP
        unsupportedLinkType += other.unsupportedLinkType
        malformed += other.malformed
        bytesCaptured += other.bytesCaptured
        tcpSegments += other.tcpSegments
        truncatedBySnaplen += other.truncatedBySnaplen
        ipDatagramsReassembled += other.ipDatagramsReassembled
        reassembledDatagramsDiscarded += other.reassembledDatagramsDiscarded
        ipFragmentsDropped += other.ipFragmentsDropped
    }
}

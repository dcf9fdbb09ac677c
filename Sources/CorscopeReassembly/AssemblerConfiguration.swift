/// Limits that keep reassembly memory bounded and decide when a hole is given up on.
///
/// Whatever a limit cuts is counted in `AssemblerStatistics` and delivered to the stream as a
/// gap: nothing is dropped silently.
public struct AssemblerConfiguration: Sendable, Hashable {
    /// Out-of-order bytes buffered per connection (both directions) before the oldest hole is skipped.
    public var maxBufferedBytesPerConnection: Int = 4 << 20
    /// Out-of-order segments buffered per connection (both directions) before the oldest hole is
    /// skipped: tiny segments cost far more memory than their bytes.
    public var maxBufferedSegmentsPerConnection: Int = 65_536
    /// Out-of-order bytes buffered across all connections; past it, the connection whose buffer
    /// costs the most (its bytes plus `bufferedSegmentCost` per segment) skips its first hole,
    /// again until the total is back under the cap.
    public var maxBufferedBytesTotal: Int = 64 << 20
    /// Out-of-order segments buffered across all connections, enforced the same way: a flood of
    /// tiny segments over many connections costs memory that a cap in bytes does not see.
    public var maxBufferedSegmentsTotal: Int = 262_144
    /// Open connections before the least recently active one is evicted.
    public var maxConnections: Int = 200_000
    /// A connection with no packet for this long (capture time) is flushed and closed.
    public var idleTimeout: Double = 120
    /// A hole that is still unfilled this long (capture time) after data beyond it arrived is skipped.
    public var holeTimeout: Double = 10
    /// Packets of a connection that may go by after the peer acknowledged data beyond a hole
    /// before the hole is declared lost: captures reordered at the capture point show ACKs
    /// before the data they acknowledge.
    public var reorderingTolerancePackets: Int = 8
    /// How often (capture time) idle connections and old holes are looked for.
    public var sweepInterval: Double = 1

    public init() {}
}

/// Counts of what reassembly saw, did, and had to give up on.
public struct AssemblerStatistics: Sendable, Hashable {
    public var segments = 0
    public var payloadBytes = 0
    /// Connections that carried at least one payload byte.
    public var connections = 0
    /// Of those, connections whose handshake was not captured (picked up mid-stream).
    public var connectionsWithoutHandshake = 0
    public var deliveredBytes = 0
    /// Segments that arrived ahead of a hole and were buffered.
    public var outOfOrderSegments = 0
    /// Payload bytes that had already been delivered (retransmissions and overlaps); the first
    /// copy wins.
    public var retransmittedBytes = 0
    /// Payload bytes that arrived after the hole they belong to was given up on: already counted
    /// in `gapBytes`, not delivered (the stream had moved on), and not retransmissions.
    public var lateBytes = 0
    /// Holes given up on, and the bytes they missed.
    public var gaps = 0
    public var gapBytes = 0
    /// Holes skipped because a buffer cap was reached (a subset of `gaps`).
    public var gapsForcedByBufferCap = 0
    /// Of those, holes skipped because a total cap over all connections was reached.
    public var gapsForcedByTotalBufferCap = 0
    /// Connections closed because they were idle, or evicted by the connection cap.
    public var idleConnections = 0
    public var evictedConnections = 0
    /// Peak out-of-order bytes held at once.
    public var peakBufferedBytes = 0

    public init() {}

    /// Adds another capture's counts (the peak is the larger of the two).
    public mutating func add(_ other: AssemblerStatistics) {
        segments += other.segments
        payloadBytes += other.payloadBytes
        connections += other.connections
        connectionsWithoutHandshake += other.connectionsWithoutHandshake
        deliveredBytes += other.deliveredBytes
        outOfOrderSegments += other.outOfOrderSegments
        retransmittedBytes += other.retransmittedBytes
        lateBytes += other.lateBytes
        gaps += other.gaps
        gapBytes += other.gapBytes
        gapsForcedByBufferCap += other.gapsForcedByBufferCap
        gapsForcedByTotalBufferCap += other.gapsForcedByTotalBufferCap
        idleConnections += other.idleConnections
        evictedConnections += other.evictedConnections
        peakBufferedBytes = max(peakBufferedBytes, other.peakBufferedBytes)
    }
}

import CorscopeCapture

/// Reassembles TCP segments into ordered byte streams, one `TCPStreamHandler` per connection.
///
/// ### Policies
/// - **Overlaps and retransmissions:** the first copy of a byte wins. Bytes already delivered
///   are never delivered again; their count is `retransmittedBytes`. Bytes that arrive after
///   their hole was given up on are `lateBytes` instead (they are already in `gapBytes`).
/// - **Holes:** data after a hole is buffered (up to the caps) until the hole is filled, or
///   given up on as a gap when: the receiver acknowledged data beyond the hole (the bytes were on
///   the wire but not in the capture), the hole is older than `holeTimeout` in capture time, a
///   buffer cap is reached, or the connection ends.
/// - **Mid-stream pickup:** a connection first seen without its SYN starts at the first payload
///   byte seen; the server is guessed from the ports (a well-known or lower port).
/// - **Time:** idle connections are flushed by capture time, never by wall clock, so a capture
///   analyses the same way however fast it is read.
/// - **Cost:** no event looks at every connection. Eviction and the idle sweep take the front of
///   the least-recently-active list; a total buffer cap takes the top of a heap of connections by
///   buffer cost; the hole timeout takes the top of a heap by oldest buffered segment.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class TCPAssembler {
    public let configuration: AssemblerConfiguration
    @exclusivity(unchecked) public private(set) var statistics = AssemblerStatistics()
    private let factory: any TCPStreamFactory

    @exclusivity(unchecked) private var connections: [FlowKey: Connection] = [:]
    /// The same connections, least recently active first: eviction takes the front.
    @exclusivity(unchecked) private var activity = ConnectionActivity()
    /// The id the next new connection gets; ids count up from `firstConnectionID`. A sharded
    /// reader sets it before each segment to the segment's position in the capture (a packet
    /// opens at most one connection), and numbers connections in capture order afterwards.
    @exclusivity(unchecked) public var nextConnectionID: Int
    /// Whether `process` closes idle connections and expires holes as capture time advances
    /// (`flush(olderThan:)`). A sharded reader turns it off and calls `expireHoles` and
    /// `closeIdle` itself, at the packet where one assembler over the whole capture would.
    @exclusivity(unchecked) public var sweepsAsTimeAdvances = true
    /// Told of every connection as it is opened and as it is removed, with its id, whether or
    /// not a handler was made for it (a sharded reader numbers connections from these).
    @exclusivity(unchecked) public var onConnectionOpened: ((Int) -> Void)?
    @exclusivity(unchecked) public var onConnectionRemoved: ((Int) -> Void)?
    @exclusivity(unchecked) private var bufferedBytesTotal = 0
    @exclusivity(unchecked) private var bufferedSegmentsTotal = 0
    /// Connections holding out-of-order segments, the costliest buffer on top.
    @exclusivity(unchecked) private var byBufferCost = ConnectionHeap<LargestBufferFirst>()
    /// The same connections, the one whose oldest segment arrived first on top.
    @exclusivity(unchecked) private var byOldestPending = ConnectionHeap<OldestPendingFirst>()
    @exclusivity(unchecked) private var lastSweep: Timestamp?
    @exclusivity(unchecked) private var now = Timestamp.zero
    /// Consecutive packets usually belong to the same connection: skip the hash lookup then.
    @exclusivity(unchecked) private var lastConnection: Connection?
    /// Where recently closed connections ended, so their late packets are recognised.
    @exclusivity(unchecked) private var recentlyClosed = ClosedConnections()

    /// - Parameter firstConnectionID: where connection ids start, so that several captures read
    ///   one after another keep distinct ids.
    public init(factory: any TCPStreamFactory, configuration: AssemblerConfiguration = .init(), firstConnectionID: Int = 0) {
        self.factory = factory
        self.configuration = configuration
        self.nextConnectionID = firstConnectionID
    }

    deinit {
        activity.removeAll()
        byBufferCost.removeAll()
        byOldestPending.removeAll()
    }

    /// What a buffered segment costs beyond its payload (its bookkeeping and allocation), in the
    /// cost that picks the connection a total cap forces to skip a hole.
    static let bufferedSegmentCost = 64

    /// Out-of-order bytes and segments buffered now, over all connections.
    public var bufferedTotals: (bytes: Int, segments: Int) { (bufferedBytesTotal, bufferedSegmentsTotal) }

    /// Connections currently open.
    public var openConnections: Int { connections.count }

    /// Feeds one segment. Segments should come in capture order.
    public func process(_ segment: TCPSegment) {
        statistics.segments += 1
        statistics.payloadBytes += segment.payload.count
        if segment.time > now { now = segment.time }
        if sweepsAsTimeAdvances { sweepIfDue() }

        guard let connection = connection(for: segment) else { return }
        connection.lastSeen = now
        activity.moveToBack(connection)
        connection.packets += 1
        let direction: FlowDirection = segment.source == connection.info.client ? .clientToServer : .serverToClient
        let half = connection.halves[direction.rawValue]
        let flags = segment.flags

        if flags.contains(.rst) {
            close(connection, reason: .reset)
            return
        }
        var sequence = segment.sequence
        if flags.contains(.syn) {
            if !half.isInitialised || !half.hasDelivered {
                half.nextSequence = sequence &+ 1
                half.startSequence = half.nextSequence
                half.isInitialised = true
            }
            if flags.contains(.ack) { connection.info.sawHandshake = true }
            sequence = sequence &+ 1
        }
        if !segment.payload.isEmpty {
            receive(segment.payload, sequence: sequence, on: half, of: connection, direction: direction)
        }
        if flags.contains(.fin) {
            half.finSequence = sequence &+ UInt32(truncatingIfNeeded: segment.payload.count)
        }
        if flags.contains(.ack) {
            acknowledged(upTo: segment.acknowledgment, on: connection.halves[direction.reversed.rawValue],
                         of: connection, direction: direction.reversed)
        }
        endIfFinished(half, of: connection, direction: direction)
        if connection.halves[0].hasEnded && connection.halves[1].hasEnded {
            remove(connection)
        }
    }

    /// Ends every open connection (end of capture): holes become gaps, handlers see `end`.
    public func flushAll(reason: StreamEndReason = .endOfCapture) {
        for connection in connections.values.sorted(by: { $0.info.id < $1.info.id }) {
            close(connection, reason: reason)
        }
    }

    /// Closes connections idle since before `time` and gives up on holes older than the hole
    /// timeout; called automatically as capture time advances, and by live capture on a timer.
    ///
    /// Neither looks at every connection: idle ones are the front of the least-recently-active
    /// list (ordered by last packet), and holes old enough are in connections at the top of the
    /// heap ordered by their oldest buffered segment.
    public func flush(olderThan time: Timestamp) {
        expireHoles(olderThan: time)
        closeIdle(olderThan: time)
    }

    /// Capture time is at least `time` (a sharded reader passes the time of the whole capture,
    /// so connections are stamped as one assembler would stamp them).
    public func advanceClock(to time: Timestamp) {
        if time > now { now = time }
    }

    /// The first half of `flush(olderThan:)`: gives up on holes older than the hole timeout in
    /// connections that are not idle (an idle one has every hole skipped when it is closed).
    public func expireHoles(olderThan time: Timestamp) {
        if time > now { now = time }
        let idleCutoff = now.adding(seconds: -configuration.idleTimeout)
        let holeCutoff = now.adding(seconds: -configuration.holeTimeout)
        var expired: [Connection] = []
        while let connection = byOldestPending.top, connection.oldestPendingTime < holeCutoff {
            byOldestPending.remove(connection)
            expired.append(connection)
        }
        for connection in expired {
            // An idle connection is closed below, every hole skipped then.
            if connection.lastSeen < idleCutoff { continue }
            for (index, half) in connection.halves.enumerated() {
                // Skipping holes until no segment older than the cutoff waits is skipping them
                // up to the last such segment in stream order.
                guard let last = half.lastPendingSequence(arrivedBefore: holeCutoff) else { continue }
                while let first = half.pending.first, TCPSequence.distance(from: first.sequence, to: last) >= 0 {
                    skipHole(on: half, of: connection, direction: FlowDirection(rawValue: index)!)
                }
            }
            // What is left arrived after the cutoff: back in the heap by its oldest segment.
            if let oldest = connection.halves.compactMap({ $0.oldestPendingTime }).min(), connections[connection.key] === connection {
                connection.oldestPendingTime = oldest
                byOldestPending.update(connection)
            }
        }
    }

    /// The second half of `flush(olderThan:)`: closes connections idle longer than the idle
    /// timeout, in id order.
    public func closeIdle(olderThan time: Timestamp) {
        if time > now { now = time }
        let idleCutoff = now.adding(seconds: -configuration.idleTimeout)
        var idle: [Connection] = []
        var current = activity.front
        while let connection = current, connection.lastSeen < idleCutoff {
            idle.append(connection)
            current = connection.activityNext
        }
        for connection in idle.sorted(by: { $0.info.id < $1.info.id }) {
            statistics.idleConnections += 1
            close(connection, reason: .idle)
        }
    }

    // MARK: - Connections

    private func sweepIfDue() {
        guard let last = lastSweep else { lastSweep = now; return }
        if now.seconds(since: last) >= configuration.sweepInterval {
            lastSweep = now
            flush(olderThan: now)
        }
    }

    private func connection(for segment: TCPSegment) -> Connection? {
        if let last = lastConnection, last.matches(segment.source, segment.destination) {
            if segment.flags.contains(.syn) && !segment.flags.contains(.ack),
               last.isReused(bySYNFrom: segment.source, sequence: segment.sequence) {
                close(last, reason: .superseded)
            } else {
                return last
            }
        }
        let key = FlowKey(segment.source, segment.destination)
        if let existing = connections[key] {
            if segment.flags.contains(.syn) && !segment.flags.contains(.ack),
               existing.isReused(bySYNFrom: segment.source, sequence: segment.sequence) {
                close(existing, reason: .superseded)
            } else {
                lastConnection = existing
                return existing
            }
        }
        // A connection starts at a SYN or at the first payload; bare ACKs, FINs and RSTs of
        // connections never seen carry nothing to analyse.
        guard segment.flags.contains(.syn) || !segment.payload.isEmpty else { return nil }
        // A closed connection's late packets: retransmissions are dropped; data beyond where it
        // ended (after a RST the endpoints ignored) continues it, with the roles it had.
        let closed = segment.flags.contains(.syn) ? nil : recentlyClosed.lookUp(key, at: now)
        if let closed {
            let fromClient = segment.source == closed.client
            let end = closed.nextSequence[fromClient ? 0 : 1]
            let payloadEnd = segment.sequence &+ UInt32(truncatingIfNeeded: segment.payload.count)
            if let end, TCPSequence.distance(from: end, to: payloadEnd) <= 0 {
                statistics.retransmittedBytes += segment.payload.count
                return nil
            }
        }
        if connections.count >= configuration.maxConnections { evictLeastRecentlyActive() }

        let client: Endpoint
        let server: Endpoint
        if let closed {
            client = closed.client
            server = closed.server
        } else if segment.flags.contains(.syn) {
            let fromClient = !segment.flags.contains(.ack)
            client = fromClient ? segment.source : segment.destination
            server = fromClient ? segment.destination : segment.source
        } else if Self.isLikelyServerPort(segment.source.port, comparedTo: segment.destination.port) {
            client = segment.destination
            server = segment.source
        } else {
            client = segment.source
            server = segment.destination
        }
        let info = ConnectionInfo(id: nextConnectionID, client: client, server: server,
                                  sawHandshake: closed?.sawHandshake ?? false, firstSeen: segment.time)
        nextConnectionID += 1
        onConnectionOpened?(info.id)
        let connection = Connection(key: key, info: info, time: now)
        if let closed {
            for (index, next) in closed.nextSequence.enumerated() {
                guard let next else { continue }
                connection.halves[index].nextSequence = next
                connection.halves[index].startSequence = next
                connection.halves[index].isInitialised = true
            }
        }
        if segment.flags.contains(.syn) && !segment.flags.contains(.ack) {
            connection.clientInitialSequence = segment.sequence
        }
        connections[key] = connection
        activity.append(connection)
        lastConnection = connection
        return connection
    }

    /// Ports servers listen on are usually well known or lower than the client's ephemeral port.
    static func isLikelyServerPort(_ port: UInt16, comparedTo other: UInt16) -> Bool {
        let wellKnown: Set<UInt16> = [80, 443, 8000, 8008, 8080, 8081, 8443, 8888, 3000, 5000, 9000]
        let a = wellKnown.contains(port), b = wellKnown.contains(other)
        if a != b { return a }
        return port < other
    }

    private func handler(for connection: Connection) -> any TCPStreamHandler {
        if let handler = connection.handler { return handler }
        let handler = factory.makeHandler(for: connection.info)
        connection.handler = handler
        // A direction that ended before the connection had a handler (a FIN, or a close, with
        // no byte or gap yet) is told to the new handler first: every handler sees both ends.
        for (index, half) in connection.halves.enumerated() where half.hasEnded {
            handler.end(direction: FlowDirection(rawValue: index)!, time: now, reason: half.endReason)
        }
        statistics.connections += 1
        if !connection.info.sawHandshake { statistics.connectionsWithoutHandshake += 1 }
        return handler
    }

    private func evictLeastRecentlyActive() {
        guard let victim = activity.front else { return }
        statistics.evictedConnections += 1
        close(victim, reason: .evicted)
    }

    private func close(_ connection: Connection, reason: StreamEndReason) {
        for (index, half) in connection.halves.enumerated() where !half.hasEnded {
            let direction = FlowDirection(rawValue: index)!
            while !half.pending.isEmpty { skipHole(on: half, of: connection, direction: direction) }
            // Skipping the holes may have delivered up to the FIN, which ended this direction.
            if half.hasEnded { continue }
            // Bytes the FIN or the peer's ACK prove were sent but never captured.
            if half.isInitialised, connection.handler != nil {
                var end = half.finSequence ?? half.nextSequence
                if let ack = half.highestAcknowledged, TCPSequence.distance(from: end, to: ack) > 0,
                   half.finSequence == nil {
                    end = ack
                }
                let missing = TCPSequence.distance(from: half.nextSequence, to: end)
                if missing > 0 { declareGap(missing, on: half, of: connection, direction: direction) }
            }
            half.hasEnded = true
            half.endReason = reason == .reset || half.finSequence == nil ? reason : .fin
            connection.handler?.end(direction: direction, time: now, reason: half.endReason)
        }
        remove(connection)
    }

    private func remove(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.key) != nil else { return }
        activity.remove(connection)
        recentlyClosed.remember(connection, at: now)
        for half in connection.halves {
            bufferedBytesTotal -= half.pendingBytes
            bufferedSegmentsTotal -= half.pending.count
            half.dropPending()
        }
        byBufferCost.remove(connection)
        byOldestPending.remove(connection)
        if lastConnection === connection { lastConnection = nil }
        if let handler = connection.handler { factory.connectionClosed(connection.info, handler: handler) }
        onConnectionRemoved?(connection.info.id)
    }

    // MARK: - Bytes

    private func receive(_ payload: UnsafeRawBufferPointer, sequence: UInt32, on half: HalfStream,
                         of connection: Connection, direction: FlowDirection) {
        if half.hasEnded { statistics.retransmittedBytes += payload.count; return }
        if !half.isInitialised {
            half.nextSequence = sequence
            half.startSequence = sequence
            half.isInitialised = true
        }
        let offset = TCPSequence.distance(from: half.nextSequence, to: sequence)
        if offset > 0 {
            buffer(payload, sequence: sequence, on: half, of: connection, direction: direction)
            return
        }
        let alreadyDelivered = -offset
        if alreadyDelivered >= payload.count {
            countOld(payload.count, at: sequence, on: half)
            return
        }
        countOld(alreadyDelivered, at: sequence, on: half)
        deliver(UnsafeRawBufferPointer(rebasing: payload[alreadyDelivered...]), on: half, of: connection,
                direction: direction, time: now)
        drain(half, of: connection, direction: direction)
    }

    @inline(__always)
    private func deliver(_ bytes: UnsafeRawBufferPointer, on half: HalfStream, of connection: Connection,
                         direction: FlowDirection, time: Timestamp) {
        half.nextSequence = half.nextSequence &+ UInt32(truncatingIfNeeded: bytes.count)
        half.hasDelivered = true
        statistics.deliveredBytes += bytes.count
        handler(for: connection).receive(bytes, direction: direction, time: time)
    }

    /// Delivers buffered segments that have become contiguous.
    private func drain(_ half: HalfStream, of connection: Connection, direction: FlowDirection) {
        guard let first = half.pending.first, TCPSequence.distance(from: half.nextSequence, to: first.sequence) <= 0 else { return }
        defer { bufferChanged(connection) }
        while let first = half.pending.first {
            let offset = TCPSequence.distance(from: half.nextSequence, to: first.sequence)
            if offset > 0 { return }
            half.removeFirstPending()
            bufferedBytesTotal -= first.bytes.count
            bufferedSegmentsTotal -= 1
            let alreadyDelivered = -offset
            if alreadyDelivered >= first.bytes.count {
                countOld(first.bytes.count, at: first.sequence, on: half)
                continue
            }
            countOld(alreadyDelivered, at: first.sequence, on: half)
            first.bytes.withUnsafeBytes { raw in
                deliver(UnsafeRawBufferPointer(rebasing: raw[alreadyDelivered...]), on: half, of: connection,
                        direction: direction, time: first.time)
            }
        }
    }

    private func buffer(_ payload: UnsafeRawBufferPointer, sequence: UInt32, on half: HalfStream,
                        of connection: Connection, direction: FlowDirection) {
        statistics.outOfOrderSegments += 1
        half.insertPending(PendingSegment(sequence: sequence, bytes: Array(payload), time: now))
        bufferedBytesTotal += payload.count
        bufferedSegmentsTotal += 1
        statistics.peakBufferedBytes = max(statistics.peakBufferedBytes, bufferedBytesTotal)
        if !byOldestPending.contains(connection) {
            connection.oldestPendingTime = now
            byOldestPending.update(connection)
        }
        bufferChanged(connection)

        while connection.bufferedBytes > configuration.maxBufferedBytesPerConnection
                || connection.bufferedSegments > configuration.maxBufferedSegmentsPerConnection,
              !half.pending.isEmpty {
            statistics.gapsForcedByBufferCap += 1
            skipHole(on: half, of: connection, direction: direction)
        }
        // Over a total cap: the connection whose buffer costs the most skips its first hole (in
        // the direction holding more), until the totals are back under the caps. Each skip
        // delivers or drops at least one segment, so the work is paid for by the buffering.
        while bufferedBytesTotal > configuration.maxBufferedBytesTotal
                || bufferedSegmentsTotal > configuration.maxBufferedSegmentsTotal,
              let victim = byBufferCost.top {
            let costs = victim.halves.map { $0.pendingBytes + Self.bufferedSegmentCost * $0.pending.count }
            let index = costs[1] > costs[0] ? 1 : 0
            statistics.gapsForcedByBufferCap += 1
            statistics.gapsForcedByTotalBufferCap += 1
            skipHole(on: victim.halves[index], of: victim, direction: FlowDirection(rawValue: index)!)
        }
    }

    /// Puts a connection whose buffered segments changed where its cost belongs in the heaps
    /// (out of them when nothing is buffered any more).
    private func bufferChanged(_ connection: Connection) {
        let segments = connection.bufferedSegments
        guard segments > 0 else {
            connection.bufferCost = 0
            byBufferCost.remove(connection)
            byOldestPending.remove(connection)
            return
        }
        connection.bufferCost = connection.bufferedBytes + Self.bufferedSegmentCost * segments
        byBufferCost.update(connection)
    }

    /// Gives up on the hole before the first buffered segment.
    private func skipHole(on half: HalfStream, of connection: Connection, direction: FlowDirection) {
        guard let first = half.pending.first else { return }
        let missing = TCPSequence.distance(from: half.nextSequence, to: first.sequence)
        if missing > 0 {
            declareGap(missing, on: half, of: connection, direction: direction)
        }
        drain(half, of: connection, direction: direction)
        endIfFinished(half, of: connection, direction: direction)
    }

    /// `count` bytes from `sequence` on were behind the delivery point: late where they fall in
    /// a hole given up on, retransmitted otherwise.
    private func countOld(_ count: Int, at sequence: UInt32, on half: HalfStream) {
        let late = half.bytesInGaps(count, at: sequence)
        statistics.lateBytes += late
        statistics.retransmittedBytes += count - late
    }

    private func declareGap(_ length: Int, on half: HalfStream, of connection: Connection, direction: FlowDirection) {
        statistics.gaps += 1
        statistics.gapBytes += length
        half.noteGap(at: half.nextSequence, length: length)
        half.nextSequence = half.nextSequence &+ UInt32(truncatingIfNeeded: length)
        handler(for: connection).gap(length: length, direction: direction, time: now)
    }

    /// The peer acknowledged `ack`: bytes before it were sent, so a hole it covers will never
    /// be filled by the capture.
    private func acknowledged(upTo ack: UInt32, on half: HalfStream, of connection: Connection, direction: FlowDirection) {
        guard half.isInitialised else { return }
        if let highest = half.highestAcknowledged {
            if TCPSequence.distance(from: highest, to: ack) > 0 { half.highestAcknowledged = ack }
        } else {
            half.highestAcknowledged = ack
        }
        // Only when the acknowledgment also covers buffered data, and only once a few more
        // packets went by: in a capture reordered by the capture point itself, the ACK can come
        // before the data it acknowledges, which is late, not lost.
        if let first = half.pending.first,
           TCPSequence.distance(from: first.sequence &+ UInt32(truncatingIfNeeded: first.bytes.count), to: ack) >= 0 {
            let since = half.holeAcknowledgedAtPacket ?? connection.packets
            half.holeAcknowledgedAtPacket = since
            if connection.packets - since >= configuration.reorderingTolerancePackets {
                while let first = half.pending.first,
                      TCPSequence.distance(from: first.sequence &+ UInt32(truncatingIfNeeded: first.bytes.count), to: ack) >= 0 {
                    skipHole(on: half, of: connection, direction: direction)
                }
                half.holeAcknowledgedAtPacket = nil
            }
        } else if half.pending.isEmpty {
            half.holeAcknowledgedAtPacket = nil
        }
        // An acknowledged FIN proves every byte before it reached the peer.
        if half.pending.isEmpty, !half.hasEnded, let fin = half.finSequence,
           TCPSequence.distance(from: fin, to: ack) > 0 {
            let missing = TCPSequence.distance(from: half.nextSequence, to: fin)
            if missing > 0 { declareGap(missing, on: half, of: connection, direction: direction) }
        }
        endIfFinished(half, of: connection, direction: direction)
    }

    private func endIfFinished(_ half: HalfStream, of connection: Connection, direction: FlowDirection) {
        guard !half.hasEnded, let fin = half.finSequence, half.pending.isEmpty,
              TCPSequence.distance(from: half.nextSequence, to: fin) <= 0 else { return }
        half.hasEnded = true
        connection.handler?.end(direction: direction, time: now, reason: .fin)
    }
}

// MARK: - Per-connection state

/// Connections closed in the last minute of capture time (bounded), with where each direction
/// ended: a retransmission after a FIN, or data after a RST the endpoints ignored, must not
/// start a new mid-stream connection.
struct ClosedConnections {
    struct Closed {
        var client: Endpoint
        var server: Endpoint
        var sawHandshake: Bool
        /// Next sequence number per direction (client to server first), after any FIN.
        var nextSequence: [UInt32?]
        var closedAt: Timestamp
    }

    private var byKey: [FlowKey: Closed] = [:]
    private var order: [(FlowKey, Timestamp)] = []
    private var orderStart = 0
    static let retention = 60.0
    static let capacity = 50_000

    mutating func remember(_ connection: Connection, at time: Timestamp) {
        let next = connection.halves.map { half -> UInt32? in
            guard half.isInitialised else { return nil }
            if let fin = half.finSequence, TCPSequence.distance(from: half.nextSequence, to: fin) >= 0 { return fin &+ 1 }
            return half.nextSequence
        }
        byKey[connection.key] = Closed(client: connection.info.client, server: connection.info.server,
                                       sawHandshake: connection.info.sawHandshake, nextSequence: next, closedAt: time)
        order.append((connection.key, time))
        expire(at: time)
    }

    mutating func lookUp(_ key: FlowKey, at time: Timestamp) -> Closed? {
        guard let closed = byKey[key] else { return nil }
        if time.seconds(since: closed.closedAt) > Self.retention { return nil }
        return closed
    }

    private mutating func expire(at time: Timestamp) {
        while orderStart < order.count,
              order.count - orderStart > Self.capacity || time.seconds(since: order[orderStart].1) > Self.retention {
            let (key, closedAt) = order[orderStart]
            if byKey[key]?.closedAt == closedAt { byKey[key] = nil }
            orderStart += 1
        }
        if orderStart > 4096 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}

/// Both directions of a connection share one key: the endpoints in a canonical order.
struct FlowKey: Hashable {
    let low: Endpoint
    let high: Endpoint

    init(_ a: Endpoint, _ b: Endpoint) {
        if FlowKey.precedes(a, b) { low = a; high = b } else { low = b; high = a }
    }

    private static func precedes(_ a: Endpoint, _ b: Endpoint) -> Bool {
        if a.port != b.port { return a.port < b.port }
        switch (a.address, b.address) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v6(let xh, let xl), .v6(let yh, let yl)): return xh != yh ? xh < yh : xl < yl
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        }
    }
}

struct PendingSegment {
    var sequence: UInt32
    var bytes: [UInt8]
    var time: Timestamp
}

/// One direction of a connection.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class HalfStream {
    @exclusivity(unchecked) var nextSequence: UInt32 = 0
    /// Where delivery started: the byte after the SYN, or the first byte seen mid-stream.
    @exclusivity(unchecked) var startSequence: UInt32?
    @exclusivity(unchecked) var isInitialised = false
    @exclusivity(unchecked) var hasDelivered = false
    @exclusivity(unchecked) var hasEnded = false
    /// Why this direction ended, for a handler made after it did.
    @exclusivity(unchecked) var endReason = StreamEndReason.fin
    @exclusivity(unchecked) var finSequence: UInt32?
    @exclusivity(unchecked) var highestAcknowledged: UInt32?
    /// When (in connection packets) the peer first acknowledged data beyond the current hole.
    @exclusivity(unchecked) var holeAcknowledgedAtPacket: Int?
    /// Out-of-order segments; `pending.first` is the first in the stream.
    @exclusivity(unchecked) private(set) var pending = PendingSegments()
    var pendingBytes: Int { pending.bytes }
    /// The last holes given up on (start, length), newest last: bytes arriving for them are late.
    @exclusivity(unchecked) private var gaps: [(start: UInt32, length: Int)] = []
    static let rememberedGaps = 4

    func noteGap(at start: UInt32, length: Int) {
        if gaps.count == Self.rememberedGaps { gaps.removeFirst() }
        gaps.append((start, length))
    }

    /// How many of the `count` bytes from `sequence` on fall in a remembered hole.
    func bytesInGaps(_ count: Int, at sequence: UInt32) -> Int {
        var inside = 0
        for gap in gaps {
            let from = TCPSequence.distance(from: gap.start, to: sequence)   // the bytes, relative to the hole
            inside += max(0, min(from + count, gap.length) - max(from, 0))
        }
        return min(inside, count)
    }

    /// When the oldest buffered segment arrived (capture time).
    var oldestPendingTime: Timestamp? {
        var oldest: Timestamp?
        for segment in pending.unordered where oldest == nil || segment.time < oldest! { oldest = segment.time }
        return oldest
    }

    /// Of the segments buffered before `time`, the sequence number of the last in the stream.
    func lastPendingSequence(arrivedBefore time: Timestamp) -> UInt32? {
        var last: UInt32?
        for segment in pending.unordered where segment.time < time {
            if let current = last, TCPSequence.distance(from: current, to: segment.sequence) <= 0 { continue }
            last = segment.sequence
        }
        return last
    }

    func insertPending(_ segment: PendingSegment) {
        pending.insert(segment, next: nextSequence)
    }

    func removeFirstPending() {
        pending.removeFirst(next: nextSequence)
    }

    func dropPending() {
        pending.removeAll()
    }
}

/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class Connection {
    let key: FlowKey
    @exclusivity(unchecked) var info: ConnectionInfo
    @exclusivity(unchecked) var handler: (any TCPStreamHandler)?
    let halves = [HalfStream(), HalfStream()]
    @exclusivity(unchecked) var lastSeen: Timestamp
    /// Neighbours in the assembler's `ConnectionActivity` list.
    @exclusivity(unchecked) var activityPrevious: Connection?
    @exclusivity(unchecked) var activityNext: Connection?
    @exclusivity(unchecked) var clientInitialSequence: UInt32?
    /// Packets seen on this connection.
    @exclusivity(unchecked) var packets = 0
    /// Buffered bytes plus a fixed cost per buffered segment, and the place in the assembler's
    /// heap ordered by it (-1: nothing buffered).
    @exclusivity(unchecked) var bufferCost = 0
    @exclusivity(unchecked) var bufferHeapIndex = -1
    /// No later than the arrival of the oldest buffered segment, and the place in the assembler's
    /// heap ordered by it (-1: nothing buffered).
    @exclusivity(unchecked) var oldestPendingTime = Timestamp.zero
    @exclusivity(unchecked) var holeHeapIndex = -1

    init(key: FlowKey, info: ConnectionInfo, time: Timestamp) {
        self.key = key
        self.info = info
        self.lastSeen = time
    }

    var bufferedBytes: Int { halves[0].pendingBytes + halves[1].pendingBytes }
    var bufferedSegments: Int { halves[0].pending.count + halves[1].pending.count }

    @inline(__always)
    func matches(_ source: Endpoint, _ destination: Endpoint) -> Bool {
        (source == info.client && destination == info.server) || (source == info.server && destination == info.client)
    }

    /// A SYN from the client with a new initial sequence number starts a new connection on the
    /// same addresses and ports.
    func isReused(bySYNFrom source: Endpoint, sequence: UInt32) -> Bool {
        guard source == info.client, halves[0].hasDelivered || halves[1].hasDelivered else { return false }
        if let isn = clientInitialSequence { return isn != sequence }
        // Picked up mid-stream: a SYN that precedes what the client has sent so far, by less
        // than a window, is this connection's own SYN arriving late in the capture.
        let client = halves[FlowDirection.clientToServer.rawValue]
        if let start = client.startSequence {
            let distance = TCPSequence.distance(from: sequence &+ 1, to: start)
            if distance >= 0 && distance < 1 << 20 { return false }
        }
        return true
    }
}

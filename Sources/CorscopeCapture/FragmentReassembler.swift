/// Bounds on IP fragment reassembly, so hostile or broken traffic cannot grow memory without limit.
public struct FragmentReassemblyLimits: Sendable, Equatable {
    /// Largest reassembled payload (bytes after the IP header) accepted; IP cannot express more
    /// than 65,535 bytes per datagram without jumbograms, which are never fragmented.
    public var maxDatagramSize: Int
    /// Datagrams in progress at once; a new one beyond this evicts the oldest.
    public var maxDatagramsInProgress: Int
    /// Fragments accepted for one datagram; more drops it (defends against 8-byte fragment floods).
    public var maxFragmentsPerDatagram: Int
    /// Capture-time seconds after its first fragment that an incomplete datagram is given up.
    public var timeoutSeconds: Int64

    public init(
        maxDatagramSize: Int = 65_535, maxDatagramsInProgress: Int = 256,
        maxFragmentsPerDatagram: Int = 256, timeoutSeconds: Int64 = 30
    ) {
        self.maxDatagramSize = maxDatagramSize
        self.maxDatagramsInProgress = maxDatagramsInProgress
        self.maxFragmentsPerDatagram = maxFragmentsPerDatagram
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Identifies the datagram a fragment belongs to (RFC 791 for IPv4, RFC 8200 for IPv6, where the
/// protocol is not part of the key and is stored as 0).
struct FragmentKey: Hashable {
    var source: IPAddress
    var destination: IPAddress
    var identification: UInt32
    var protocolNumber: UInt8
}

/// The pieces of one datagram received so far.
final class PartialDatagram {
    let firstSeenSeconds: Int64
    /// The payload as assembled so far; holes are zero until filled.
    var bytes: [UInt8] = []
    /// Byte ranges received, sorted, disjoint and never adjacent (merged on insert).
    var received: [Range<Int>] = []
    /// Payload length, known once the last fragment (more-fragments flag clear) arrived.
    var totalLength: Int?
    var fragmentCount = 0
    /// The protocol (IPv4) or first next-header value (IPv6) of the fragmentable part.
    var upperProtocol: UInt8?

    init(firstSeenSeconds: Int64) {
        self.firstSeenSeconds = firstSeenSeconds
    }

    var isComplete: Bool {
        guard let totalLength else { return false }
        return received.count == 1 && received[0] == 0..<totalLength
    }

    /// Records a received range, merging it with ranges it overlaps or touches.
    func markReceived(_ range: Range<Int>) {
        var merged = range
        var result: [Range<Int>] = []
        result.reserveCapacity(received.count + 1)
        var inserted = false
        for existing in received {
            if existing.upperBound < merged.lowerBound {
                result.append(existing)
            } else if merged.upperBound < existing.lowerBound {
                if !inserted { result.append(merged); inserted = true }
                result.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        if !inserted { result.append(merged) }
        received = result
    }
}

/// Reassembles fragmented IP datagrams. Overlapping fragments are accepted and the later bytes
/// win; a datagram whose fragments disagree about its length is dropped. Only the slow path
/// (fragments) allocates.
final class FragmentReassembler {
    enum Result {
        case incomplete
        case complete(PartialDatagram)
        case dropped
    }

    let limits: FragmentReassemblyLimits
    private var inProgress: [FragmentKey: PartialDatagram] = [:]
    /// Fragments thrown away so far.
    private(set) var droppedFragments = 0
    /// Capture second at which the next timeout sweep is due; `Int64.max` when nothing is pending,
    /// so the per-packet check is one comparison.
    private(set) var nextSweepSeconds = Int64.max

    init(limits: FragmentReassemblyLimits) {
        self.limits = limits
    }

    var datagramsInProgress: Int { inProgress.count }

    /// Adds one fragment's payload at byte `offset` of its datagram.
    func add(
        key: FragmentKey, offset: Int, payload: UnsafeRawBufferPointer, moreFragments: Bool,
        upperProtocol: UInt8, timeSeconds: Int64
    ) -> Result {
        let end = offset + payload.count
        guard end <= limits.maxDatagramSize else {
            drop(key, plus: 1)
            return .dropped
        }
        let datagram: PartialDatagram
        if let existing = inProgress[key] {
            datagram = existing
        } else {
            if inProgress.count >= limits.maxDatagramsInProgress { evictOldest() }
            datagram = PartialDatagram(firstSeenSeconds: timeSeconds)
            inProgress[key] = datagram
            let due = timeSeconds &+ limits.timeoutSeconds
            if due < nextSweepSeconds { nextSweepSeconds = due }
        }
        datagram.fragmentCount += 1
        guard datagram.fragmentCount <= limits.maxFragmentsPerDatagram else {
            drop(key, plus: 0)
            return .dropped
        }
        if moreFragments {
            if let total = datagram.totalLength, end > total {
                drop(key, plus: 0)
                return .dropped
            }
        } else {
            let lastEnd = datagram.received.last?.upperBound ?? 0
            if let total = datagram.totalLength, total != end {
                drop(key, plus: 0)
                return .dropped
            }
            if lastEnd > end {
                drop(key, plus: 0)
                return .dropped
            }
            datagram.totalLength = end
        }
        if offset == 0 { datagram.upperProtocol = upperProtocol }
        if datagram.bytes.count < end {
            datagram.bytes += [UInt8](repeating: 0, count: end - datagram.bytes.count)
        }
        if !payload.isEmpty {
            datagram.bytes.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[offset..<end]).copyMemory(from: payload)
            }
            datagram.markReceived(offset..<end)
        }
        guard datagram.isComplete else { return .incomplete }
        inProgress[key] = nil
        if inProgress.isEmpty { nextSweepSeconds = .max }
        return .complete(datagram)
    }

    /// Drops datagrams whose first fragment is older than the timeout at capture time `nowSeconds`.
    func expire(nowSeconds: Int64) {
        var earliestDue = Int64.max
        for (key, datagram) in inProgress {
            let due = datagram.firstSeenSeconds &+ limits.timeoutSeconds
            if due <= nowSeconds {
                drop(key, plus: 0)
            } else if due < earliestDue {
                earliestDue = due
            }
        }
        nextSweepSeconds = inProgress.isEmpty ? .max : earliestDue
    }

    /// Drops every incomplete datagram (end of capture).
    func dropAll() {
        for key in Array(inProgress.keys) { drop(key, plus: 0) }
        nextSweepSeconds = .max
    }

    private func evictOldest() {
        guard let oldest = inProgress.min(by: { $0.value.firstSeenSeconds < $1.value.firstSeenSeconds }) else { return }
        drop(oldest.key, plus: 0)
    }

    /// Forgets a datagram, counting its fragments plus `extra` that never made it in.
    private func drop(_ key: FragmentKey, plus extra: Int) {
        if let datagram = inProgress.removeValue(forKey: key) {
            droppedFragments += datagram.fragmentCount
        }
        droppedFragments += extra
        if inProgress.isEmpty { nextSweepSeconds = .max }
    }
}

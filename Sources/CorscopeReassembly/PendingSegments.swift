/// One direction's out-of-order segments: a binary min-heap ordered by position in the stream
/// (the distance from the next expected sequence number), then by arrival, so that of two copies
/// of the same bytes the first to arrive is delivered first. Insert and remove are O(log n).
///
/// Positions are compared relative to `next`, which only moves forward while segments wait and
/// never past one still buffered, so the order of the buffered segments never changes.
struct PendingSegments {
    private var heap: [Entry] = []
    private var arrivals = 0
    /// Payload bytes held.
    private(set) var bytes = 0

    private struct Entry {
        var segment: PendingSegment
        var arrival: Int
    }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The segment that comes first in the stream.
    var first: PendingSegment? { heap.first?.segment }
    /// Every buffered segment, in no particular order.
    var unordered: some Sequence<PendingSegment> { heap.lazy.map(\.segment) }

    mutating func insert(_ segment: PendingSegment, next: UInt32) {
        heap.append(Entry(segment: segment, arrival: arrivals))
        arrivals += 1
        bytes += segment.bytes.count
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent], next: next) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func removeFirst(next: UInt32) -> PendingSegment {
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        bytes -= first.segment.bytes.count
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, Self.precedes(heap[left], heap[smallest], next: next) { smallest = left }
            if right < heap.count, Self.precedes(heap[right], heap[smallest], next: next) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first.segment
    }

    mutating func removeAll() {
        heap = []
        bytes = 0
    }

    private static func precedes(_ a: Entry, _ b: Entry, next: UInt32) -> Bool {
        let x = TCPSequence.distance(from: next, to: a.segment.sequence)
        let y = TCPSequence.distance(from: next, to: b.segment.sequence)
        return x != y ? x < y : a.arrival < b.arrival
    }
}

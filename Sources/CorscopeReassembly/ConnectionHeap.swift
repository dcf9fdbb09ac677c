import CorscopeCapture

/// How a `ConnectionHeap` orders its connections and where each connection keeps its position in it.
protocol ConnectionHeapOrder {
    /// True when `a` belongs nearer the top than `b`.
    static func precedes(_ a: Connection, _ b: Connection) -> Bool
    /// The connection's index in the heap, -1 when it is not in it.
    static func index(of connection: Connection) -> Int
    static func setIndex(_ index: Int, of connection: Connection)
}

/// A binary heap of connections that knows where each one is (the index is stored in the
/// connection), so that a connection whose key changed is moved, and one that closed is removed,
/// in O(log n) without a search.
struct ConnectionHeap<Order: ConnectionHeapOrder> {
    private var items: [Connection] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    /// The connection that precedes every other.
    var top: Connection? { items.first }

    func contains(_ connection: Connection) -> Bool { Order.index(of: connection) >= 0 }

    /// Inserts `connection`, or moves it to where its (changed) key puts it.
    mutating func update(_ connection: Connection) {
        let index = Order.index(of: connection)
        if index < 0 {
            items.append(connection)
            Order.setIndex(items.count - 1, of: connection)
            siftUp(items.count - 1)
        } else if !siftUp(index) {
            siftDown(index)
        }
    }

    mutating func remove(_ connection: Connection) {
        let index = Order.index(of: connection)
        guard index >= 0 else { return }
        let last = items.count - 1
        if index != last {
            items.swapAt(index, last)
            Order.setIndex(index, of: items[index])
        }
        items.removeLast()
        Order.setIndex(-1, of: connection)
        if index < items.count, !siftUp(index) { siftDown(index) }
    }

    mutating func removeAll() {
        for connection in items { Order.setIndex(-1, of: connection) }
        items = []
    }

    /// Moves the item at `index` up while it precedes its parent; true when it moved.
    @discardableResult
    private mutating func siftUp(_ index: Int) -> Bool {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard Order.precedes(items[child], items[parent]) else { break }
            swap(child, parent)
            child = parent
        }
        return child != index
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < items.count, Order.precedes(items[left], items[first]) { first = left }
            if right < items.count, Order.precedes(items[right], items[first]) { first = right }
            if first == parent { return }
            swap(parent, first)
            parent = first
        }
    }

    private mutating func swap(_ i: Int, _ j: Int) {
        items.swapAt(i, j)
        Order.setIndex(i, of: items[i])
        Order.setIndex(j, of: items[j])
    }
}

/// The connection whose out-of-order buffer costs the most first (bytes, plus a fixed cost per
/// segment), the lower id on a tie: the one a total buffer cap forces to skip a hole.
enum LargestBufferFirst: ConnectionHeapOrder {
    static func precedes(_ a: Connection, _ b: Connection) -> Bool {
        a.bufferCost != b.bufferCost ? a.bufferCost > b.bufferCost : a.info.id < b.info.id
    }
    static func index(of connection: Connection) -> Int { connection.bufferHeapIndex }
    static func setIndex(_ index: Int, of connection: Connection) { connection.bufferHeapIndex = index }
}

/// The connection whose oldest out-of-order segment arrived first (capture time), the lower id on
/// a tie: where the hole timeout looks, instead of at every connection.
enum OldestPendingFirst: ConnectionHeapOrder {
    static func precedes(_ a: Connection, _ b: Connection) -> Bool {
        a.oldestPendingTime != b.oldestPendingTime ? a.oldestPendingTime < b.oldestPendingTime : a.info.id < b.info.id
    }
    static func index(of connection: Connection) -> Int { connection.holeHeapIndex }
    static func setIndex(_ index: Int, of connection: Connection) { connection.holeHeapIndex = index }
}

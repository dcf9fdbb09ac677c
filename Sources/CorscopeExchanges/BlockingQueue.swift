import Foundation

/// A bounded first-in first-out queue between threads: `put` waits while it is full, `take`
/// waits while it is empty. The one queue the pipeline's threads hand work through.
final class BlockingQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    func put(_ item: Element) {
        condition.lock()
        while items.count - head >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    /// Adds `item` if there is room, without waiting; false (and `item` dropped) when full.
    @discardableResult
    func offer(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard items.count - head < capacity else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The first element if there is one, without waiting.
    func takeIfAny() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        guard items.count > head else { return nil }
        return dequeue()
    }

    func take() -> Element {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head { condition.wait() }
        return dequeue()
    }

    /// The first element, the lock held and the queue not empty; waiters are woken.
    private func dequeue() -> Element {
        let item = items[head].take()!
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        condition.broadcast()
        return item
    }
}

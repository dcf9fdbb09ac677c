import CorscopeHTTP
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension ExchangeSource {
    /// Reads the source on a second thread and hands its exchanges, in order and in batches,
    /// to `consume` on the calling thread: decoding, reassembly and parsing run on one core while
    /// judging and reporting run on the other. The queue between them is bounded, so memory
    /// stays flat however fast either side is. Spent batches go back to the reading thread,
    /// which frees their exchanges and refills the arrays: memory is released by the thread
    /// that allocated it (cheap for malloc), not by the busier consumer. Batches are small and
    /// few (256 exchanges in flight): an exchange is judged while its bytes are still in the
    /// caches the reader filled, which measured faster than deeper queues.
    public func readConcurrently(batchSize: Int = 32, consume: (HTTPExchange) -> Void) throws -> Outcome {
        let handoff = ExchangeHandoff(capacity: 8)
        let reader = UncheckedSendable(self)
        let thread = Thread {
            nameThisThread("corscope-read")
            var batch: [HTTPExchange] = []
            batch.reserveCapacity(batchSize)
            do {
                let outcome = try reader.value.read { exchange in
                    batch.append(exchange)
                    if batch.count == batchSize {
                        handoff.put(&batch)
                        batch.removeAll(keepingCapacity: true)
                        batch.reserveCapacity(batchSize)
                    }
                }
                if !batch.isEmpty { handoff.put(&batch) }
                handoff.finish(.success(outcome))
            } catch {
                if !batch.isEmpty { handoff.put(&batch) }
                handoff.finish(.failure(error))
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
        var spent: [HTTPExchange] = []
        while let batch = handoff.take(recycling: &spent) {
            for exchange in batch { consume(exchange) }
            spent = batch
        }
        return try handoff.result().get()
    }
}

/// Carries a value that is used by one thread at a time across a thread boundary.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Exchange batches from one producer to one consumer, through `BlockingQueue`s: batches one
/// way, then the end with the producer's outcome; spent batches back, for the producer to free
/// and refill.
final class ExchangeHandoff: @unchecked Sendable {
    private enum Item {
        case batch([HTTPExchange])
        case end(Result<ExchangeSource.Outcome, any Error>)
    }

    private let items: BlockingQueue<Item>
    /// Batches the consumer is done with. Two parked are enough to keep the producer supplied;
    /// more would only hold exchanges alive after a burst.
    private let spent = BlockingQueue<[HTTPExchange]>(capacity: 2)
    private let outcome = BlockingQueue<Result<ExchangeSource.Outcome, any Error>>(capacity: 1)
    private let finishedOnce = NSLock()
    private var isFinished = false
    private var consumerSawEnd = false

    init(capacity: Int) { items = BlockingQueue(capacity: capacity + 1) }

    /// Queues `batch` and hands back a spent one in its place (or an empty array); the caller
    /// empties it on its own thread.
    func put(_ batch: inout [HTTPExchange]) {
        items.put(.batch(batch))
        batch = spent.takeIfAny() ?? []
    }

    /// The producer is done (once; later calls are ignored).
    func finish(_ result: Result<ExchangeSource.Outcome, any Error>) {
        finishedOnce.lock()
        defer { finishedOnce.unlock() }
        guard !isFinished else { return }
        isFinished = true
        items.put(.end(result))
    }

    /// The next batch, or nil once the producer finished and everything was taken. `spent`, the
    /// previous batch, is moved to the producer's side.
    func take(recycling spent: inout [HTTPExchange]) -> [HTTPExchange]? {
        if spent.capacity > 0 {
            self.spent.offer(spent)
            spent = []
        }
        guard !consumerSawEnd else { return nil }
        switch items.take() {
        case .batch(let batch):
            return batch
        case .end(let result):
            consumerSawEnd = true
            outcome.put(result)
            return nil
        }
    }

    /// The producer's outcome, once the consumer has taken everything before it.
    func result() -> Result<ExchangeSource.Outcome, any Error> {
        let result = outcome.take()
        outcome.put(result)
        return result
    }
}

/// Runs `consume` on a thread of its own for exchanges produced elsewhere (a live capture):
/// the producing thread only appends to a batch, so it gets back to the packets sooner.
///
/// Exchanges are consumed in submission order. The queue is bounded: a producer that outruns
/// the consumer waits, and on a live interface the kernel then counts drops, so nothing is
/// lost without being counted. State the consumer mutates may be read from other threads
/// only inside `whilePaused`, which runs between two batches.
public final class ExchangeConsumerThread: @unchecked Sendable {
    private let handoff: ExchangeHandoff
    private let batchSize: Int
    private var batch: [HTTPExchange] = []
    private let consumerLock = NSLock()
    private let ended = DispatchSemaphore(value: 0)
    private var isFinished = false

    public init(batchSize: Int = 64, queuedBatches: Int = 256, consume: @escaping (HTTPExchange) -> Void) {
        self.batchSize = batchSize
        handoff = ExchangeHandoff(capacity: queuedBatches)
        batch.reserveCapacity(batchSize)
        let handoff = self.handoff
        let consumerLock = self.consumerLock
        let ended = self.ended
        let consumer = UncheckedSendable(consume)
        let thread = Thread {
            nameThisThread("corscope-judge")
            var spent: [HTTPExchange] = []
            while let batch = handoff.take(recycling: &spent) {
                consumerLock.lock()
                for exchange in batch { consumer.value(exchange) }
                consumerLock.unlock()
                spent = batch
            }
            ended.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues one exchange (handed over when a batch is full, or at `handOver()`).
    public func submit(_ exchange: HTTPExchange) {
        batch.append(exchange)
        if batch.count >= batchSize { handOver() }
    }

    /// Hands the partial batch over now (on a timer, so findings are not late).
    public func handOver() {
        guard !batch.isEmpty else { return }
        handoff.put(&batch)
        batch.removeAll(keepingCapacity: true)
        batch.reserveCapacity(batchSize)
    }

    /// Runs `body` while the consumer is between batches (to read or flush what it builds).
    public func whilePaused<T>(_ body: () throws -> T) rethrows -> T {
        consumerLock.lock()
        defer { consumerLock.unlock() }
        return try body()
    }

    /// Hands over what is left and waits until every exchange was consumed; the thread ends.
    public func finish() {
        guard !isFinished else { return }
        isFinished = true
        handOver()
        handoff.finish(.success(.complete))
        ended.wait()
    }

    deinit {
        // Never finished (an error path): let the thread end instead of waiting forever.
        if !isFinished { handoff.finish(.success(.complete)) }
    }
}

/// Runs `consume` on a thread of its own for items the calling thread submits, in order and in
/// batches (a third stage of a pipeline: `exchanges` renders the judged exchanges there while
/// another thread judges and a third reads). Spent batches go back to the submitting thread for
/// reuse. `finish` hands over the rest and waits until everything was consumed.
public final class BatchConsumer<Item>: @unchecked Sendable {
    private let batches: BlockingQueue<[Item]?>
    private let spent = BlockingQueue<[Item]>(capacity: 2)
    private let ended = DispatchSemaphore(value: 0)
    private let batchSize: Int
    private var batch: [Item] = []
    private var isFinished = false

    public init(name: String, batchSize: Int = 64, queuedBatches: Int = 8, consume: @escaping (Item) -> Void) {
        self.batchSize = batchSize
        batches = BlockingQueue(capacity: queuedBatches + 1)
        batch.reserveCapacity(batchSize)
        let batches = self.batches, spent = self.spent, ended = self.ended
        let consumer = UncheckedSendable(consume)
        let thread = Thread {
            nameThisThread(name)
            while let batch = batches.take() {
                for item in batch { consumer.value(item) }
                var emptied = batch
                emptied.removeAll(keepingCapacity: true)
                spent.offer(emptied)
            }
            ended.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    public func submit(_ item: Item) {
        batch.append(item)
        guard batch.count >= batchSize else { return }
        batches.put(batch)
        batch = spent.takeIfAny() ?? []
        if batch.capacity < batchSize { batch.reserveCapacity(batchSize) }
    }

    /// Hands over what is left and waits until every item was consumed; the thread ends.
    public func finish() {
        guard !isFinished else { return }
        isFinished = true
        if !batch.isEmpty { batches.put(batch) }
        batch = []
        batches.put(nil)
        ended.wait()
    }

    deinit {
        // Never finished (an error path): let the thread end instead of waiting forever.
        if !isFinished { batches.put(nil) }
    }
}

/// Names the calling thread as `top` and `perf` show it (pthread_setname_np is not visible to
/// Swift without _GNU_SOURCE; the kernel's own file does the same).
func nameThisThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    _ = name.utf8CString.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, min($0.count - 1, 15)) }
}

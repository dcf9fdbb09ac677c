/// One exchange being assembled: a request (in progress or done) waiting for its response.
struct PendingExchange {
    var methodKind: RequestMethodKind
    var request: HTTPRequest?
    /// The request message is complete (or there is none to wait for).
    var requestDone: Bool
    var interimResponses: [HTTPResponseHead] = []
    var response: HTTPResponse?
    var anomalies: [HTTPAnomaly] = []
    /// Counted against the pending-request budget (a complete request), with this many bytes.
    var charged = false
    var chargedBytes = 0

    var isReadyToEmit: Bool { response != nil && requestDone }
}

/// The per-connection FIFO that pairs responses with requests. HTTP/1 answers requests in
/// order, so the n-th final response belongs to the n-th request head (pipelining included).
struct RequestQueue {
    private var items: [PendingExchange] = []
    /// Index of the first item not yet emitted.
    private var front = 0
    /// Index of the first item whose request has not completed.
    private var nextRequestToComplete = 0
    /// Index of the first item without a final response.
    private var nextToAnswer = 0
    /// Complete requests still queued (answered or not) and their estimated bytes: what this
    /// connection holds of the pending-request budget.
    private(set) var chargedCount = 0
    private(set) var chargedBytes = 0
    /// Requests completed so far; the n-th completed request has serial n - 1. Complete
    /// requests leave the queue in the order they completed, so the queued ones are the last
    /// `chargedCount` serials.
    private(set) var completedSerials = 0

    /// Whether the complete request with this serial is still queued.
    func holdsCompleted(serial: Int) -> Bool {
        serial < completedSerials && serial >= completedSerials - chargedCount
    }

    /// Whether the front exchange is a complete request (the one a budget eviction removes).
    var frontIsCompleteRequest: Bool { front < items.count && items[front].charged }

    private mutating func release(_ item: PendingExchange) {
        if item.charged {
            chargedCount -= 1
            chargedBytes -= item.chargedBytes
        }
    }

    var isEmpty: Bool { front == items.count }
    var pendingCount: Int { items.count - front }
    var hasUnansweredRequest: Bool { nextToAnswer < items.count }

    mutating func appendRequestHead(_ kind: RequestMethodKind) {
        items.append(PendingExchange(methodKind: kind, request: nil, requestDone: false))
    }

    /// The request the next final response answers.
    var nextUnanswered: RequestMethodKind? {
        nextToAnswer < items.count ? items[nextToAnswer].methodKind : nil
    }

    /// Fills the oldest request still in progress. Returns false when no head was announced.
    /// Whether a request head was announced whose request is not complete yet (what
    /// `completeRequest` needs).
    mutating func awaitsRequest() -> Bool {
        while nextRequestToComplete < items.count && items[nextRequestToComplete].requestDone { nextRequestToComplete += 1 }
        return nextRequestToComplete < items.count
    }

    mutating func completeRequest(_ request: consuming HTTPRequest, anomalies: [HTTPAnomaly]) -> Bool {
        guard awaitsRequest() else { return false }
        let bytes = Self.estimatedBytes(of: request)
        items[nextRequestToComplete].charged = true
        items[nextRequestToComplete].chargedBytes = bytes
        chargedCount += 1
        chargedBytes += bytes
        completedSerials += 1
        items[nextRequestToComplete].request = request
        items[nextRequestToComplete].requestDone = true
        for anomaly in anomalies { items[nextRequestToComplete].anomalies.appendOnce(anomaly) }
        nextRequestToComplete += 1
        return true
    }

    /// Attaches a final response to the oldest unanswered request, or to a new request-less
    /// exchange when every captured request is answered. Returns the exchange's position.
    @discardableResult
    mutating func answer(
        with response: consuming HTTPResponse, interim: [HTTPResponseHead], anomalies: [HTTPAnomaly], extra: [HTTPAnomaly]
    ) -> Int {
        let isOrphan = nextToAnswer == items.count
        if isOrphan {
            items.append(PendingExchange(methodKind: RequestMethodKind(), request: nil, requestDone: true))
        }
        let index = nextToAnswer
        items[index].response = response
        items[index].interimResponses += interim
        for anomaly in anomalies { items[index].anomalies.appendOnce(anomaly) }
        if isOrphan { items[index].anomalies.appendOnce(.responseWithoutRequest) }
        for anomaly in extra { items[index].anomalies.appendOnce(anomaly) }
        nextToAnswer += 1
        return index
    }

    /// Removes and returns the front exchange when it is complete (emission stays in order).
    mutating func popReadyFront() -> PendingExchange? {
        guard front < items.count, items[front].isReadyToEmit else { return nil }
        // Move the exchange out so the queue drops its references now.
        var ready = PendingExchange(methodKind: RequestMethodKind(), request: nil, requestDone: true)
        swap(&ready, &items[front])
        release(ready)
        front += 1
        compactIfWorthwhile()
        return ready
    }

    /// Fast path for the common case: the next response answers the front exchange and its
    /// request is complete, so the exchange can be emitted at once without being stored.
    /// Moves out only the parts an emitted exchange needs.
    mutating func takeFrontToAnswer() -> (request: HTTPRequest?, interim: [HTTPResponseHead], anomalies: [HTTPAnomaly])? {
        guard front < items.count, nextToAnswer == front, items[front].requestDone else { return nil }
        release(items[front])
        let request = items[front].request.take()
        var interim: [HTTPResponseHead] = []
        var anomalies: [HTTPAnomaly] = []
        swap(&interim, &items[front].interimResponses)
        swap(&anomalies, &items[front].anomalies)
        front += 1
        nextToAnswer = front
        compactIfWorthwhile()
        return (request, interim, anomalies)
    }

    /// Removes and returns everything left (the connection is over).
    mutating func popAll() -> [PendingExchange] {
        let rest = Array(items[front...])
        items.removeAll()
        chargedCount = 0
        chargedBytes = 0
        front = 0
        nextRequestToComplete = 0
        nextToAnswer = 0
        return rest
    }

    /// Gives up on the oldest exchange (too many unanswered requests).
    mutating func popOldest() -> PendingExchange? {
        guard front < items.count else { return nil }
        var oldest = PendingExchange(methodKind: RequestMethodKind(), request: nil, requestDone: true)
        swap(&oldest, &items[front])
        release(oldest)
        front += 1
        nextToAnswer = max(nextToAnswer, front)
        nextRequestToComplete = max(nextRequestToComplete, front)
        compactIfWorthwhile()
        return oldest
    }

    /// What a queued complete request costs the budget: its head, trailers and kept body, plus
    /// a fixed overhead for the exchange's bookkeeping.
    static func estimatedBytes(of request: borrowing HTTPRequest) -> Int {
        let head = request.head
        return 256 + head.method.utf8.count + head.target.utf8.count
            + head.headers.storage.count + head.headers.count * 16
            + request.trailers.storage.count + request.trailers.count * 16
            + request.body.kept.count
    }

    /// Drops emitted exchanges from the front. Storage left from a burst is given back too: an
    /// exchange takes a few hundred bytes even when moved out, so 10,000 connections that each
    /// once held 1,000 waiting requests would otherwise keep gigabytes.
    private mutating func compactIfWorthwhile() {
        if front == items.count {
            items.removeAll(keepingCapacity: items.capacity <= 16)
            nextRequestToComplete = 0
            nextToAnswer = 0
            front = 0
        } else if front >= 64 && front * 2 >= items.count {
            if items.capacity > 4 * (items.count - front) + 64 {
                items = Array(items[front...])
            } else {
                items.removeFirst(front)
            }
            nextRequestToComplete -= front
            nextToAnswer -= front
            front = 0
        }
    }
}

/// The pending-request budget shared by every `HTTP1ConnectionAnalyzer` of one pipeline: how
/// many complete requests wait for a response over all connections, and their estimated bytes.
/// When either passes its cap (`HTTPConfiguration.maxPendingRequestsTotal`,
/// `maxPendingRequestBytesTotal`), the oldest waiting request over all connections is reported
/// without a response (`pending_request_evicted`). The oldest rather than the newcomer's: a
/// request long unanswered is the likeliest never to be answered, and a busy connection then
/// cannot make a well-behaved one lose the request it just sent.
///
/// Requests are remembered in completion order in one FIFO; entries whose request has since
/// left its queue are skipped when met and dropped by an amortised compaction, so the FIFO stays
/// within a constant factor of the live count. Not thread-safe: one pipeline, one thread.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class PendingRequestBudget {
    public let maxCount: Int
    public let maxBytes: Int
    /// Complete requests waiting now, over all connections, and their estimated bytes.
    @exclusivity(unchecked) public private(set) var count = 0
    @exclusivity(unchecked) public private(set) var bytes = 0
    /// The most requests waiting at once.
    @exclusivity(unchecked) public private(set) var peakCount = 0
    /// Requests evicted so far.
    @exclusivity(unchecked) public private(set) var evicted = 0

    @exclusivity(unchecked) private var fifo: [(owner: PendingRequestOwner, serial: Int)] = []
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private var enforcing = false

    public init(maxCount: Int = HTTPConfiguration().maxPendingRequestsTotal,
                maxBytes: Int = HTTPConfiguration().maxPendingRequestBytesTotal) {
        self.maxCount = max(1, maxCount)
        self.maxBytes = max(0, maxBytes)
    }

    public convenience init(configuration: HTTPConfiguration) {
        self.init(maxCount: configuration.maxPendingRequestsTotal, maxBytes: configuration.maxPendingRequestBytesTotal)
    }

    var isOver: Bool { count > maxCount || bytes > maxBytes }

    func remember(_ owner: PendingRequestOwner, serial: Int) {
        fifo.append((owner, serial))
        if fifo.count - head > 2 * count + 1024 { compact() }
    }

    func adjust(count deltaCount: Int, bytes deltaBytes: Int) {
        count += deltaCount
        bytes += deltaBytes
        if count > peakCount { peakCount = count }
    }

    /// Evicts the oldest waiting requests until the budget holds again (or none is left to evict).
    func enforce() {
        guard !enforcing else { return }
        enforcing = true
        defer { enforcing = false }
        while isOver && head < fifo.count {
            let (owner, serial) = fifo[head]
            head += 1
            if let analyzer = owner.analyzer, analyzer.evictPendingRequest(serial: serial) { evicted += 1 }
        }
        if head == fifo.count {
            fifo.removeAll(keepingCapacity: fifo.count <= 4096)
            head = 0
        } else if head >= 1024 && head * 2 >= fifo.count {
            fifo.removeFirst(head)
            head = 0
        }
    }

    private func compact() {
        fifo = fifo[head...].filter { $0.owner.analyzer?.holdsPendingRequest(serial: $0.serial) ?? false }
        head = 0
    }
}

/// A connection's handle in the budget's FIFO: lets a closed connection's analyzer go.
final class PendingRequestOwner {
    weak var analyzer: HTTP1ConnectionAnalyzer?
    init(_ analyzer: HTTP1ConnectionAnalyzer) { self.analyzer = analyzer }
}

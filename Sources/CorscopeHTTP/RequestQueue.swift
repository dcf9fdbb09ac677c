/// One exchange being assembled: a request (in progress or done) waiting for its response.
struct PendingExchange {
    var methodKind: RequestMethodKind
    var request: HTTPRequest?
    /// The request message is complete (or there is none to wait for).
    var requestDone: Bool
    var interimResponses: [HTTPResponseHead] = []
    var response: HTTPResponse?
    var anomalies: [HTTPAnomaly] = []

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
    mutating func completeRequest(_ request: consuming HTTPRequest, anomalies: [HTTPAnomaly]) -> Bool {
        while nextRequestToComplete < items.count && items[nextRequestToComplete].requestDone { nextRequestToComplete += 1 }
        guard nextRequestToComplete < items.count else { return false }
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
        front += 1
        compactIfWorthwhile()
        return ready
    }

    /// Fast path for the common case: the next response answers the front exchange and its
    /// request is complete, so the exchange can be emitted at once without being stored.
    /// Moves out only the parts an emitted exchange needs.
    mutating func takeFrontToAnswer() -> (request: HTTPRequest?, interim: [HTTPResponseHead], anomalies: [HTTPAnomaly])? {
        guard front < items.count, nextToAnswer == front, items[front].requestDone else { return nil }
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
        front = 0
        nextRequestToComplete = 0
        nextToAnswer = 0
        return rest
    }

    /// Gives up on the oldest exchange (too many unanswered requests).
    mutating func popOldest() -> PendingExchange? {
        guard front < items.count else { return nil }
        let oldest = items[front]
        front += 1
        nextToAnswer = max(nextToAnswer, front)
        nextRequestToComplete = max(nextRequestToComplete, front)
        compactIfWorthwhile()
        return oldest
    }

    private mutating func compactIfWorthwhile() {
        if front == items.count {
            items.removeAll(keepingCapacity: true)
            nextRequestToComplete = 0
            nextToAnswer = 0
            front = 0
        } else if front >= 64 && front * 2 >= items.count {
            items.removeFirst(front)
            nextRequestToComplete -= front
            nextToAnswer -= front
            front = 0
        }
    }
}

import CorscopeCapture
import CorscopeHTTP

/// How a cross-origin request relates to the CORS preflights seen before it.
public enum PreflightLink: Sendable {
    /// The exchange is itself a preflight.
    case isPreflight
    /// The preflight sent for this request, just before it.
    case paired(HTTPExchange)
    /// No preflight right before it, but an earlier matching one whose answer a browser may
    /// still have cached; `age` is seconds from that preflight's response to this request.
    case cachedCandidate(HTTPExchange, age: Double)
    /// No matching preflight on the wire.
    case none
}

/// Pairs each CORS preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) with
/// the request it guarded.
///
/// A browser sends the request only after the preflight's response, from the same client, for
/// the same origin and URL, with the method the preflight named and the headers it listed. The
/// pairer keeps recent preflights (bounded in time and count), so it runs on a stream of
/// exchanges in capture order; memory does not grow with the capture.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
public final class PreflightPairer {
    public struct Configuration: Sendable {
        /// Longest time between a preflight's response and its request for the two to be paired.
        public var pairingWindow: Double = 30
        /// How long an earlier preflight is remembered as a cache candidate (Chromium caps
        /// Access-Control-Max-Age at two hours).
        public var cacheHorizon: Double = 7200
        /// Preflights remembered at most, oldest forgotten first.
        public var maxRemembered: Int = 4096
        public init() {}
    }

    private struct Remembered {
        var exchange: HTTPExchange
        var digest: UInt64
        var method: String
        var requestHeaders: [String]
        var answeredAt: Timestamp
        var serial: Int
        var consumed = false
    }

    /// Same client machine (connections differ: Chromium sends preflights without credentials,
    /// often on another socket), same origin, same URL.
    struct Key: Hashable {
        var client: IPAddress
        var server: Endpoint
        var origin: String
        var url: String
    }

    public let configuration: Configuration
    @exclusivity(unchecked) private var remembered: [Key: [Remembered]] = [:]
    /// How many remembered preflights have each key digest: most requests have no preflight
    /// on record, and the digest, hashed from the raw bytes, says so without building a key.
    @exclusivity(unchecked) private var digests: [UInt64: Int] = [:]
    /// Remembered preflights in arrival order, for forgetting the oldest in O(1).
    @exclusivity(unchecked) private var order: [(key: Key, serial: Int)] = []
    @exclusivity(unchecked) private var orderStart = 0
    @exclusivity(unchecked) private var nextSerial = 0
    @exclusivity(unchecked) private var count = 0
    /// Entries of the arrival list (the tests check it stays as short as `remembered`).
    var arrivalListCount: Int { order.count - orderStart }

    /// Preflights forgotten (over `maxRemembered`) before any request followed them.
    @exclusivity(unchecked) public private(set) var forgottenUnanswered = 0

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Whether an exchange is a CORS preflight request.
    public static func isPreflight(_ exchange: HTTPExchange) -> Bool {
        guard let head = exchange.requestHead, head.method == "OPTIONS" else { return false }
        return head.headers.contains(named: "Origin") && head.headers.contains(named: "Access-Control-Request-Method")
    }

    /// Looks an exchange up against the preflights seen so far, and remembers it when it is one.
    public func link(_ exchange: HTTPExchange) -> PreflightLink {
        let isPreflight = Self.isPreflight(exchange)
        guard let head = exchange.requestHead, let firstByte = exchange.requestFirstByte, let digest = Self.digest(of: exchange),
              isPreflight || digests[digest] != nil, let key = Self.key(for: exchange) else { return .none }
        if isPreflight {
            remember(exchange, key: key, digest: digest)
            return .isPreflight
        }
        // Read without copying: only the one candidate paired is changed, in place.
        guard let candidates = remembered[key] else { return .none }
        let method = head.method
        // A HAR dates a request from when the page made it, which is before its preflight was
        // answered (Chrome's timings put the preflight inside the request's "blocked" time): there
        // the request need only start after its preflight did.
        let fromHAR = exchange.isFromHAR
        var cached: (Int, Double)?
        for index in candidates.indices.reversed() {
            let candidate = candidates[index]
            let age = firstByte.seconds(since: fromHAR ? candidate.exchange.startTime : candidate.answeredAt)
            guard age >= 0, candidate.method == method,
                  candidate.requestHeaders.allSatisfy({ head.headers.contains(named: $0) }) else { continue }
            if !candidate.consumed && age <= configuration.pairingWindow {
                remembered[key]?[index].consumed = true
                return .paired(candidate.exchange)
            }
            if cached == nil && age <= configuration.cacheHorizon { cached = (index, age) }
        }
        if let (index, age) = cached { return .cachedCandidate(candidates[index].exchange, age: age) }
        return .none
    }

    /// Preflights older than the pairing window at capture time `now` that no request followed:
    /// a failed preflight (the browser never sent the request), or a request not captured.
    public func expired(at now: Timestamp) -> [HTTPExchange] {
        let cutoff = now.adding(seconds: -configuration.pairingWindow)
        let forgetBefore = now.adding(seconds: -configuration.cacheHorizon)
        var expired: [HTTPExchange] = []
        for key in Array(remembered.keys) {
            guard var entries = remembered[key] else { continue }
            for index in entries.indices where !entries[index].consumed && entries[index].answeredAt < cutoff {
                entries[index].consumed = true
                expired.append(entries[index].exchange)
            }
            for entry in entries where entry.answeredAt < forgetBefore { forgetDigest(entry.digest) }
            entries.removeAll { $0.answeredAt < forgetBefore }
            count -= (remembered[key]?.count ?? 0) - entries.count
            remembered[key] = entries.isEmpty ? nil : entries
        }
        dropForgottenFromOrder()
        return expired.sorted { $0.connection.id != $1.connection.id ? $0.connection.id < $1.connection.id : $0.index < $1.index }
    }

    /// Every preflight not followed by its request (end of the capture).
    public func drain() -> [HTTPExchange] {
        var all: [HTTPExchange] = []
        for entries in remembered.values {
            all += entries.filter { !$0.consumed }.map(\.exchange)
        }
        remembered.removeAll()
        digests.removeAll()
        order.removeAll()
        orderStart = 0
        count = 0
        return all.sorted { $0.connection.id != $1.connection.id ? $0.connection.id < $1.connection.id : $0.index < $1.index }
    }

    private func remember(_ exchange: HTTPExchange, key: Key, digest: UInt64) {
        guard let head = exchange.requestHead else { return }
        let method = head.headers.first(named: "Access-Control-Request-Method") ?? ""
        let headers = head.headers.values(named: "Access-Control-Request-Headers")
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: " \t").lowercased() }
            .filter { !$0.isEmpty }
        let answeredAt = exchange.responseLastByte ?? exchange.requestLastByte ?? exchange.connection.firstSeen
        // Bodies are not needed to pair or to rebuild a cache entry; don't keep them alive.
        var kept = exchange
        if !(kept.request?.body.kept.isEmpty ?? true) { kept.request?.body.kept = [] }
        if !(kept.response?.body.kept.isEmpty ?? true) { kept.response?.body.kept = [] }
        remembered[key, default: []].append(Remembered(exchange: kept, digest: digest, method: method,
                                                       requestHeaders: headers, answeredAt: answeredAt, serial: nextSerial))
        digests[digest, default: 0] += 1
        order.append((key, nextSerial))
        nextSerial += 1
        count += 1
        while count > configuration.maxRemembered { forgetOldest() }
    }

    private func forgetOldest() {
        while orderStart < order.count {
            let (key, serial) = order[orderStart]
            orderStart += 1
            guard var entries = remembered[key], let index = entries.firstIndex(where: { $0.serial == serial }) else {
                continue  // already expired
            }
            let oldest = entries.remove(at: index)
            forgetDigest(oldest.digest)
            if !oldest.consumed { forgottenUnanswered += 1 }
            remembered[key] = entries.isEmpty ? nil : entries
            count -= 1
            break
        }
        if orderStart > 4096 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// The arrival list keeps only what is still remembered: entries forgotten by age leave it
    /// from the front (the oldest arrive first and age out first), so it never outgrows
    /// `remembered` by more than the few that aged out of order.
    private func dropForgottenFromOrder() {
        while orderStart < order.count {
            let (key, serial) = order[orderStart]
            if remembered[key]?.contains(where: { $0.serial == serial }) == true { break }
            orderStart += 1
        }
        if orderStart == order.count {
            order.removeAll(keepingCapacity: true)
            orderStart = 0
        } else if orderStart > 4096 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func forgetDigest(_ digest: UInt64) {
        if let left = digests[digest], left > 1 { digests[digest] = left - 1 } else { digests[digest] = nil }
    }

    /// A hash of what `key(for:)` compares (client address, server, Origin, lower-cased host and
    /// target), read from the raw header bytes; nil when the request has no Origin.
    static func digest(of exchange: HTTPExchange) -> UInt64? {
        guard let head = exchange.requestHead, let originIndex = head.headers.firstIndex(named: "Origin") else { return nil }
        let connection = exchange.connection
        var hasher = FNV1a()
        hasher.add(connection.client.address)
        hasher.add(connection.server.address)
        hasher.add(Int(connection.server.port))
        let fields = head.headers
        var target = head.target
        let isOriginForm = target.utf8.first == UInt8(ascii: "/")
        fields.storage.withUnsafeBufferPointer { storage in
            let origin = fields.spans[originIndex]
            for offset in Int(origin.valueStart)..<Int(origin.valueEnd) { hasher.add(storage[offset]) }
            hasher.add(0)
            guard isOriginForm else { return }
            if let hostIndex = fields.firstIndex(named: "Host") {
                let host = fields.spans[hostIndex]
                for offset in Int(host.valueStart)..<Int(host.valueEnd) { hasher.add(HTTPText.lowercased(storage[offset])) }
            } else {
                for byte in connection.server.description.lowercased().utf8 { hasher.add(byte) }
            }
        }
        target.withUTF8 { bytes in for byte in bytes { hasher.add(byte) } }
        return hasher.value
    }

    static func key(for exchange: HTTPExchange) -> Key? {
        guard let head = exchange.requestHead, let origin = head.headers.first(named: "Origin") else { return nil }
        // The URL with its scheme: an http:// and an https:// request to one host are not the same.
        // Scheme and host compare case-insensitively; the path and query as sent.
        guard let sent = exchange.requestURL else { return nil }
        let schemeAndHost = HTTPURL.origin(of: sent) ?? ""
        let url = schemeAndHost + sent.dropFirst(schemeAndHost.count)
        return Key(client: exchange.connection.client.address, server: exchange.connection.server,
                   origin: origin, url: url)
    }
}

/// FNV-1a over bytes: a fixed function, unlike `Hasher`, and cheap for short keys.
struct FNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ byte: UInt8) { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }

    mutating func add(_ address: IPAddress) {
        switch address {
        case .v4(let value): add(Int(value))
        case .v6(let high, let low):
            add(Int(truncatingIfNeeded: high))
            add(Int(truncatingIfNeeded: low))
        }
    }

    mutating func add(_ integer: Int) {
        // A whole word at a time: only equality within one run matters.
        value = (value ^ UInt64(bitPattern: Int64(integer))) &* 0x0000_0100_0000_01B3
        value ^= value >> 29
    }
}

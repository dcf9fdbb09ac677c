/// Limits and switches for `HTTP1ConnectionAnalyzer`. Every cap bounds memory per direction,
/// so a hostile or corrupt stream cannot make the analyzer grow without limit.
public struct HTTPConfiguration: Sendable, Hashable {
    /// Largest message head (start line + fields + terminating empty line) accepted, in bytes.
    /// A longer head is flagged `header_too_large` and the rest of that direction is skipped.
    /// Default 64 KiB; clamped to 64 B…1 GiB.
    public var maxHeadBytes: Int
    /// Largest number of header (or trailer) fields in one section; more is treated like
    /// `maxHeadBytes`. Default 512.
    public var maxHeaderFields: Int
    /// How many body bytes to keep per message (decoded when the Content-Encoding is decoded).
    /// Counts are exact regardless. Default 64 KiB.
    public var keptBodyBytes: Int
    /// Body bytes kept of a 4xx/5xx response when `keptBodyBytes` is smaller: the products in
    /// front of an application (proxies, CDNs, gateways) are recognised by their error pages, which
    /// reports read even when they keep no other body. Default 0.
    public var keptErrorBodyBytes: Int = 0
    /// Decode gzip / x-gzip / deflate bodies. Default true.
    public var decodeBodies: Bool
    /// Decoding of one body stops after this many decoded bytes (`decompression_cap_reached`).
    /// Default 16 MiB.
    public var maxDecodedBytes: Int
    /// Requests waiting for a response per connection; past it the oldest is reported without
    /// a response (bounds memory on a stream of unanswered requests). Default 1024.
    public var maxPendingRequests: Int
    /// Complete requests waiting for a response over all the connections sharing one
    /// `PendingRequestBudget` (one pipeline); past it the oldest of them, whichever connection
    /// it is on, is reported without a response (`pending_request_evicted`). Default 65,536.
    public var maxPendingRequestsTotal: Int
    /// The same budget in bytes (heads, trailers and kept bodies, plus 256 bytes of bookkeeping
    /// per request). Default 32 MiB.
    public var maxPendingRequestBytesTotal: Int

    /// The body bytes to keep of a response with `status`.
    public func keptBodyBytes(forStatus status: Int) -> Int {
        status >= 400 ? max(keptBodyBytes, keptErrorBodyBytes) : keptBodyBytes
    }

    public init(
        maxHeadBytes: Int = 64 * 1024,
        maxHeaderFields: Int = 512,
        keptBodyBytes: Int = 64 * 1024,
        decodeBodies: Bool = true,
        maxDecodedBytes: Int = 16 * 1024 * 1024,
        maxPendingRequests: Int = 1024,
        maxPendingRequestsTotal: Int = 65_536,
        maxPendingRequestBytesTotal: Int = 32 << 20
    ) {
        self.maxHeadBytes = min(max(64, maxHeadBytes), 1 << 30)
        self.maxHeaderFields = max(1, maxHeaderFields)
        self.keptBodyBytes = max(0, keptBodyBytes)
        self.decodeBodies = decodeBodies
        self.maxDecodedBytes = max(0, maxDecodedBytes)
        self.maxPendingRequests = max(1, maxPendingRequests)
        self.maxPendingRequestsTotal = max(1, maxPendingRequestsTotal)
        self.maxPendingRequestBytesTotal = max(0, maxPendingRequestBytesTotal)
    }
}

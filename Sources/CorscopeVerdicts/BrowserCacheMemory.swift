import CorscopeCapture
import CorscopeHTTP

/// The responses a browser may have kept in its HTTP cache, as far as a HAR shows them.
///
/// A CORS request the browser answers from its own cache leaves nothing on the wire, and a HAR
/// lists it without a response (Chrome: status 0, `_fromCache`). Chromium's HTTP cache is keyed
/// by URL, not by request mode, so a response stored for a no-cors load (an `<img>`, a
/// `<script>`) without `Access-Control-Allow-Origin` later fails a `fetch()` of the same URL
/// with `MissingAllowOriginHeader`, although the server never saw that fetch. Only HAR input
/// needs this: in a capture the cache-served request is simply absent.
struct BrowserCacheMemory {
    struct Stored {
        let exchange: HTTPExchange
        let storedAt: Timestamp
        /// Seconds the response stays fresh (`Cache-Control: max-age`), nil when unknown.
        let freshFor: Double?
    }

    private var byURL: [String: Stored] = [:]
    static let capacity = 4096

    /// Remembers a HAR response a browser cache could keep (not `no-store`, status the cache
    /// stores by default).
    mutating func observe(_ exchange: HTTPExchange) {
        guard let har = exchange.har, let response = exchange.responseHead,
              [200, 203, 204, 300, 301, 308, 404, 410].contains(response.status) else { return }
        let directives = response.headers.values(named: "Cache-Control").joined(separator: ",").lowercased()
        guard !directives.contains("no-store") else { return }
        if byURL.count >= Self.capacity { byURL.removeAll(keepingCapacity: true) }
        byURL[har.url] = Stored(exchange: exchange, storedAt: exchange.responseLastByte ?? exchange.startTime,
                                freshFor: Self.maxAge(directives))
    }

    /// The stored response that answered `exchange`, a HAR entry without a response of its own:
    /// when the HAR says the browser cache answered it, or when a response for the URL was still
    /// fresh (and not marked `no-cache`, which would have sent a revalidation).
    func answer(for exchange: HTTPExchange) -> Stored? {
        guard let har = exchange.har, exchange.response == nil, let stored = byURL[har.url],
              stored.exchange.id != exchange.id else { return nil }
        if har.fromCache != nil { return stored }
        guard har.error != nil, let fresh = stored.freshFor,
              exchange.startTime.seconds(since: stored.storedAt) < fresh else { return nil }
        return stored
    }

    static func maxAge(_ directives: String) -> Double? {
        if directives.contains("no-cache") { return nil }
        for directive in directives.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t\"") }
            if parts.count == 2, parts[0] == "max-age", let seconds = Double(parts[1]), seconds > 0 { return seconds }
        }
        return nil
    }
}

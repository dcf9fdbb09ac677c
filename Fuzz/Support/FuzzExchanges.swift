// Structured HTTP exchanges from fuzz bytes, for the targets past parsing (pairing, verdicts,
// reports): values mostly from realistic vocabularies, sometimes raw bytes, so the fuzzer
// reaches the rule engine's deep paths without having to invent header names first.
@testable import CorscopeHTTP
import CorscopeCapture
import CorscopeReassembly

public enum FuzzVocabulary {
    public static let methods = ["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "HEAD", "patch", "CONNECT", "get"]
    public static let origins = [
        "https://app.example", "http://app.example", "https://api.example", "null", "http://127.0.0.1:8080",
        "https://app.example:8443", "http://[::1]:3000", "https://APP.example", "https://xn--nxasmq6b.example", "*",
    ]
    public static let targets = [
        "/", "/api/users/123", "/api/v1/items?id=7&token=abc", "https://api.example/data", "*", "/login?next=/x",
        "api.example:443", "/ws", "/socket.io/?EIO=4&transport=websocket", "/users/123/orders/456",
    ]
    public static let headerNames = [
        "Origin", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
        "Access-Control-Request-Method", "Access-Control-Request-Headers", "Access-Control-Allow-Private-Network",
        "Access-Control-Request-Private-Network", "Vary", "Cache-Control", "Age", "X-Cache", "Via", "Server",
        "Cookie", "Set-Cookie", "Authorization", "Content-Type", "Location", "Host", "Referer", "Sec-Fetch-Mode",
        "Sec-Fetch-Site", "Sec-Fetch-Dest", "Upgrade", "Connection", "Sec-WebSocket-Key", "Content-Length",
        "X-Requested-With", "X-Api-Key", "Range", "Timing-Allow-Origin", "CF-Cache-Status", "X-Served-By",
    ]
    public static let headerValues = [
        "https://app.example", "*", "true", "TRUE", "GET, POST", "PUT", "content-type, x-api-key", "*, authorization",
        "Origin", "86400", "-1", "600", "null", "cors", "no-cors", "navigate", "same-origin", "cross-site", "empty",
        "application/json", "text/plain", "multipart/form-data; boundary=x", "session=abc123", "Bearer eyJhbGciOi.eyJzdWIi.sig",
        "websocket", "Upgrade", "nginx/1.24.0", "1.1 varnish", "HIT", "MISS", "public, max-age=60", "no-store",
        "https://login.example/?next=/", "api.example", "https://app.example, https://app.example", "bytes=0-1",
    ]
    public static let reasons = ["OK", "No Content", "Found", "Forbidden", "Not Found", "", "Switching Protocols"]
    public static let statuses = [200, 204, 301, 302, 304, 307, 308, 101, 400, 401, 403, 404, 500, 502, 0, 99, 600]
    public static let resourceTypes = ["fetch", "xhr", "document", "script", "image", "stylesheet", "font", "websocket", "preflight", "other"]
    public static let creators = ["Chrome", "Firefox", "WebKit", "WebPageTest", "mitmproxy", "Charles Proxy", "Fiddler"]
}

extension FuzzReader {
    public mutating func headerFields(maxCount: Int = 8) -> HTTPHeaderFields {
        var pairs: [(String, String)] = []
        for _ in 0..<below(maxCount + 1) {
            pairs.append((string(FuzzVocabulary.headerNames), string(FuzzVocabulary.headerValues)))
        }
        return HTTPHeaderFields(pairs)
    }

    /// A capture time the edge lets through: years 0000–9999, fraction below a second.
    public mutating func time(after previous: Timestamp? = nil) -> Timestamp {
        if let previous, u8() < 224 {
            return Timestamp(totalNanoseconds: previous.totalNanoseconds &+ Int64(u16()) * 1_000_000)
        }
        let seconds = Int64(bitPattern: u64()) % 253_402_300_800
        return Timestamp(seconds: seconds < -62_167_219_200 ? -seconds : seconds, nanoseconds: Int32(u32() % 1_000_000_000))
    }

    public mutating func endpoint() -> Endpoint {
        let address: IPAddress = bool() ? .v4(pick([0x7F00_0001, 0x0A00_0001, 0xC0A8_0101, u32()])) : .v6(high: 0, low: UInt64(u8()))
        return Endpoint(address: address, port: pick([80, 443, 8080, 3000, u16()]))
    }

    public mutating func body() -> HTTPBody {
        var body = HTTPBody()
        let kept = take(below(48))
        body.kept = Array(kept)
        body.wireLength = kept.count + below(4) * 1000
        body.isTruncated = bool()
        if bool() { body.contentEncoding = [pick(["gzip", "deflate", "br", "identity"])] }
        if bool() { body.decodedLength = below(100_000) }
        return body
    }

    /// One exchange: a request, often a response, sometimes HAR evidence, on one of a few
    /// connections; times move forward from `previous` most of the time.
    public mutating func exchange(index: Int, previous: Timestamp?) -> HTTPExchange {
        let start = time(after: previous)
        let client = Endpoint(address: .v4(0x0A00_0000 | UInt32(below(4))), port: UInt16(40_000 + below(4)))
        let server = bool() ? Endpoint(address: .v4(0x7F00_0001), port: 80) : endpoint()
        let connection = ConnectionInfo(id: below(6), client: client, server: server, sawHandshake: bool(), firstSeen: start)
        let requestHead = HTTPRequestHead(method: string(FuzzVocabulary.methods), target: string(FuzzVocabulary.targets),
                                          version: bool() ? .http1_1 : HTTPVersion(major: u8() % 3, minor: u8() % 2),
                                          headers: headerFields(maxCount: 10))
        let request: HTTPRequest? = u8() < 240
            ? HTTPRequest(head: requestHead, body: body(), firstByte: start, lastByte: time(after: start)) : nil
        var response: HTTPResponse? = nil
        if u8() < 210 {
            let first = time(after: start)
            let head = HTTPResponseHead(version: .http1_1, status: bool() ? pick(FuzzVocabulary.statuses) : Int(u16()) % 1000,
                                        reason: string(FuzzVocabulary.reasons), headers: headerFields(maxCount: 10))
            response = HTTPResponse(head: head, body: body(), firstByte: first, lastByte: time(after: first))
        }
        var har: HAREvidence? = nil
        if u8() < 80 {
            var evidence = HAREvidence(
                file: "fuzz.har", entryIndex: index, url: string(FuzzVocabulary.origins) + string(FuzzVocabulary.targets),
                pageref: bool() ? "page_1" : nil, pageURL: bool() ? string(FuzzVocabulary.origins) + "/" : nil,
                resourceType: bool() ? string(FuzzVocabulary.resourceTypes) : nil,
                initiatorType: bool() ? pick(["script", "parser", "other", "preflight"]) : nil,
                initiatorURL: bool() ? string(FuzzVocabulary.origins) + "/app.js" : nil,
                error: bool() ? pick(["net::ERR_FAILED", "CORS error", rawString(maxLength: 16)]) : nil,
                serverAddress: bool() ? "127.0.0.1" : nil, requestCookieNames: bool() ? ["session"] : [],
                isSanitized: bool(), creator: bool() ? pick(FuzzVocabulary.creators) : nil)
            evidence.dialect = pick(HARDialect.allCases)
            if bool() { evidence.fromCache = pick(["memory", "disk", ""]) }
            if bool() { evidence.inferredRequestHeaders = [InferredHeader(name: "Origin", because: "provisional headers")] }
            har = evidence
        }
        var anomalies: [HTTPAnomaly] = []
        for _ in 0..<below(3) { anomalies.append(pick(HTTPAnomaly.allCases)) }
        let interim: [HTTPResponseHead] = bool() && u8() < 40
            ? [HTTPResponseHead(version: .http1_1, status: 100, reason: "Continue", headers: HTTPHeaderFields())] : []
        let transport = u8() < 240 ? HTTPTransport() : HTTPTransport(tls: .init(version: "TLS 1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", serverName: string(["api.example", ""]), alpn: "h2"), isHTTP2: true)
        return HTTPExchange(connection: connection, index: index, request: request, interimResponses: interim,
                            response: response, anomalies: anomalies, har: har, transport: transport,
                            streamID: transport.isHTTP2 ? UInt32(below(100)) * 2 + 1 : nil)
    }

    /// Up to `maxCount` exchanges in input order.
    public mutating func exchanges(maxCount: Int) -> [HTTPExchange] {
        var all: [HTTPExchange] = []
        var previous: Timestamp? = nil
        while !isAtEnd && all.count < maxCount {
            let next = exchange(index: all.count, previous: previous)
            previous = next.requestFirstByte ?? next.responseFirstByte ?? previous
            all.append(next)
        }
        return all
    }
}

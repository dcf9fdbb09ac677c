import BrowserRules
import CorscopeHTTP

/// Turns captured HTTP exchanges into the rule engine's inputs.
enum CORSInput {
    /// The absolute URL of a captured request (`https` when it was decrypted from TLS).
    static func url(of exchange: HTTPExchange) -> String? { exchange.requestURL }

    /// Chrome DevTools shows only a request's *provisional* headers when it did not get the
    /// headers as sent (no extra-info event): then there is no `Host` or `:authority`, and no
    /// `Origin` either, although a CORS-mode load sent one. Only there (a HAR of a dialect built
    /// from Chrome's DevTools events), and only for an entry
    /// the HAR marks as a CORS-mode load (resource type `fetch`, `xhr` or `preflight`) to
    /// another origin than its page, the browser's `Origin` is restored, marked as inferred.
    /// Everywhere else a request without `Origin` stays as the HAR shows it: script, image and
    /// JSONP loads are no-cors and send none.
    static func withBrowserOrigin(_ exchange: HTTPExchange) -> HTTPExchange {
        guard let har = exchange.har, har.dialect.mayShowProvisionalHeaders, isCORSModeResourceType(har.resourceType),
              let head = exchange.requestHead,
              hasOnlyProvisionalHeaders(head.headers), !head.headers.contains(named: "Origin"),
              let page = pageOrigin(of: har),
              let target = Origin(url: har.url), !page.isSameOrigin(as: target) else { return exchange }
        var restored = exchange
        restored.request!.head.headers.append(name: Array("Origin".utf8), value: Array(page.serialized.utf8))
        restored.har!.inferredRequestHeaders.append(InferredHeader(
            name: "Origin",
            because: "the HAR shows provisional headers only (no Host or :authority); a cross-origin \(har.resourceType!.lowercased()) load sends its page's origin"))
        return restored
    }

    /// The origin of the page that made the request: the HAR page's URL, or the document that
    /// parsed the element (`_initiator` of type `parser`). A script initiator's URL is the
    /// script's own, often on a CDN, while the script runs in the page's origin: not used.
    static func pageOrigin(of har: HAREvidence) -> Origin? {
        if let page = har.pageURL.flatMap({ Origin(url: $0) }) { return page }
        guard har.initiatorType?.lowercased() == "parser" else { return nil }
        return har.initiatorURL.flatMap { Origin(url: $0) }
    }

    /// No `Host` and no `:authority`: the headers a browser had before sending, not the wire's.
    static func hasOnlyProvisionalHeaders(_ headers: HTTPHeaderFields) -> Bool {
        !headers.contains(named: "Host") && !headers.contains(named: ":authority")
    }

    static func isCORSModeResourceType(_ type: String?) -> Bool {
        switch type?.lowercased() {
        case "fetch", "xhr", "preflight": return true
        default: return false
        }
    }

    static func headers(_ fields: HTTPHeaderFields) -> HTTPHeaders {
        var converted: [HTTPHeaderField] = []
        converted.reserveCapacity(fields.count)
        for index in 0..<fields.count {
            converted.append(HTTPHeaderField(name: fields.name(at: index), value: fields.value(at: index)))
        }
        return HTTPHeaders(converted)
    }

    /// The request mode the browser stated (`Sec-Fetch-Mode`), or a HAR's resource type implies.
    static func mode(of exchange: HTTPExchange) -> RequestMode? {
        exchange.requestHead?.headers.first(named: "Sec-Fetch-Mode").flatMap(RequestMode.init(secFetchMode:))
            ?? exchange.har.flatMap { Self.mode(forResourceType: $0.resourceType) }
    }

    static func request(from exchange: HTTPExchange, redirectedFrom: [String]) -> CORSRequest? {
        guard let head = exchange.requestHead, let url = url(of: exchange) else { return nil }
        let headers = headers(head.headers)
        let mode = mode(of: exchange)
        // The wire cannot show the credentials mode; a sent cookie proves it (in a HAR, so does
        // its cookies list). An Authorization header may be the page's own (listed in the
        // preflight): the engine weighs that one.
        let sentCookies = head.headers.contains(named: "Cookie") || !(exchange.har?.requestCookieNames.isEmpty ?? true)
        let credentials: CredentialsMode = sentCookies ? .include : .unknown
        let initiator = exchange.har.flatMap(pageOrigin(of:))
        return CORSRequest(method: head.method, url: url, headers: headers, mode: mode, credentials: credentials,
                           initiatorOrigin: initiator, redirectedFrom: redirectedFrom)
    }

    /// Chrome's `_resourceType` says what kind of load an entry was.
    static func mode(forResourceType type: String?) -> RequestMode? {
        switch type?.lowercased() {
        case "document": return .navigate
        case "websocket": return .websocket
        case "image", "script", "stylesheet", "font", "media": return nil
        default: return nil
        }
    }

    /// fetch() or XMLHttpRequest: the console message names it. Only a HAR can tell.
    static func initiator(of exchange: HTTPExchange) -> ResourceInitiator {
        switch exchange.har?.resourceType?.lowercased() {
        case "xhr": return .xmlHttpRequest
        case "image": return .image
        case "script": return .script
        case "stylesheet": return .stylesheet
        case "font": return .font
        default: return .fetch
        }
    }

    /// The response as the rules read it: of its fields, only `Access-Control-*`, `Vary` and
    /// `Location` matter to CORS, so only those become strings (this runs on every exchange).
    static func response(from response: HTTPResponse) -> CORSResponse {
        let fields = response.head.headers
        var converted: [HTTPHeaderField] = []
        for index in 0..<fields.count where isReadByTheRules(fields.nameBytes(at: index)) {
            converted.append(HTTPHeaderField(name: fields.name(at: index), value: fields.value(at: index)))
        }
        return CORSResponse(status: response.head.status, headers: HTTPHeaders(converted))
    }

    static func isReadByTheRules(_ name: ArraySlice<UInt8>) -> Bool {
        name.withUnsafeBufferPointer(isReadByTheRules)
    }

    static func isReadByTheRules(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        func matches(_ wanted: StaticString, prefix: Bool) -> Bool {
            let count = wanted.utf8CodeUnitCount
            guard prefix ? bytes.count > count : bytes.count == count else { return false }
            let start = wanted.utf8Start
            for k in 0..<count where bytes[k] | (bytes[k] &- 0x41 < 26 ? 0x20 : 0) != start[k] { return false }
            return true
        }
        return matches("access-control-", prefix: true) || matches("vary", prefix: false) || matches("location", prefix: false)
    }

    /// The request a preflight asked permission for: its method and header names, with the
    /// preflight's Origin and URL (values of the custom headers are not on the wire).
    static func guardedRequest(preflight: HTTPExchange, preflightRequest: CORSRequest) -> CORSRequest {
        guardedRequest(preflight: preflight, origin: preflightRequest.originHeader, url: preflightRequest.url,
                       mode: preflightRequest.mode, redirectedFrom: preflightRequest.redirectedFrom)
    }

    /// The same, from the preflight's parts (no full `CORSRequest` built: a remembered verdict
    /// needs only this).
    static func guardedRequest(preflight: HTTPExchange, origin: String?, url: String, mode: RequestMode?,
                               redirectedFrom: [String]) -> CORSRequest {
        let head = preflight.request!.head
        let method = head.headers.first(named: "Access-Control-Request-Method") ?? "GET"
        var fields: [(name: String, value: String)] = []
        if let origin { fields.append((name: "Origin", value: origin)) }
        for value in head.headers.values(named: "Access-Control-Request-Headers") {
            for name in value.split(separator: ",") {
                let trimmed = name.trimmingCharacters(in: " \t")
                if !trimmed.isEmpty { fields.append((name: trimmed, value: "")) }
            }
        }
        for name in ["Sec-Fetch-Mode", "Sec-Fetch-Site", "Referer", "User-Agent", "Host"] {
            if let value = head.headers.first(named: name) { fields.append((name: name, value: value)) }
        }
        return CORSRequest(method: method, url: url, headers: HTTPHeaders(fields),
                           mode: mode ?? .cors, credentials: .unknown, redirectedFrom: redirectedFrom)
    }
}

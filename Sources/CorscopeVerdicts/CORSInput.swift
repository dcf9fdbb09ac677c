import BrowserRules
import CorscopeHTTP

/// Turns captured HTTP exchanges into the rule engine's inputs.
enum CORSInput {
    /// The absolute URL of a captured request. The capture holds plaintext HTTP only (TLS cannot
    /// be read from the wire), so the scheme is `http` unless the target is already absolute.
    static func url(of exchange: HTTPExchange) -> String? {
        guard let head = exchange.request?.head else { return nil }
        if head.target.hasPrefix("http://") || head.target.hasPrefix("https://") { return head.target }
        let host = head.headers.first(named: "Host") ?? exchange.connection.server.description
        let path = head.target.hasPrefix("/") ? head.target : "/" + head.target
        return "http://" + host + path
    }

    static func headers(_ fields: HTTPHeaderFields) -> HTTPHeaders {
        HTTPHeaders(fields.pairs.map { (name: $0.name, value: $0.value) })
    }

    static func request(from exchange: HTTPExchange, redirectedFrom: [String]) -> CORSRequest? {
        guard let head = exchange.request?.head, let url = url(of: exchange) else { return nil }
        let headers = headers(head.headers)
        let mode = head.headers.first(named: "Sec-Fetch-Mode").flatMap(RequestMode.init(secFetchMode:))
        // The wire cannot show the credentials mode; a sent cookie proves it. An Authorization
        // header may be the page's own (listed in the preflight): the engine weighs that one.
        let credentials: CredentialsMode = head.headers.contains(named: "Cookie") ? .include : .unknown
        return CORSRequest(method: head.method, url: url, headers: headers, mode: mode, credentials: credentials,
                           redirectedFrom: redirectedFrom)
    }

    static func response(from response: HTTPResponse) -> CORSResponse {
        CORSResponse(status: response.head.status, headers: headers(response.head.headers))
    }

    /// The request a preflight asked permission for: its method and header names, with the
    /// preflight's Origin and URL (values of the custom headers are not on the wire).
    static func guardedRequest(preflight: HTTPExchange, preflightRequest: CORSRequest) -> CORSRequest {
        let head = preflight.request!.head
        let method = head.headers.first(named: "Access-Control-Request-Method") ?? "GET"
        var fields: [(name: String, value: String)] = []
        if let origin = preflightRequest.originHeader { fields.append((name: "Origin", value: origin)) }
        for value in head.headers.values(named: "Access-Control-Request-Headers") {
            for name in value.split(separator: ",") {
                let trimmed = name.trimmingCharacters(in: " \t")
                if !trimmed.isEmpty { fields.append((name: trimmed, value: "")) }
            }
        }
        for name in ["Sec-Fetch-Mode", "Sec-Fetch-Site", "Referer", "User-Agent", "Host"] {
            if let value = head.headers.first(named: name) { fields.append((name: name, value: value)) }
        }
        return CORSRequest(method: method, url: preflightRequest.url, headers: HTTPHeaders(fields),
                           mode: preflightRequest.mode ?? .cors, credentials: .unknown,
                           redirectedFrom: preflightRequest.redirectedFrom)
    }

    static func resolve(_ location: String, against base: String) -> String? {
        RedirectRules.resolve(location: location, against: base)
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly

/// Turns one parsed `log.entries[i]` into an `HTTPExchange` with its `HAREvidence`.
///
/// Quirks of real exporters handled here (each seen in the named file of
/// /work/shared/public-captures):
/// - Headers as `{"name":…, "value":…}` objects (HAR 1.2) or as `[name, value]` arrays
///   (mitmproxy/Slack style).
/// - HTTP/2 and HTTP/3 pseudo-headers (`:authority`, `:method`, `:path`, `:scheme`, `:status`)
///   are kept as ordinary fields where the exporter put them (Chrome, chrome-har:
///   har-to-openapi__chrome104-all-methods-statuses.har, pagexray__chrome-preflights-verizon.har),
///   so the field list matches what DevTools shows.
/// - WebPageTest puts the start line among the headers, split at its first colon
///   (`"HTTP/1.1 503 Service Unavailable": "Back-end server is at capacity"` in
///   pagexray__chrome-wpt-failed-preflight-nytimes.har, `"OPTIONS /api/v1/track/urn": …` in
///   pagexray__chrome-wpt-preflights-aftonbladet.har): a name with a space is no field name, so
///   it is left out and the exchange flagged `malformed_header_line`.
/// - `httpVersion` spellings: `HTTP/1.1`, `http/1.1`, `1.1` (WebPageTest), `http/2.0`, `HTTP/2`,
///   `h2`, `h3`, `HTTP/3`, empty (Safari, Firefox for cached entries), and garbage such as `me:`
///   or `2 2` (WebPageTest). Unknown or empty versions become HTTP/2 when the headers carry
///   pseudo-headers, else HTTP/1.1.
/// - `serverIPAddress` with brackets (`[2606:4700:…]`, Chrome 104), without (Firefox, Chrome), or
///   missing with WebPageTest's `_ip_addr` instead.
/// - `_initiator` as an object (`{type, url, stack}`, Chrome DevTools) or as a bare URL string with
///   the type in `_initiator_type` (chrome-har: pagexray__chrome-resourcetype-ferguson.har;
///   WebPageTest).
/// - `connection`: Chrome's socket id (a numeric string), but Firefox writes the server *port*
///   there (`"443"`, mitmproxy__firefox.har), so Firefox's value is not used as an id. A
///   `_connectionId` (newer Chrome, whose `connection` is then the port) wins over `connection`.
/// - A single cookie written as an object, not an array (Internet Explorer 11: harviewer__ie11.har).
/// - Numbers written as strings are accepted wherever a number is expected.
struct HAREntryMapper {
    var file: String
    var configuration: HARReaderConfiguration
    var metadata = HARLogMetadata() {
        didSet {
            if metadata.creator != oldValue.creator || metadata.browser != oldValue.browser {
                dialect = HARDialect(creator: metadata.creator?.name, browser: metadata.browser?.name)
            }
        }
    }
    private(set) var dialect = HARDialect.other
    /// Page id → page URL, for pages whose title is a URL.
    var pageURLs: [String: String] = [:]
    private var nextIndexOnConnection: [Int: Int] = [:]

    /// Entries without a usable connection id get their own synthetic connection, numbered from
    /// here by entry index so they never collide with browser socket ids (which stay far below).
    static let perEntryConnectionBase = 1_000_000_000

    init(file: String, configuration: HARReaderConfiguration) {
        self.file = file
        self.configuration = configuration
    }

    mutating func setPages(_ pages: [HARPage]) {
        pageURLs = [:]
        for page in pages { if let url = page.url { pageURLs[page.id] = url } }
    }

    /// The exchange for `entry`, or nil when the entry has no `request` object.
    mutating func map(_ entry: JSONRef, entryIndex: Int) -> HTTPExchange? {
        guard entry.kind == .object, let request = entry["request"], request.kind == .object else { return nil }
        var anomalies: [HTTPAnomaly] = []
        // An unreadable startedDateTime leaves the epoch: the order of entries still holds, times do not.
        let started = entry["startedDateTime"]?.string.flatMap(ISO8601Timestamp.parse) ?? .zero
        let timing = EntryTiming(entry: entry, started: started)

        // Request.
        let url = request["url"]?.string ?? ""
        let method = request["method"]?.string ?? ""
        let (requestHeaders, requestHadStartLine) = Self.headerFields(request["headers"])
        if requestHadStartLine { anomalies.append(.malformedHeaderLine) }
        let requestVersion = Self.version(request["httpVersion"]?.string, headers: requestHeaders)
        var requestBody = HTTPBody()
        let postText = request["postData"]?["text"]
        if let bodySize = request["bodySize"]?.int, bodySize > 0 {
            requestBody.wireLength = bodySize
        } else {
            requestBody.wireLength = postText?.stringByteCount ?? 0
        }
        keep(postText, in: &requestBody)
        let httpRequest = HTTPRequest(
            head: HTTPRequestHead(method: method, target: url, version: requestVersion, headers: requestHeaders),
            body: requestBody, firstByte: timing.requestFirstByte, lastByte: timing.requestLastByte)

        // Response: status 0 (or none) with no headers means the browser got nothing usable.
        // Status 0 *with* headers is a response the browser received and then refused (a CORS
        // failure as some exporters record it): its headers say why, so it is kept, with the
        // wire status when the exporter kept one (`_wireStatus`, corscope's Chromium harness).
        let responseRef = entry["response"].flatMap { $0.kind == .object ? $0 : nil }
        let recordedStatus = responseRef?["status"]?.int ?? 0
        let browserError = Self.nonEmpty(responseRef?["_error"]?.string) ?? Self.nonEmpty(entry["_error"]?.string)
        let refusedWithHeaders = recordedStatus == 0 && !(responseRef?["headers"]?.elements.isEmpty ?? true)
        let status = refusedWithHeaders ? (responseRef?["_wireStatus"]?.int ?? 0) : recordedStatus
        var httpResponse: HTTPResponse?
        var responseHeaders = HTTPHeaderFields()
        var errorText = browserError ?? (refusedWithHeaders ? "status 0" : nil)
        if let responseRef, status > 0 || refusedWithHeaders {
            let (headers, hadStartLine) = Self.headerFields(responseRef["headers"])
            responseHeaders = headers
            if hadStartLine, !anomalies.contains(.malformedHeaderLine) { anomalies.append(.malformedHeaderLine) }
            let version = Self.version(responseRef["httpVersion"]?.string, headers: headers, fallback: requestVersion)
            httpResponse = HTTPResponse(
                head: HTTPResponseHead(version: version, status: status, reason: responseRef["statusText"]?.string ?? "", headers: headers),
                body: responseBody(responseRef, headers: headers),
                firstByte: timing.responseFirstByte, lastByte: timing.responseLastByte)
        } else {
            errorText = browserError ?? (responseRef == nil ? "no response" : "status \(status)")
        }

        // Connection.
        let connectionID = connectionID(entry) ?? Self.perEntryConnectionBase + entryIndex
        let index = nextIndexOnConnection[connectionID, default: 0]
        nextIndexOnConnection[connectionID] = index + 1
        let placeholder = Endpoint(address: .v4(0), port: 0)
        let connection = ConnectionInfo(id: connectionID, client: placeholder, server: placeholder, sawHandshake: false, firstSeen: started)

        // Evidence.
        let pageref = entry["pageref"]?.string
        let (initiatorType, initiatorURL) = Self.initiator(entry)
        let cookieNames = Self.cookies(request["cookies"]).compactMap { $0["name"]?.string }
        let responseCookieCount = Self.cookies(responseRef?["cookies"]).count
        var evidence = HAREvidence(
            file: file, entryIndex: entryIndex, url: url, pageref: pageref,
            pageURL: pageref.flatMap { pageURLs[$0] },
            resourceType: Self.nonEmpty(entry["_resourceType"]?.string),
            initiatorType: initiatorType, initiatorURL: initiatorURL,
            error: errorText,
            serverAddress: Self.serverAddress(entry, url: url),
            requestCookieNames: cookieNames,
            isSanitized: SanitizationHeuristics.isSanitized(
                metadata: metadata, requestHeaders: requestHeaders, responseHeaders: responseHeaders,
                requestCookieCount: cookieNames.count, responseCookieCount: responseCookieCount),
            creator: metadata.creator?.description)
        evidence.fromCache = Self.nonEmpty(entry["_fromCache"]?.string)
        evidence.dialect = dialect

        return HTTPExchange(connection: connection, index: index, request: httpRequest, response: httpResponse,
                            anomalies: anomalies, har: evidence)
    }

    // MARK: - Pieces

    private func responseBody(_ response: JSONRef, headers: HTTPHeaderFields) -> HTTPBody {
        var body = HTTPBody()
        let content = response["content"]
        let contentSize = content?["size"]?.int ?? -1
        body.contentEncoding = headers.values(named: "content-encoding")
            .flatMap { $0.split(separator: ",") }
            .map { String($0).trimmingASCIIWhitespace().lowercased() }
            .filter { !$0.isEmpty && $0 != "identity" }
        // HAR's bodySize is the body as received (compressed); content.size is after decoding.
        // Chrome writes bodySize -1 for h2/h3, then content.size is the best figure there is.
        if let bodySize = response["bodySize"]?.int, bodySize >= 0 {
            body.wireLength = bodySize
        } else {
            body.wireLength = max(contentSize, 0)
        }
        if !body.contentEncoding.isEmpty, contentSize >= 0 { body.decodedLength = contentSize }
        if content?["encoding"]?.string == nil { keep(content?["text"], in: &body) }
        return body
    }

    private func keep(_ text: JSONRef?, in body: inout HTTPBody) {
        guard configuration.keptBodyBytes > 0, let bytes = text?.stringBytes else { return }
        body.kept = Array(bytes.prefix(configuration.keptBodyBytes))
        body.isTruncated = bytes.count > configuration.keptBodyBytes
    }

    private func connectionID(_ entry: JSONRef) -> Int? {
        func id(_ ref: JSONRef?) -> Int? {
            guard let value = ref?.int, value >= 0, value < Self.perEntryConnectionBase else { return nil }
            return value
        }
        if let explicit = id(entry["_connectionId"]) { return explicit }
        if dialect == .firefox { return nil }
        return id(entry["connection"])
    }

    /// Cookie objects; Internet Explorer 11 writes a lone cookie as an object instead of a
    /// one-element array (harviewer__ie11.har).
    static func cookies(_ ref: JSONRef?) -> [JSONRef] {
        guard let ref else { return [] }
        return ref.kind == .object ? [ref] : ref.elements
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }

    /// Header fields in order, duplicates kept, and whether a start line posing as a header was
    /// left out.
    static func headerFields(_ ref: JSONRef?) -> (HTTPHeaderFields, droppedStartLine: Bool) {
        var fields = HTTPHeaderFields()
        var dropped = false
        guard let ref, ref.kind == .array else { return (fields, false) }
        for element in ref.elements {
            let name: JSONRef?
            let value: JSONRef?
            switch element.kind {
            case .object:
                name = element["name"]
                value = element["value"]
            case .array:
                let pair = element.elements
                name = pair.first
                value = pair.count > 1 ? pair[1] : nil
            default:
                continue
            }
            // The bytes are copied once, from the document into the fields.
            let appended = name?.withStringBytes { name -> Bool in
                guard !name.isEmpty, !name.contains(0x20) else { return false }
                withValueBytes(value) { fields.append(name: name, value: $0) }
                return true
            } ?? false
            if !appended { dropped = true }
        }
        return (fields, dropped)
    }

    /// A header value's bytes (see `valueBytes`), read in place when they need no decoding.
    private static func withValueBytes(_ value: JSONRef?, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let value else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        if value.kind == .string {
            _ = value.withStringBytes(body)
            return
        }
        valueBytes(value).withUnsafeBytes(body)
    }

    /// A header value's bytes; numbers and booleans (seen in hand-written HARs) as their JSON text.
    private static func valueBytes(_ value: JSONRef?) -> [UInt8] {
        guard let value else { return [] }
        switch value.kind {
        case .string: return value.stringBytes ?? []
        case .null, .array, .object: return []
        default:
            let node = value.node
            return Array(value.document.bytes[Int(node.start)..<Int(node.end)])
        }
    }

    /// The HTTP version an exporter wrote, best effort (see the type's comment).
    static func version(_ text: String?, headers: HTTPHeaderFields, fallback: HTTPVersion? = nil) -> HTTPVersion {
        var v = (text ?? "").trimmingASCIIWhitespace().lowercased()
        if v.hasPrefix("http/") { v.removeFirst(5) }
        switch v {
        case "1.1": return .http1_1
        case "1.0": return .http1_0
        case "0.9": return HTTPVersion(major: 0, minor: 9)
        case "2", "2.0", "h2", "h2c": return HTTPVersion(major: 2, minor: 0)
        case "3", "3.0", "h3", "quic": return HTTPVersion(major: 3, minor: 0)
        default:
            if v.hasPrefix("h3-") { return HTTPVersion(major: 3, minor: 0) }  // h3-29 drafts
            if let fallback { return fallback }
            for i in 0..<headers.count where headers.nameBytes(at: i).first == UInt8(ascii: ":") {
                return HTTPVersion(major: 2, minor: 0)
            }
            return .http1_1
        }
    }

    /// `_initiator.type` and its URL: `url`, else the first call frame with a URL (walking
    /// `stack.parent` for async stacks); or chrome-har's string `_initiator` + `_initiator_type`.
    static func initiator(_ entry: JSONRef) -> (type: String?, url: String?) {
        guard let initiator = entry["_initiator"] else {
            return (nonEmpty(entry["_initiator_type"]?.string), nil)
        }
        switch initiator.kind {
        case .string:
            return (nonEmpty(entry["_initiator_type"]?.string), nonEmpty(initiator.string))
        case .object:
            let type = nonEmpty(initiator["type"]?.string)
            if let url = nonEmpty(initiator["url"]?.string) { return (type, url) }
            var stack = initiator["stack"]
            var hops = 0
            while let current = stack, current.kind == .object, hops < 64 {
                for frame in current["callFrames"]?.elements ?? [] {
                    if let url = nonEmpty(frame["url"]?.string) { return (type, url) }
                }
                stack = current["parent"]
                hops += 1
            }
            return (type, nil)
        default:
            return (nil, nil)
        }
    }

    /// `serverIPAddress` (or WebPageTest's `_ip_addr`) with the port of the URL (explicit, else the
    /// scheme's default, else Safari's `_serverPort`); IPv6 in brackets.
    static func serverAddress(_ entry: JSONRef, url: String) -> String? {
        guard var address = nonEmpty(entry["serverIPAddress"]?.string) ?? nonEmpty(entry["_ip_addr"]?.string) else { return nil }
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        guard !address.isEmpty else { return nil }
        let host = address.contains(":") ? "[\(address)]" : address
        guard let port = HTTPURL.port(of: url) ?? entry["_serverPort"]?.int else { return host }
        return "\(host):\(port)"
    }
}

/// Request, response and end times of an entry from `startedDateTime`, `timings` and `time`.
///
/// HAR timings are milliseconds and -1 when not applicable; `ssl` is already inside `connect`
/// (HAR 1.2), so it is not added again.
struct EntryTiming {
    var requestFirstByte: Timestamp
    var requestLastByte: Timestamp
    var responseFirstByte: Timestamp
    var responseLastByte: Timestamp

    init(entry: JSONRef, started: Timestamp) {
        let timings = entry["timings"]
        func ms(_ key: String) -> Double {
            guard let value = timings?[key]?.double, value.isFinite, value >= 0, value < 1e12 else { return 0 }
            return value
        }
        let beforeSend = ms("blocked") + ms("dns") + ms("connect")
        let send = ms("send")
        let wait = ms("wait")
        let receive = ms("receive")
        requestFirstByte = started.adding(seconds: beforeSend / 1000)
        requestLastByte = started.adding(seconds: (beforeSend + send) / 1000)
        responseFirstByte = started.adding(seconds: (beforeSend + send + wait) / 1000)
        var total = beforeSend + send + wait + receive
        if let time = entry["time"]?.double, time.isFinite, time >= 0, time < 1e12 { total = max(time, beforeSend + send + wait) }
        responseLastByte = started.adding(seconds: total / 1000)
    }
}

/// Small URL pieces, without Foundation.
enum URLParts {
    /// True for an http(s) URL with a host and no whitespace (a page title that is a URL).
    static func isHTTPURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
        guard !text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) else { return false }
        let rest = lower.hasPrefix("https://") ? text.dropFirst(8) : text.dropFirst(7)
        return !rest.isEmpty && rest.first != "/"
    }
}

/// Whether an entry comes from a sanitized export (credentials removed), so the credentials mode
/// must be reported as a guess. Any one of these says yes:
/// 1. Chrome DevTools ≥ 130 (which sanitizes by default, crbug 361717594) and the entry has no
///    `Cookie`, `Authorization` or `Set-Cookie` header and empty cookie arrays. A "with sensitive
///    data" export of a request that really had no credentials looks the same, so it is counted
///    as sanitized too: the credentials are unknown either way. The Chrome version comes from
///    `log.creator` when it is Chrome/Chromium, else `log.browser`, else the request's
///    `User-Agent` (`Chrome/130.…`), because DevTools' creator is `WebInspector 537.36`.
/// 2. The request lists cookies but has headers and no `Cookie` header among them (the header
///    was stripped, the cookie array kept). Entries with no request headers at all (Chrome's
///    cached 3xx in har-to-openapi__chrome104-all-methods-statuses.har) do not count.
/// 3. A header value is a redaction marker (`REDACTED`, `[REDACTED]`, `<redacted>`, any case):
///    Microsoft Dev Proxy and HAR sanitizers write these.
enum SanitizationHeuristics {
    static let firstSanitizingChromeVersion = 130

    static func isSanitized(metadata: HARLogMetadata, requestHeaders: HTTPHeaderFields, responseHeaders: HTTPHeaderFields,
                            requestCookieCount: Int, responseCookieCount: Int) -> Bool {
        let hasCookieHeader = requestHeaders.contains(named: "cookie")
        if requestCookieCount > 0, !requestHeaders.isEmpty, !hasCookieHeader { return true }
        if hasRedactionMarker(requestHeaders) || hasRedactionMarker(responseHeaders) { return true }
        if let major = chromeMajorVersion(metadata: metadata, requestHeaders: requestHeaders),
           major >= firstSanitizingChromeVersion {
            let hasCredentials = hasCookieHeader || requestHeaders.contains(named: "authorization")
                || responseHeaders.contains(named: "set-cookie") || requestCookieCount > 0 || responseCookieCount > 0
            return !hasCredentials
        }
        return false
    }

    static func chromeMajorVersion(metadata: HARLogMetadata, requestHeaders: HTTPHeaderFields) -> Int? {
        guard let creator = metadata.creator else { return nil }
        // Byte searches: this runs for every entry, and String.contains walks Characters.
        if containsIgnoringASCIICase(creator.name, "chrom") { return leadingInteger(creator.version) }
        guard creator.name.utf8.count == 12, containsIgnoringASCIICase(creator.name, "webinspector") else { return nil }
        if let browser = metadata.browser, containsIgnoringASCIICase(browser.name, "chrom") { return leadingInteger(browser.version) }
        guard let agent = requestHeaders.first(named: "user-agent") else { return nil }
        let parts = agent.split(separator: " ")
        guard let product = parts.first(where: { $0.hasPrefix("Chrome/") || $0.hasPrefix("HeadlessChrome/") }),
              let slash = product.firstIndex(of: "/") else { return nil }
        return leadingInteger(String(product[product.index(after: slash)...]))
    }

    private static func containsIgnoringASCIICase(_ text: String, _ needle: StaticString) -> Bool {
        let haystack = Array(text.utf8)
        let wanted = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard haystack.count >= wanted.count else { return false }
        outer: for start in 0...(haystack.count - wanted.count) {
            for k in 0..<wanted.count where HTTPText.lowercased(haystack[start + k]) != wanted[k] { continue outer }
            return true
        }
        return false
    }

    private static func leadingInteger(_ text: String) -> Int? {
        Int(text.prefix { $0.isASCII && $0.isNumber }.prefix(6))
    }

    private static func hasRedactionMarker(_ headers: HTTPHeaderFields) -> Bool {
        for i in 0..<headers.count {
            let value = headers.valueBytes(at: i)
            guard value.count >= 8, value.count <= 10 else { continue }
            let lowered = String(decoding: value.map(HTTPText.lowercased), as: UTF8.self)
            if lowered == "redacted" || lowered == "[redacted]" || lowered == "<redacted>" { return true }
        }
        return false
    }
}

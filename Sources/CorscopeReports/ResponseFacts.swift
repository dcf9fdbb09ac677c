import CorscopeHTTP

/// What the report needs from a response's headers, found in one pass over the raw bytes.
///
/// Field names are matched by length first and then byte-wise ignoring case, so the usual
/// response costs a handful of integer compares per field and no strings; values become
/// strings only when a later step asks for them.
struct ResponseFacts {
    let headers: HTTPHeaderFields
    let status: Int

    /// Indexes of the `Access-Control-Allow-Origin` fields (usually one: kept inline, an array
    /// only for the rare duplicates).
    private var firstAllowOriginIndex: Int?
    private var moreAllowOriginIndexes: [Int] = []
    var allowOriginIndexes: [Int] { firstAllowOriginIndex.map { [$0] + moreAllowOriginIndexes } ?? [] }
    var allowCredentialsIndex: Int?
    var varyListsOrigin = false
    var varyIsStar = false
    var cacheControlIndexes: [Int] = []
    var hasExpires = false
    var hasLastModified = false
    var ageIndex: Int?
    var dateIndex: Int?
    var locationIndex: Int?
    /// The last `Server` field; `firstServerIndex` differs when a proxy sent its own beside the
    /// upstream's (Caddy does).
    var serverIndex: Int?
    var firstServerIndex: Int?
    var poweredByIndex: Int?
    var viaIndex: Int?
    var xCacheIndex: Int?
    var xCacheStatusIndex: Int?
    var cfCacheStatusIndex: Int?
    var cacheStatusIndex: Int?
    var servedByIndex: Int?
    var cfRay = false
    var amzCfID = false
    var azureRef = false
    var fastlyHeader = false
    var akamaiHeader = false
    var varnishHeader = false

    init(_ response: HTTPResponse) { self.init(response.head) }

    init(_ head: HTTPResponseHead) {
        headers = head.headers
        status = head.status
        headers.storage.withUnsafeBufferPointer { storage in
            for (index, span) in headers.spans.enumerated() {
                let name = UnsafeBufferPointer(rebasing: storage[Int(span.nameStart)..<Int(span.nameEnd)])
                classify(name: name, index: index, storage: storage, span: span)
            }
        }
    }

    private mutating func classify(name: UnsafeBufferPointer<UInt8>, index: Int,
                                   storage: UnsafeBufferPointer<UInt8>, span: HTTPHeaderFields.Span) {
        func value() -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: storage[Int(span.valueStart)..<Int(span.valueEnd)])
        }
        switch name.count {
        case 3:
            if ByteText.equalsLowercase(name, "age") { ageIndex = index }
            else if ByteText.equalsLowercase(name, "via") { viaIndex = index }
        case 4:
            if ByteText.equalsLowercase(name, "date") { dateIndex = index }
            else if ByteText.equalsLowercase(name, "vary") {
                let v = value()
                if ByteText.containsToken(v, "origin") { varyListsOrigin = true }
                if ByteText.containsToken(v, "*") { varyIsStar = true }
            }
        case 6:
            if ByteText.equalsLowercase(name, "server") {
                serverIndex = index
                if firstServerIndex == nil { firstServerIndex = index }
                let v = value()
                if ByteText.containsLowercase(v, "akamaighost") { akamaiHeader = true }
                if ByteText.containsLowercase(v, "varnish") { varnishHeader = true }
            }
            else if ByteText.equalsLowercase(name, "cf-ray") { cfRay = true }
        case 7:
            if ByteText.equalsLowercase(name, "expires") { hasExpires = true }
            else if ByteText.equalsLowercase(name, "x-cache") { xCacheIndex = index }
        case 8:
            if ByteText.equalsLowercase(name, "location") { locationIndex = index }
        case 9:
            if ByteText.equalsLowercase(name, "x-varnish") { varnishHeader = true }
        case 11:
            if ByteText.equalsLowercase(name, "x-azure-ref") { azureRef = true }
            else if ByteText.equalsLowercase(name, "x-amz-cf-id") { amzCfID = true }
            else if ByteText.equalsLowercase(name, "x-served-by") { servedByIndex = index }
        case 12:
            if ByteText.equalsLowercase(name, "x-powered-by") { poweredByIndex = index }
            else if ByteText.equalsLowercase(name, "cache-status") { cacheStatusIndex = index }
        case 13:
            if ByteText.equalsLowercase(name, "cache-control") { cacheControlIndexes.append(index) }
            else if ByteText.equalsLowercase(name, "last-modified") { hasLastModified = true }
        case 14:
            if ByteText.equalsLowercase(name, "x-cache-status") { xCacheStatusIndex = index }
        case 15:
            if ByteText.equalsLowercase(name, "cf-cache-status") { cfCacheStatusIndex = index }
        case 27:
            if ByteText.equalsLowercase(name, "access-control-allow-origin") {
                if firstAllowOriginIndex == nil { firstAllowOriginIndex = index } else { moreAllowOriginIndexes.append(index) }
            }
        case 32:
            if ByteText.equalsLowercase(name, "access-control-allow-credentials") { allowCredentialsIndex = index }
        default:
            break
        }
        if name.count > 7, ByteText.hasLowercasePrefix(name, "fastly-") { fastlyHeader = true }
        if name.count > 7, ByteText.hasLowercasePrefix(name, "akamai-") || ByteText.hasLowercasePrefix(name, "x-akamai") {
            akamaiHeader = true
        }
    }

    // MARK: Derived facts (strings made only here)

    func value(_ index: Int?) -> String? { index.map { headers.value(at: $0) } }

    var allowOrigin: String? {
        guard let first = firstAllowOriginIndex else { return nil }
        guard !moreAllowOriginIndexes.isEmpty else { return headers.value(at: first) }
        return allowOriginIndexes.map { headers.value(at: $0) }.joined(separator: ", ")
    }

    var hasAllowOrigin: Bool { firstAllowOriginIndex != nil }

    /// Whether the single ACAO names one origin (not `*`, not `null`): only then must it vary.
    var allowsSpecificOrigin: Bool {
        guard let first = firstAllowOriginIndex else { return false }
        guard moreAllowOriginIndexes.isEmpty else { return true }
        let v = headers.valueBytes(at: first)
        let trimmed = ByteText.trimmed(v)
        return !(trimmed.count == 1 && trimmed.first == UInt8(ascii: "*")) && !ByteText.equalsLowercase(trimmed, "null")
    }

    var variesOnOrigin: Bool { varyListsOrigin || varyIsStar }

    /// RFC 9111: explicitly fresh for a shared cache, or heuristically cacheable (a status that
    /// is cacheable by default with a validator), and not forbidden by `no-store`/`private`.
    var isCacheable: Bool {
        var explicit = hasExpires
        for index in cacheControlIndexes {
            let v = Array(headers.valueBytes(at: index))
            if v.withUnsafeBufferPointer({ ByteText.containsToken($0, "no-store") || ByteText.containsToken($0, "private") }) {
                return false
            }
            if v.withUnsafeBufferPointer({ ByteText.containsToken($0, "public") }) { explicit = true }
            if let maxAge = ByteText.directiveNumber(v, "max-age"), maxAge > 0 { explicit = true }
            if let sMaxAge = ByteText.directiveNumber(v, "s-maxage"), sMaxAge > 0 { explicit = true }
        }
        if explicit { return true }
        return hasLastModified && Self.heuristicallyCacheableStatuses.contains(status)
    }

    static let heuristicallyCacheableStatuses: Set<Int> = [200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501]

    /// The signal that says a cache (not the origin server) answered, if any.
    /// The `Date` value: a cache replays the stored one, so equal Dates on two answers mean one
    /// was served from the other.
    var date: String? { dateIndex.map { headers.value(at: $0) } }

    var cacheHitSignal: String? {
        if let index = xCacheIndex, ByteText.containsLowercase(headers.valueBytes(at: index), "hit") {
            let value = headers.value(at: index)
            if servedByIndex != nil { return "X-Served-By with X-Cache: \(value)" }
            return "X-Cache: \(value)"
        }
        if let index = cfCacheStatusIndex, ByteText.containsLowercase(headers.valueBytes(at: index), "hit") {
            return "CF-Cache-Status: \(headers.value(at: index))"
        }
        if let index = xCacheStatusIndex, ByteText.containsLowercase(headers.valueBytes(at: index), "hit") {
            return "X-Cache-Status: \(headers.value(at: index))"
        }
        if let index = cacheStatusIndex, ByteText.containsToken(Array(headers.valueBytes(at: index)), "hit") {
            return "Cache-Status: \(headers.value(at: index))"
        }
        if let index = ageIndex, let age = Int(ByteText.string(ByteText.trimmed(headers.valueBytes(at: index)))), age > 0 {
            return "Age: \(age)"
        }
        return nil
    }

    /// Which CDN or shared cache the headers point at, if any.
    var cdnHint: String? {
        if cfRay || cfCacheStatusIndex != nil || serverContains("cloudflare") { return "Cloudflare" }
        if amzCfID || headerContains(viaIndex, "cloudfront") || headerContains(xCacheIndex, "cloudfront") { return "CloudFront" }
        if azureRef { return "Azure Front Door" }
        if fastlyHeader || (servedByIndex != nil && headerContains(servedByIndex, "cache-")) { return "Fastly" }
        if akamaiHeader { return "Akamai" }
        if varnishHeader || headerContains(viaIndex, "varnish") { return "Varnish" }
        if xCacheStatusIndex != nil { return "nginx proxy_cache" }
        if viaIndex != nil || xCacheIndex != nil || cacheStatusIndex != nil { return "a shared cache or proxy (Via/X-Cache)" }
        return nil
    }

    func serverContains(_ text: StaticString) -> Bool { headerContains(serverIndex, text) }

    func headerContains(_ index: Int?, _ text: StaticString) -> Bool {
        guard let index else { return false }
        return ByteText.containsLowercase(headers.valueBytes(at: index), text)
    }
}

/// The two request fields every exchange needs, found in one pass without building the
/// lookup arrays `HTTPHeaderFields.first(named:)` makes per call.
struct RequestFacts {
    var origin: String?
    var host: String?

    init(_ headers: HTTPHeaderFields) {
        var originIndex: Int?, hostIndex: Int?
        headers.storage.withUnsafeBufferPointer { storage in
            for (index, span) in headers.spans.enumerated() {
                let length = Int(span.nameEnd - span.nameStart)
                guard length == 4 || length == 6 else { continue }
                let name = UnsafeBufferPointer(rebasing: storage[Int(span.nameStart)..<Int(span.nameEnd)])
                if length == 6, originIndex == nil, ByteText.equalsLowercase(name, "origin") { originIndex = index }
                if length == 4, hostIndex == nil, ByteText.equalsLowercase(name, "host") { hostIndex = index }
            }
        }
        origin = originIndex.map { headers.value(at: $0) }
        host = hostIndex.map { headers.value(at: $0) }
    }
}

/// Case-insensitive byte helpers; patterns are lower-case ASCII literals.
enum ByteText {
    static func equalsLowercase<C: Collection>(_ bytes: C, _ pattern: StaticString) -> Bool where C.Element == UInt8 {
        guard bytes.count == pattern.utf8CodeUnitCount else { return false }
        return pattern.withUTF8Buffer { p in
            var i = 0
            for b in bytes {
                if HTTPText.lowercased(b) != p[i] { return false }
                i += 1
            }
            return true
        }
    }

    static func hasLowercasePrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ pattern: StaticString) -> Bool {
        let n = pattern.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        return pattern.withUTF8Buffer { p in
            for i in 0..<n where HTTPText.lowercased(bytes[i]) != p[i] { return false }
            return true
        }
    }

    static func containsLowercase<C: Collection>(_ bytes: C, _ pattern: StaticString) -> Bool where C.Element == UInt8 {
        if let found = bytes.withContiguousStorageIfAvailable({ containsLowercase($0, pattern) }) { return found }
        return Array(bytes).withUnsafeBufferPointer { containsLowercase($0, pattern) }
    }

    static func containsLowercase(_ haystack: UnsafeBufferPointer<UInt8>, _ pattern: StaticString) -> Bool {
        let n = pattern.utf8CodeUnitCount
        guard haystack.count >= n, n > 0 else { return n == 0 }
        return pattern.withUTF8Buffer { p in
            var start = 0
            while start + n <= haystack.count {
                var matched = true
                for i in 0..<n where HTTPText.lowercased(haystack[start + i]) != p[i] { matched = false; break }
                if matched { return true }
                start += 1
            }
            return false
        }
    }

    /// Whether a comma/semicolon/space-separated list holds `token` (case-insensitive).
    static func containsToken<C: Collection>(_ bytes: C, _ token: StaticString) -> Bool where C.Element == UInt8 {
        if let found = bytes.withContiguousStorageIfAvailable({ containsToken($0, token) }) { return found }
        return Array(bytes).withUnsafeBufferPointer { containsToken($0, token) }
    }

    static func containsToken(_ bytes: UnsafeBufferPointer<UInt8>, _ token: StaticString) -> Bool {
        func isSeparator(_ b: UInt8) -> Bool {
            b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == UInt8(ascii: " ") || b == 0x09
        }
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, !isSeparator(bytes[end]) { end += 1 }
            if equalsLowercase(UnsafeBufferPointer(rebasing: bytes[start..<end]), token) { return true }
            start = end + 1
        }
        return false
    }

    /// The number after `name=` in a directive list (`max-age=600`), if present.
    static func directiveNumber(_ bytes: [UInt8], _ name: StaticString) -> Int? {
        let n = name.utf8CodeUnitCount
        return name.withUTF8Buffer { p -> Int? in
            var i = 0
            while i + n < bytes.count {
                let atBoundary = i == 0 || bytes[i - 1] == UInt8(ascii: ",") || bytes[i - 1] == UInt8(ascii: " ")
                if atBoundary {
                    var matched = true
                    for k in 0..<n where HTTPText.lowercased(bytes[i + k]) != p[k] { matched = false; break }
                    if matched && bytes[i + n] == UInt8(ascii: "=") {
                        var j = i + n + 1
                        if j < bytes.count && bytes[j] == UInt8(ascii: "\"") { j += 1 }
                        var value = 0
                        var digits = 0
                        while j < bytes.count, bytes[j] &- 0x30 < 10, digits < 12 {
                            value = value * 10 + Int(bytes[j] &- 0x30)
                            digits += 1
                            j += 1
                        }
                        return digits > 0 ? value : nil
                    }
                }
                i += 1
            }
            return nil
        }
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String { HTTPText.string(bytes) }
}

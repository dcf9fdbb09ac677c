import CorscopeHTTP

/// Removes secrets from everything corscope shows — reports, NDJSON exchanges and findings,
/// terminal lines — so any output can be attached to a ticket or shipped to a log pipeline.
///
/// Reports are pasted into issue trackers and NDJSON is shipped to log stores; captures hold
/// session cookies and tokens (the HAR leaks behind the 2023 Okta breach were exactly this).
/// Redaction is on by default. Streams ask `mayHideSecret` first, on bytes, so the common header
/// costs a few compares and no strings.
///
/// Every value it replaces is remembered, so free text built from the same exchange (the
/// verdict's explanation, a console message) can be scrubbed of it as well. A stream calls
/// `forgetSecrets()` between exchanges, so memory stays flat.
public final class Redactor {
    public static let placeholder = "[redacted]"
    public let isEnabled: Bool
    private var seenSecrets: Set<String> = []

    public init(enabled: Bool = true) { isEnabled = enabled }

    /// Fragments of names that mark a value as secret (query parameters and header names).
    static let secretNameFragments = ["token", "key", "secret", "signature", "sig", "password", "passwd",
                                      "session", "auth", "credential", "api_key", "apikey", "access_token", "jwt"]

    /// Headers whose values are protocol facts the report must show (they hold no secrets even
    /// when their name contains a fragment such as `credentials`).
    private static func isProtocolHeader(_ lowercasedName: String) -> Bool {
        lowercasedName.hasPrefix("access-control-") || lowercasedName == "vary" || lowercasedName == "origin"
            || lowercasedName == "host" || lowercasedName == ":authority" || lowercasedName == ":scheme"
            || lowercasedName == ":method" || lowercasedName == ":status"
    }

    // MARK: Headers

    public func header(name: String, value: String) -> String {
        guard isEnabled else { return value }
        let lower = name.lowercased()
        switch lower {
        case "cookie":
            return cookieList(value)
        case "set-cookie":
            return setCookie(value)
        case "authorization", "proxy-authorization":
            return credentials(value)
        default:
            break
        }
        if Self.isProtocolHeader(lower) { return value }
        if Self.nameLooksSecret(lower) { return remember(value) }
        if lower == "location" || lower == "referer" || lower == "content-location" || value.contains("?") {
            return url(value)
        }
        return valueLooksSecret(value) ? remember(value) : scrubTokens(value)
    }

    /// Whether `header(name:value:)` could change this field, decided on bytes: false for the
    /// common header (a short value, a protocol field, no query, no token-shaped run), so a
    /// stream builds strings only for the few fields that may hide a secret. No allocation: the
    /// name is lower-cased into a reused buffer and compared with byte constants.
    public func mayHideSecret(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) -> Bool {
        guard isEnabled else { return false }
        switch nameClass(name) {
        case .secret: return true
        case .protocolFact: return false
        case .byValue: return Self.mayHideSecret(value: value)
        }
    }

    /// What a field name alone says; names repeat on every message, so the answer is kept per
    /// name (a case-folded hash, checked against the name itself).
    private enum NameClass { case secret, protocolFact, byValue }
    private var nameClasses: [UInt64: (name: [UInt8], nameClass: NameClass)] = [:]
    private var lowered: [UInt8] = []

    private func nameClass(_ name: ArraySlice<UInt8>) -> NameClass {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name { hash = (hash ^ UInt64(HTTPText.lowercased(byte))) &* 0x0000_0100_0000_01b3 }
        if let known = nameClasses[hash], known.name.count == name.count,
           zip(known.name, name).allSatisfy({ $0 == HTTPText.lowercased($1) }) {
            return known.nameClass
        }
        lowered.removeAll(keepingCapacity: true)
        for byte in name { lowered.append(HTTPText.lowercased(byte)) }
        let decided: NameClass
        if Self.secretNames.contains(where: { $0 == lowered }) {
            decided = .secret
        } else if lowered.starts(with: Self.accessControlPrefix) || Self.protocolNames.contains(where: { $0 == lowered }) {
            decided = .protocolFact
        } else if Self.secretFragments.contains(where: { Self.contains(lowered, $0) }) {
            decided = .secret
        } else {
            decided = .byValue
        }
        if nameClasses.count >= 4096 { nameClasses.removeAll(keepingCapacity: true) }
        nameClasses[hash] = (lowered, decided)
        return decided
    }
    private static let secretNames = ["cookie", "set-cookie", "authorization", "proxy-authorization"].map { Array($0.utf8) }
    /// HTTP/2's pseudo-headers too: `:authority` is the Host of HTTP/2 (its name holds "auth", which
    /// would otherwise mark it secret); `:path` is judged like a target, by its value.
    private static let protocolNames = ["vary", "origin", "host", ":authority", ":scheme", ":method", ":status"].map { Array($0.utf8) }
    private static let accessControlPrefix = Array("access-control-".utf8)
    private static let secretFragments = secretNameFragments.map { Array($0.utf8) }
    private static let bearer = Array("bearer ".utf8), basic = Array("basic ".utf8)

    /// A URL or userinfo, a `Bearer`/`Basic` credential, or a run of 20+ token characters where a
    /// letter meets a digit (what `scrubTokens` could replace). Dates, user agents and MIME lists
    /// have none.
    public static func mayHideSecret(value: ArraySlice<UInt8>) -> Bool {
        value.withUnsafeBufferPointer(mayHideSecret(bytes:))
    }

    /// Whether `text` holds a run of 20 or more token bytes (base64url, `+/=.~`) with `eyJ` or an
    /// alphanumeric stretch that mixes letters and digits in it. Every word `scrubTokens` replaces
    /// and every value `valueLooksSecret` calls a JWT or a high-entropy token is inside such a
    /// run, so text without one (a URL of words and numbers, a sentence) is returned as it is,
    /// decided on bytes without splitting it into words.
    static func mayHoldToken(_ text: String) -> Bool {
        var text = text
        return text.withUTF8(mayHoldToken(bytes:))
    }

    static func mayHoldToken(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var run = 0
        var runQualifies = false
        var stretchHasDigit = false, stretchHasLetter = false
        for (index, byte) in bytes.enumerated() {
            guard isTokenByte(byte) else {
                run = 0
                runQualifies = false
                stretchHasDigit = false
                stretchHasLetter = false
                continue
            }
            run += 1
            if byte &- 0x30 < 10 {
                stretchHasDigit = true
            } else if (byte | 0x20) &- 0x61 < 26 {
                stretchHasLetter = true
            } else {
                stretchHasDigit = false
                stretchHasLetter = false
            }
            if stretchHasDigit && stretchHasLetter { runQualifies = true }
            if byte == UInt8(ascii: "J"), index >= 2, bytes[index - 2] == UInt8(ascii: "e"), bytes[index - 1] == UInt8(ascii: "y"), run >= 3 {
                runQualifies = true
            }
            if run >= 20 && runQualifies { return true }
        }
        return false
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        isBase64URL(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "~")
    }

    static func mayHideSecret(bytes value: UnsafeBufferPointer<UInt8>) -> Bool {
        if value.count < 6 {
            // Too short for a credential scheme or a token: only a query or userinfo could matter.
            return value.contains { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "@") }
        }
        var first = 0
        while first < value.count, value[first] == 0x20 || value[first] == 0x09 { first += 1 }
        let start = UnsafeBufferPointer(rebasing: value[first...])
        if hasLowercasePrefix(start, bearer) || hasLowercasePrefix(start, basic) { return true }
        var run = 0
        var mixed = false
        var previous: UInt8 = 0
        for byte in value {
            if byte == UInt8(ascii: "?") || byte == UInt8(ascii: "@") { return true }
            let isToken = isBase64URL(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
                || byte == UInt8(ascii: "=") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
            guard isToken else {
                run = 0
                mixed = false
                previous = 0
                continue
            }
            run += 1
            let isDigit = byte &- 0x30 < 10, wasDigit = previous &- 0x30 < 10
            let isLetter = (byte | 0x20) &- 0x61 < 26, wasLetter = (previous | 0x20) &- 0x61 < 26
            if (isDigit && wasLetter) || (isLetter && wasDigit) { mixed = true }
            if run >= 20 && mixed { return true }
            previous = byte
        }
        return false
    }

    private static func hasLowercasePrefix<Bytes: Collection>(_ bytes: Bytes, _ lowercase: [UInt8]) -> Bool where Bytes.Element == UInt8 {
        var index = bytes.startIndex
        for wanted in lowercase {
            guard index != bytes.endIndex, HTTPText.lowercased(bytes[index]) == wanted else { return false }
            index = bytes.index(after: index)
        }
        return true
    }

    /// Whether `needle` occurs in `haystack`, byte for byte.
    private static func contains<Haystack: Collection>(_ haystack: Haystack, _ needle: [UInt8]) -> Bool
    where Haystack.Element == UInt8, Haystack.Index == Int {
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        var start = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while start <= last {
            if haystack[start] == needle[0] {
                var k = 1
                while k < needle.count && haystack[start + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            start += 1
        }
        return false
    }

    /// `a=1; b=2` → `a=[redacted]; b=[redacted]`: the names say which cookies were sent.
    private func cookieList(_ value: String) -> String {
        value.split(separator: ";", omittingEmptySubsequences: false).map { part -> String in
            guard let equals = part.firstIndex(of: "=") else { return String(part) }
            remember(String(part[part.index(after: equals)...]))
            return String(part[...equals]) + Self.placeholder
        }.joined(separator: ";")
    }

    /// `session=abc; Path=/; HttpOnly` → `session=[redacted]; Path=/; HttpOnly`.
    private func setCookie(_ value: String) -> String {
        var parts = value.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first else { return value }
        if let equals = first.firstIndex(of: "=") {
            remember(String(first[first.index(after: equals)...]))
            parts[0] = String(first[...equals]) + Self.placeholder
        } else {
            parts[0] = remember(first)
        }
        return parts.joined(separator: ";")
    }

    /// Keeps the scheme (`Bearer`, `Basic`): it matters for CORS (credentialed or not).
    private func credentials(_ value: String) -> String {
        let trimmed = value.trimmingSpaces
        if let space = trimmed.firstIndex(of: " ") {
            remember(String(trimmed[trimmed.index(after: space)...]).trimmingSpaces)
            return String(trimmed[..<space]) + " " + Self.placeholder
        }
        return remember(trimmed)
    }

    // MARK: URLs

    /// Redacts query parameters whose name or value looks secret, and user:password in the authority.
    public func url(_ url: String) -> String {
        guard isEnabled else { return url }
        // Only a query or userinfo can hold a secret: most targets have neither.
        guard url.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "@") }) else { return url }
        var bytes = url
        guard bytes.withUTF8(Self.urlMayChange(bytes:)) else { return url }
        var result = url
        if let schemeEnd = HTTPURL.schemeSeparator(in: result) {
            let authorityEnd = result[schemeEnd.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" })
                ?? result.endIndex
            if let at = result[schemeEnd.upperBound..<authorityEnd].lastIndex(of: "@") {
                remember(String(result[schemeEnd.upperBound..<at]))
                result.replaceSubrange(schemeEnd.upperBound..<at, with: Self.placeholder)
            }
        }
        guard let question = result.firstIndex(of: "?") else { return result }
        let fragmentStart = result[question...].firstIndex(of: "#") ?? result.endIndex
        let query = result[result.index(after: question)..<fragmentStart]
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = String(pair[..<equals]).lowercased()
            let value = String(pair[pair.index(after: equals)...])
            if Self.nameLooksSecret(name) || valueLooksSecret(value) {
                remember(value)
                return String(pair[...equals]) + Self.placeholder
            }
            return String(pair)
        }.joined(separator: "&")
        return String(result[...question]) + redacted + String(result[fragmentStart...])
    }

    /// Whether `url(_:)` could change these bytes: userinfo in the authority, or a query pair
    /// whose name holds a secret fragment or whose value passes `mayBeSecretValue`. Most URLs
    /// are returned without being split into strings.
    static func urlMayChange(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // `url(_:)` splits on Characters and lower-cases with Unicode rules (a Kelvin sign
        // becomes "k"): a URL that is not ASCII takes that path.
        if bytes.contains(where: { $0 >= 0x80 }) { return true }
        let count = bytes.count
        var i = 0
        // "://" then the authority: an "@" in it is userinfo.
        var schemeEnd: Int? = nil
        while i + 2 < count {
            if bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/") { schemeEnd = i + 3; break }
            i += 1
        }
        if let start = schemeEnd {
            var j = start
            while j < count, bytes[j] != UInt8(ascii: "/"), bytes[j] != UInt8(ascii: "?"), bytes[j] != UInt8(ascii: "#") {
                if bytes[j] == UInt8(ascii: "@") { return true }
                j += 1
            }
        }
        guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else { return false }
        var queryEnd = question + 1
        while queryEnd < count, bytes[queryEnd] != UInt8(ascii: "#") { queryEnd += 1 }
        var pairStart = question + 1
        var lowered: [UInt8] = []
        while pairStart <= queryEnd {
            var pairEnd = pairStart
            while pairEnd < queryEnd, bytes[pairEnd] != UInt8(ascii: "&") { pairEnd += 1 }
            if let equals = bytes[pairStart..<pairEnd].firstIndex(of: UInt8(ascii: "=")) {
                lowered.removeAll(keepingCapacity: true)
                for k in pairStart..<equals { lowered.append(HTTPText.lowercased(bytes[k])) }
                if secretFragments.contains(where: { contains(lowered, $0) }) { return true }
                if mayBeSecretValue(bytes: UnsafeBufferPointer(rebasing: bytes[(equals + 1)..<pairEnd])) { return true }
            }
            pairStart = pairEnd + 1
        }
        return false
    }

    // MARK: Free text

    /// Replaces every secret already redacted elsewhere, and any bearer token or JWT, in `text`.
    public func text(_ text: String) -> String {
        guard isEnabled else { return text }
        var result = text
        if !seenSecrets.isEmpty {
            if orderedSecrets.count != seenSecrets.count {
                // Longest first, so a secret that contains another is replaced whole.
                orderedSecrets = seenSecrets.sorted { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
                    .map { ($0, Array($0.utf8)) }
            }
            var bytes = Array(result.utf8)
            for (secret, secretBytes) in orderedSecrets where Self.contains(bytes, secretBytes) {
                result = result.replacingAll(secret, with: Self.placeholder)
                bytes = Array(result.utf8)
            }
        }
        // Most texts have no token-shaped run at all: decided on bytes, no words split.
        guard Self.mayHoldToken(result) else { return result }
        return scrubTokens(result)
    }

    /// Replaces JWT-shaped and long high-entropy words inside a longer value.
    private func scrubTokens(_ value: String) -> String {
        guard value.utf8.count >= 20 else { return value }
        var changed = false
        let words = value.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            let core = word.trimmingCharacters(in: "\"'(),;<>[]")
            if core.utf8.count >= 20, Self.looksLikeJWT(core) || Self.looksHighEntropy(core) {
                changed = true
                remember(core)
                return String(word).replacingAll(core, with: Self.placeholder)
            }
            return String(word)
        }
        return changed ? words.joined(separator: " ") : value
    }

    /// Drops the secrets remembered so far (a stream does this per exchange: memory stays flat).
    public func forgetSecrets() {
        if !seenSecrets.isEmpty {
            seenSecrets.removeAll(keepingCapacity: true)
            orderedSecrets.removeAll(keepingCapacity: true)
        }
    }

    /// `seenSecrets`, longest first, with their bytes (rebuilt when a secret is added).
    private var orderedSecrets: [(String, [UInt8])] = []

    @discardableResult
    private func remember(_ secret: String) -> String {
        let trimmed = secret.trimmingSpaces
        if trimmed.utf8.count >= 4 && trimmed != Self.placeholder { seenSecrets.insert(trimmed) }
        return Self.placeholder
    }

    // MARK: Classification

    /// On the name's bytes: `String.contains(String)` takes the generic searcher of
    /// _StringProcessing, which cost more than the rest of a HAR exchange's JSON together.
    static func nameLooksSecret(_ lowercasedName: String) -> Bool {
        var name = lowercasedName
        return name.withUTF8 { bytes in secretFragments.contains { contains(bytes, $0) } }
    }

    func valueLooksSecret(_ value: String) -> Bool {
        // Decided on bytes first: a high-entropy token is inside a run `mayHoldToken` finds; a
        // JWT may be shorter than 20 bytes but starts with `eyJ`.
        var bytes = value
        guard bytes.withUTF8(Self.mayBeSecretValue(bytes:)) else { return false }
        let trimmed = value.trimmingSpaces
        let lower = trimmed.lowercased()
        if lower.hasPrefix("bearer ") || lower.hasPrefix("basic ") { return true }
        return Self.looksLikeJWT(trimmed) || Self.looksHighEntropy(trimmed)
    }

    private static let jwtHeaderStart = Array("eyJ".utf8)

    /// A necessary condition for `valueLooksSecret`, on bytes: a token run (`mayHoldToken`), `eyJ`
    /// (a JWT may be shorter than 20 bytes), or `Bearer `/`Basic ` after leading spaces and tabs.
    static func mayBeSecretValue(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if mayHoldToken(bytes: bytes) || contains(bytes, jwtHeaderStart) { return true }
        var first = 0
        while first < bytes.count, bytes[first] == 0x20 || bytes[first] == 0x09 { first += 1 }
        let start = UnsafeBufferPointer(rebasing: bytes[first...])
        return hasLowercasePrefix(start, bearer) || hasLowercasePrefix(start, basic)
    }

    /// Three base64url parts separated by dots, the first a JSON object (`eyJ`).
    static func looksLikeJWT(_ value: String) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].hasPrefix("eyJ"), parts[0].utf8.count >= 8, parts[1].utf8.count >= 2 else { return false }
        return parts.allSatisfy { $0.utf8.allSatisfy(isBase64URL) }
    }

    /// Long tokens of base64/hex characters with letters, digits and high Shannon entropy:
    /// API keys and session ids, while words, dates and version strings stay.
    static func looksHighEntropy(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count >= 20, bytes.count <= 4096 else { return false }
        var counts = [Int](repeating: 0, count: 128)
        var hasDigit = false, hasLetter = false
        for b in bytes {
            guard b < 128, isBase64URL(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=")
                    || b == UInt8(ascii: ".") || b == UInt8(ascii: "~") else { return false }
            if b &- 0x30 < 10 { hasDigit = true } else if (b | 0x20) &- 0x61 < 26 { hasLetter = true }
            counts[Int(b)] += 1
        }
        guard hasDigit && hasLetter else { return false }
        // Slugs (`preflight-405-static`, `v2_items`) join words and numbers with separators;
        // generated secrets mix letters and digits inside one run.
        var mixedRun = false, runHasDigit = false, runHasLetter = false
        for b in bytes {
            if b &- 0x30 < 10 { runHasDigit = true } else if (b | 0x20) &- 0x61 < 26 { runHasLetter = true } else {
                runHasDigit = false
                runHasLetter = false
            }
            if runHasDigit && runHasLetter { mixedRun = true; break }
        }
        guard mixedRun else { return false }
        var entropy = 0.0
        let total = Double(bytes.count)
        for c in counts where c > 0 {
            let p = Double(c) / total
            entropy -= p * log2(p)
        }
        return entropy >= 3.5
    }

    private static func isBase64URL(_ b: UInt8) -> Bool {
        b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 26 || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }
}

private func log2(_ x: Double) -> Double {
    // Natural log via the identity log2(x) = ln(x)/ln(2), without importing Foundation.
    var y = x
    var exponent = 0.0
    while y >= 2 { y /= 2; exponent += 1 }
    while y < 1 { y *= 2; exponent -= 1 }
    // ln(y) for y in [1,2) by the atanh series: ln(y) = 2 * atanh((y-1)/(y+1)).
    let t = (y - 1) / (y + 1)
    var term = t, sum = 0.0, k = 1.0
    for _ in 0..<12 { sum += term / k; term *= t * t; k += 2 }
    return exponent + 2 * sum / 0.6931471805599453
}

extension String {
    public var trimmingSpaces: String { trimmingCharacters(in: " \t") }

    /// Every occurrence of `target` replaced (no Foundation in this module).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, let first = firstRange(of: target) else { return self }
        var result = String(self[..<first.lowerBound]) + replacement
        var rest = self[first.upperBound...]
        while let next = rest.firstRange(of: target) {
            result += rest[..<next.lowerBound] + replacement
            rest = rest[next.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    public var trimmingSpaces: String { trimmingCharacters(in: " \t") }
}

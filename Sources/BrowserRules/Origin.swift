/// A web origin (HTML "origin"): either a scheme/host/port tuple or an opaque origin.
///
/// This is a deliberately small parser for what captures contain (absolute http(s)/ws(s) URLs and
/// `Origin` header values). It lower-cases scheme and host, keeps IPv6 literals in brackets and
/// drops default ports. It does not do IDNA/punycode or IPv4 number normalisation: a capture
/// already carries the browser's serialised form, which is what Chromium compares against.
public enum Origin: Sendable, Hashable, CustomStringConvertible {
    /// `port` is nil when it is the scheme's default port (or the scheme has none).
    case tuple(scheme: String, host: String, port: Int?)
    case opaque

    /// The ASCII serialisation (HTML "serialization of an origin"): `scheme://host[:port]` or `null`.
    public var serialized: String {
        switch self {
        case .opaque:
            return "null"
        case let .tuple(scheme, host, port):
            if let port { return "\(scheme)://\(host):\(port)" }
            return "\(scheme)://\(host)"
        }
    }

    public var description: String { serialized }

    /// Fast path for the common shape `http(s)://host[:port]…` with a plain authority: lower-case
    /// printable ASCII host, no userinfo, IPv6 brackets, percent signs or other bytes the host
    /// parser treats specially, a 1–5 digit port. Returns exactly `ParsedURL(text)?.origin`
    /// (with `onlyOrigin`: the text is nothing but the origin, as `init(serialized:)` demands);
    /// nil means "not this shape, use the full parser", never "invalid".
    static func plainHTTPOrigin(_ text: String, onlyOrigin: Bool) -> Origin? {
        let result: Origin?? = text.utf8.withContiguousStorageIfAvailable { b -> Origin? in
            let count = b.count
            guard count > 7, b[0] == UInt8(ascii: "h"), b[1] == UInt8(ascii: "t"), b[2] == UInt8(ascii: "t"),
                  b[3] == UInt8(ascii: "p") else { return nil }
            var i: Int
            let https: Bool
            if b[4] == UInt8(ascii: ":") {
                https = false
                i = 5
            } else if b[4] == UInt8(ascii: "s"), b[5] == UInt8(ascii: ":") {
                https = true
                i = 6
            } else {
                return nil
            }
            guard i + 2 < count, b[i] == UInt8(ascii: "/"), b[i + 1] == UInt8(ascii: "/") else { return nil }
            i += 2
            let hostStart = i
            var colon = -1
            scan: while i < count {
                let c = b[i]
                switch c {
                case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "?"), UInt8(ascii: "#"):
                    break scan
                case UInt8(ascii: ":"):
                    if colon >= 0 { return nil }
                    colon = i
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                    break
                default:
                    return nil
                }
                i += 1
            }
            let authorityEnd = i
            if onlyOrigin && authorityEnd != count { return nil }
            let hostEnd = colon >= 0 ? colon : authorityEnd
            guard hostEnd > hostStart else { return nil }
            var port: Int?
            if colon >= 0 {
                let digits = authorityEnd - colon - 1
                guard digits >= 1 && digits <= 5 else { return nil }
                var value = 0
                for index in (colon + 1)..<authorityEnd {
                    let digit = b[index] &- 0x30
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int(digit)
                }
                guard value <= 65535 else { return nil }
                port = value == (https ? 443 : 80) ? nil : value
            }
            let host = String(decoding: UnsafeBufferPointer(rebasing: b[hostStart..<hostEnd]), as: UTF8.self)
            return .tuple(scheme: https ? "https" : "http", host: host, port: port)
        }
        return result ?? nil
    }

    /// Whether `serialized == text`, without building the serialisation.
    func serializationEquals(_ text: String) -> Bool {
        switch self {
        case .opaque:
            return text == "null"
        case let .tuple(scheme, host, port):
            // `\(scheme)://\(host)[:\(port)]`, compared piece by piece.
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
            var digitCount = 0
            if let port {
                guard port >= 0 && port <= 65535 else { return text == serialized }
                var value = port
                withUnsafeMutableBytes(of: &digits) { buffer in
                    repeat {
                        buffer[5 - digitCount] = UInt8(ascii: "0") + UInt8(value % 10)
                        digitCount += 1
                        value /= 10
                    } while value > 0
                }
            }
            let expected = scheme.utf8.count + 3 + host.utf8.count + (port == nil ? 0 : 1 + digitCount)
            guard text.utf8.count == expected else { return false }
            var bytes = text.utf8.makeIterator()
            for byte in scheme.utf8 where bytes.next() != byte { return false }
            for byte in "://".utf8 where bytes.next() != byte { return false }
            for byte in host.utf8 where bytes.next() != byte { return false }
            if port != nil {
                guard bytes.next() == UInt8(ascii: ":") else { return false }
                return withUnsafeBytes(of: &digits) { buffer in
                    for index in (6 - digitCount)..<6 where bytes.next() != buffer[index] { return false }
                    return true
                }
            }
            return true
        }
    }

    public var isOpaque: Bool { self == .opaque }

    public var scheme: String? {
        if case let .tuple(scheme, _, _) = self { return scheme }
        return nil
    }

    public var host: String? {
        if case let .tuple(_, host, _) = self { return host }
        return nil
    }

    /// Opaque origins are never same-origin with anything, not even another opaque origin
    /// (we cannot tell two opaque origins apart from a capture).
    public func isSameOrigin(as other: Origin) -> Bool {
        if case .opaque = self { return false }
        return self == other
    }

    /// The origin of an absolute URL. Non-special schemes (`data:`, `about:`, `file:` …) give an
    /// opaque origin; `blob:` takes its inner URL's origin. Returns nil when `url` is not absolute.
    public init?(url: String) {
        guard let parsed = ParsedURL(url) else { return nil }
        self = parsed.origin
    }

    /// Parses an `Origin` header value (or an `Access-Control-Allow-Origin` value being compared):
    /// `null`, or exactly `scheme://host[:port]` with no path, query, fragment or userinfo.
    /// Returns nil for anything else.
    public init?(serialized value: String) {
        if value == "null" { self = .opaque; return }
        if let origin = Origin.plainHTTPOrigin(value, onlyOrigin: true) { self = origin; return }
        guard let parsed = ParsedURL(value), parsed.hasOnlyOrigin,
              case .tuple = parsed.origin else { return nil }
        self = parsed.origin
    }

    static func defaultPort(forScheme scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": return 80
        case "https", "wss": return 443
        case "ftp": return 21
        default: return nil
        }
    }
}

/// The pieces of an absolute URL this module needs. Not a general URL parser: enough to get the
/// origin, detect credentials in a redirect `Location`, and rebuild a canonical string for messages.
public struct ParsedURL: Sendable, Hashable {
    public var scheme: String
    public var username: String
    public var password: String
    /// Lower-cased; IPv6 literals keep their brackets. Empty for non-special schemes.
    public var host: String
    /// Explicit port, nil when absent or equal to the scheme's default.
    public var port: Int?
    /// Path, query and fragment exactly as written (may be empty).
    public var pathQueryFragment: String
    /// True for the WHATWG "special" schemes that have a host (http, https, ws, wss, ftp, file).
    public var isSpecial: Bool
    /// Only for `blob:` URLs: the origin of the inner URL.
    var blobInnerOrigin: Origin?

    /// WHATWG "includes credentials": a non-empty username or password. `http://@host/` has none.
    public var includesCredentials: Bool { !username.isEmpty || !password.isEmpty }

    public var isHTTPFamily: Bool { scheme == "http" || scheme == "https" }

    var hasOnlyOrigin: Bool {
        isSpecial && !includesCredentials && !hadUserinfo && pathQueryFragment.isEmpty
    }

    private var hadUserinfo = false

    public var origin: Origin {
        if scheme == "blob" { return blobInnerOrigin ?? .opaque }
        guard isSpecial, scheme != "file", !host.isEmpty else { return .opaque }
        return .tuple(scheme: scheme, host: host, port: port)
    }

    /// Roughly what the browser prints for the URL (KURL/GURL canonical form): lower-case scheme
    /// and host, default port dropped, `/` for an empty path of a special URL. Userinfo is kept.
    public var canonicalString: String {
        guard isSpecial else { return "\(scheme):\(pathQueryFragment)" }
        var text = "\(scheme)://"
        if includesCredentials {
            text += username
            if !password.isEmpty { text += ":" + password }
            text += "@"
        }
        text += host
        if let port { text += ":\(port)" }
        if pathQueryFragment.isEmpty || !pathQueryFragment.hasPrefix("/") {
            text += "/"
        }
        text += pathQueryFragment
        return text
    }

    /// Bytes the WHATWG host parser rejects: ` \t\n\r#%/:<>?@[\]^|` (a switch, no hashing per byte).
    @inline(__always)
    private static func isForbiddenHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"),
             UInt8(ascii: "%"), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "?"), UInt8(ascii: "@"), UInt8(ascii: "["), UInt8(ascii: "\\"), UInt8(ascii: "]"),
             UInt8(ascii: "^"), UInt8(ascii: "|"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26 || byte &- 0x30 < 10 || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }

    /// `text.hasPrefix(String(UnicodeScalar(byte)))` for an ASCII `byte`: true when the first
    /// Character is exactly that byte (a following non-ASCII scalar may extend the Character,
    /// so that rare case takes the Character path).
    @inline(__always)
    private static func startsWithASCII(_ text: Substring, _ byte: UInt8) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, first == byte else { return false }
        let second = bytes.index(after: bytes.startIndex)
        if second == bytes.endIndex || bytes[second] < 0x80 { return true }
        return text.hasPrefix(String(UnicodeScalar(byte)))
    }

    /// The value of 1–5 ASCII digits (already checked), as `Int(text)` would give.
    @inline(__always)
    private static func decimalValue(_ digits: Substring) -> Int? {
        var value = 0
        for byte in digits.utf8 { value = value * 10 + Int(byte &- 0x30) }
        return value
    }


    public init?(_ raw: String) {
        // URL parsing strips leading/trailing C0 controls and spaces.
        let text = raw.trimmingASCII(where: { $0 <= 0x20 })
        // Delimiters are ASCII: search UTF-8 bytes, not Characters (this runs on every exchange).
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let schemePart = text[..<colon]
        // Scheme characters are all ASCII, so checking bytes equals checking scalars.
        guard let first = schemePart.utf8.first, (first | 0x20) &- 0x61 < 26,
              schemePart.utf8.allSatisfy(Self.isSchemeByte)
        else { return nil }
        scheme = schemePart.asciiLowercased
        var rest = Substring(text[text.index(after: colon)...])
        switch scheme {
        case "http", "https", "ws", "wss", "ftp", "file": isSpecial = true
        default: isSpecial = false
        }
        username = ""
        password = ""
        host = ""
        port = nil
        blobInnerOrigin = nil

        guard isSpecial else {
            pathQueryFragment = String(rest)
            if scheme == "blob" { blobInnerOrigin = ParsedURL(String(rest)).map { $0.origin } }
            return
        }
        // Special URLs accept any number of slashes (and backslashes) before the authority.
        while let c = rest.utf8.first, c == UInt8(ascii: "/") || c == UInt8(ascii: "\\") { rest = rest.dropFirst() }
        let authorityEnd = rest.utf8.firstIndex(where: {
            $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
        }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        pathQueryFragment = String(rest[authorityEnd...])

        if let at = authority.utf8.lastIndex(of: UInt8(ascii: "@")) {
            hadUserinfo = true
            let userinfo = authority[..<at]
            if let sep = userinfo.utf8.firstIndex(of: UInt8(ascii: ":")) {
                username = String(userinfo[..<sep])
                password = String(userinfo[userinfo.index(after: sep)...])
            } else {
                username = String(userinfo)
            }
            authority = authority[authority.index(after: at)...]
        }

        var hostPart: Substring
        var portPart: Substring?
        if Self.startsWithASCII(authority, UInt8(ascii: "[")) {
            guard let close = authority.utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostPart = authority[...close]
            let afterBracket = authority[authority.index(after: close)...]
            if Self.startsWithASCII(afterBracket, UInt8(ascii: ":")) {
                portPart = afterBracket.dropFirst()
            } else if !afterBracket.isEmpty {
                return nil
            }
        } else if let sep = authority.utf8.lastIndex(of: UInt8(ascii: ":")) {
            hostPart = authority[..<sep]
            portPart = authority[authority.index(after: sep)...]
        } else {
            hostPart = authority
        }
        guard scheme == "file" || !hostPart.isEmpty else { return nil }
        // Characters the WHATWG host parser rejects outright.
        if !Self.startsWithASCII(hostPart, UInt8(ascii: "[")) {
            guard !hostPart.utf8.contains(where: { $0 < 0x20 || Self.isForbiddenHostByte($0) }) else { return nil }
        }
        host = hostPart.asciiLowercased

        if let portPart, !portPart.isEmpty {
            guard portPart.utf8.allSatisfy({ $0 &- 0x30 < 10 }), portPart.utf8.count <= 5,
                  let value = Self.decimalValue(portPart), value <= 65535 else { return nil }
            port = value == Origin.defaultPort(forScheme: scheme) ? nil : value
        }
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) }
    var isASCIIDigit: Bool { (0x30...0x39).contains(value) }
}

extension StringProtocol {
    /// Trims ASCII bytes matching `shouldTrim` from both ends. Works on UTF-8 bytes (no scalar
    /// arrays): headers are checked on every exchange, so this is on the hot path.
    func trimmingASCII(where shouldTrim: (UInt32) -> Bool) -> String {
        let whole = Substring(self)
        let bytes = whole.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, shouldTrim(UInt32(bytes[start])) { start = bytes.index(after: start) }
        while end > start {
            let last = bytes.index(before: end)
            guard shouldTrim(UInt32(bytes[last])) else { break }
            end = last
        }
        if start == bytes.startIndex && end == bytes.endIndex, let string = self as? String { return string }
        return String(whole[start..<end])
    }

    /// HTTP whitespace trimming (SP, HTAB, CR, LF), as header parsing does to field values.
    var trimmingHTTPWhitespace: String {
        trimmingASCII(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
    }

    /// ASCII-only lower-casing: header names and tokens are ASCII; non-ASCII stays as is.
    /// Returns the string itself when nothing changes (the common case: no allocation).
    var asciiLowercased: String {
        if let string = self as? String {
            if !string.utf8.contains(where: { $0 &- 0x41 < 26 }) { return string }
            return ASCIIText.caseMapped(string.utf8, upper: false)
        }
        return ASCIIText.caseMapped(Substring(self).utf8, upper: false)
    }

    /// ASCII case-insensitive equality without building lower-cased copies.
    func equalsIgnoringASCIICase<Other: StringProtocol>(_ other: Other) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        var i = a.startIndex, j = b.startIndex
        while i != a.endIndex {
            let x = a[i], y = b[j]
            if x != y && ASCIIText.lower(x) != ASCIIText.lower(y) { return false }
            i = a.index(after: i)
            j = b.index(after: j)
        }
        return true
    }

    var asciiUppercased: String {
        if let string = self as? String {
            if !string.utf8.contains(where: { $0 &- 0x61 < 26 }) { return string }
            return ASCIIText.caseMapped(string.utf8, upper: true)
        }
        return ASCIIText.caseMapped(Substring(self).utf8, upper: true)
    }
}

extension String {
    /// `trimmingHTTPWhitespace` returning the string itself when neither end is whitespace
    /// (most header values), without going through a Substring.
    var trimmingHTTPWhitespace: String {
        let bytes = utf8
        guard let first = bytes.first, let last = bytes.last else { return self }
        if !ASCIIText.isHTTPWhitespace(first) && !ASCIIText.isHTTPWhitespace(last) { return self }
        return trimmingASCII(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
    }

    /// ASCII case-insensitive equality on contiguous UTF-8 (native strings): a plain byte loop,
    /// no iterators. Header lookups call this for every field of every exchange.
    @inline(__always)
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        if let result = utf8.withContiguousStorageIfAvailable({ a in
            other.utf8.withContiguousStorageIfAvailable { b in ASCIIText.equalFolded(a, b) }
        }), let result { return result }
        return Substring(self).equalsIgnoringASCIICase(Substring(other))
    }
}

/// Byte helpers for ASCII case folding.
enum ASCIIText {
    /// For an all-ASCII `value`: its `,`-separated items, HTTP-whitespace trimmed, empty ones
    /// left out — what `split(separator: ",")` + `trimmingHTTPWhitespace` + dropping empties
    /// gives (for ASCII text Characters split exactly where bytes do). nil for non-ASCII text.
    static func commaSeparatedItems(_ value: String) -> [Substring]? {
        let bytes = value.utf8
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var items: [Substring] = []
        var pieceStart = bytes.startIndex
        while pieceStart < bytes.endIndex {
            let pieceEnd = bytes[pieceStart...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
            var start = pieceStart, end = pieceEnd
            while start < end, isHTTPWhitespace(bytes[start]) { start = bytes.index(after: start) }
            while end > start, isHTTPWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
            if start < end { items.append(value[start..<end]) }
            pieceStart = pieceEnd == bytes.endIndex ? pieceEnd : bytes.index(after: pieceEnd)
        }
        return items
    }

    @inline(__always)
    static func isHTTPWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 { byte &- 0x41 < 26 ? byte | 0x20 : byte }

    @inline(__always)
    static func equalFolded(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var index = 0
        while index < a.count {
            let x = a[index], y = b[index]
            if x != y && lower(x) != lower(y) { return false }
            index += 1
        }
        return true
    }

    /// The bytes with ASCII letters lower- (or upper-) cased; a small string is built in place.
    @inline(__always)
    static func caseMapped<Bytes: Collection>(_ bytes: Bytes, upper: Bool) -> String where Bytes.Element == UInt8 {
        if let string = bytes.withContiguousStorageIfAvailable({ caseMapped(buffer: $0, upper: upper) }) { return string }
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { caseMapped(buffer: $0, upper: upper) }
    }

    static func caseMapped(buffer source: UnsafeBufferPointer<UInt8>, upper: Bool) -> String {
        String(unsafeUninitializedCapacity: source.count) { target in
            var index = 0
            if upper {
                while index < source.count {
                    let byte = source[index]
                    target[index] = byte &- 0x61 < 26 ? byte & 0xDF : byte
                    index += 1
                }
            } else {
                while index < source.count {
                    let byte = source[index]
                    target[index] = byte &- 0x41 < 26 ? byte | 0x20 : byte
                    index += 1
                }
            }
            return index
        }
    }
}

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

    private static func isSchemeScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCIILetter || scalar.isASCIIDigit || scalar == "+" || scalar == "-" || scalar == "."
    }

    public init?(_ raw: String) {
        // URL parsing strips leading/trailing C0 controls and spaces.
        let text = raw.trimmingASCII(where: { $0 <= 0x20 })
        // Delimiters are ASCII: search UTF-8 bytes, not Characters (this runs on every exchange).
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let schemePart = text[..<colon]
        guard let first = schemePart.unicodeScalars.first, first.isASCIILetter,
              schemePart.unicodeScalars.allSatisfy(Self.isSchemeScalar)
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
        if authority.hasPrefix("[") {
            guard let close = authority.utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostPart = authority[...close]
            let afterBracket = authority[authority.index(after: close)...]
            if afterBracket.hasPrefix(":") {
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
        if !hostPart.hasPrefix("[") {
            guard !hostPart.utf8.contains(where: { $0 < 0x20 || Self.isForbiddenHostByte($0) }) else { return nil }
        }
        host = hostPart.asciiLowercased

        if let portPart, !portPart.isEmpty {
            guard portPart.utf8.allSatisfy({ $0 &- 0x30 < 10 }), portPart.utf8.count <= 5,
                  let value = Int(portPart), value <= 65535 else { return nil }
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
        if !utf8.contains(where: { $0 &- 0x41 < 26 }), let string = self as? String { return string }
        return ASCIIText.mapped(utf8, count: utf8.count) { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
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
        if !utf8.contains(where: { $0 &- 0x61 < 26 }), let string = self as? String { return string }
        return ASCIIText.mapped(utf8, count: utf8.count) { $0 &- 0x61 < 26 ? $0 & 0xDF : $0 }
    }
}

extension String {
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

    /// A string of `count` bytes, each `transform`ed (small strings are built without a heap buffer).
    @inline(__always)
    static func mapped<Bytes: Sequence>(_ bytes: Bytes, count: Int, _ transform: (UInt8) -> UInt8) -> String
    where Bytes.Element == UInt8 {
        String(unsafeUninitializedCapacity: count) { buffer in
            var index = 0
            for byte in bytes {
                buffer[index] = transform(byte)
                index += 1
            }
            return index
        }
    }
}

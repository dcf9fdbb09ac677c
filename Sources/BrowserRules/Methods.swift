/// Method rules from Fetch §"Methods" and Chromium `cors.cc`.
public enum MethodRules {
    /// Fetch "CORS-safelisted method": GET, HEAD, POST. Chromium's `IsCorsSafelistedMethod`
    /// upper-cases first, so `get`/`Get` count too (cors_unittest.cc).
    public static func isSafelisted(_ method: String) -> Bool {
        switch method {
        case "GET", "HEAD", "POST": return true
        default: break
        }
        switch method.asciiUppercased {
        case "GET", "HEAD", "POST": return true
        default: return false
        }
    }

    /// Fetch "forbidden method" (case-insensitive): `fetch()` throws before any I/O.
    public static func isForbidden(_ method: String) -> Bool {
        ["CONNECT", "TRACE", "TRACK"].contains(method.asciiUppercased)
    }

    /// Fetch "normalize a method": only these six are upper-cased by `new Request`/XHR,
    /// which is why `patch` reaches the wire (and the ACAM comparison) in lower case.
    public static func normalize(_ method: String) -> String {
        switch method {
        case "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT": return method
        default: break
        }
        let upper = method.asciiUppercased
        switch upper {
        case "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT": return upper
        default: return method
        }
    }

    /// RFC 9110 token (what `HttpUtil::IsToken` accepts).
    public static func isToken(_ text: some StringProtocol) -> Bool {
        // Token characters are ASCII, so a check on UTF-8 bytes is the same as on scalars.
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        if (byte | 0x20) &- 0x61 < 26 || byte &- 0x30 < 10 { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCIILetter || scalar.isASCIIDigit { return true }
        return "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
    }
}

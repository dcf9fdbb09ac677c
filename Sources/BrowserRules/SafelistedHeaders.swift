/// Request-header rules: forbidden names, the CORS-safelisted request-header value rules
/// (Fetch §"CORS-safelisted request-header") and the CORS-unsafe name list that decides
/// whether a preflight is needed and what goes into `Access-Control-Request-Headers`.
public enum HeaderRules {
    /// Fetch caps every safelisted value at 128 bytes.
    static let maxSafelistedValueBytes = 128
    /// …and the sum of safelisted values at 1024 bytes, past which all of them become unsafe.
    static let maxSafelistedTotalBytes = 1024

    private static let forbiddenNames: Set<String> = [
        "accept-charset", "accept-encoding", "access-control-request-headers",
        "access-control-request-method", "connection", "content-length", "cookie", "cookie2",
        "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
        "trailer", "transfer-encoding", "upgrade", "via",
    ]

    private static let methodOverrideNames: Set<String> = [
        "x-http-method", "x-http-method-override", "x-method-override",
    ]

    /// Fetch "forbidden request-header" (Chromium `net/http/http_util.cc IsSafeHeader`, negated).
    /// Scripts cannot set these, so they never trigger a preflight and never appear in ACRH.
    public static func isForbidden(name: String, value: String, profile: BrowserProfile = .chromium) -> Bool {
        let lower = name.asciiLowercased
        if forbiddenNames.contains(lower) || lower.hasPrefix("proxy-") || lower.hasPrefix("sec-") {
            return true
        }
        if lower == "user-agent" { return profile.treatsUserAgentAsForbidden }
        if methodOverrideNames.contains(lower) {
            // Forbidden only when the comma-list value names a forbidden method.
            return value.split(separator: ",").contains { MethodRules.isForbidden($0.trimmingHTTPWhitespace) }
        }
        return false
    }

    /// Fetch "CORS-unsafe request-header byte": < 0x20 except HTAB, `"():<>?@[\]{}`, DEL.
    static func isCorsUnsafeByte(_ byte: UInt8) -> Bool {
        if byte < 0x20 { return byte != 0x09 }
        if byte == 0x7F { return true }
        return Array("\"():<>?@[\\]{}".utf8).contains(byte)
    }

    /// Whether `name: value` is a CORS-safelisted request-header for `profile`.
    public static func isSafelisted(name: String, value: String, profile: BrowserProfile = .chromium) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count <= maxSafelistedValueBytes else { return false }
        switch name.asciiLowercased {
        case "accept":
            return !bytes.contains(where: isCorsUnsafeByte)
        case "accept-language", "content-language":
            return bytes.allSatisfy(isLanguageByte)
        case "content-type":
            guard !bytes.contains(where: isCorsUnsafeByte), let essence = mimeEssence(value) else { return false }
            return ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"].contains(essence)
        case "range":
            return isSimpleRange(value, allowUppercaseUnit: profile.safelistsChromiumExtraHeaders)
        case let other where profile.safelistsChromiumExtraHeaders:
            return isChromiumExtraSafelisted(name: other, value: value)
        default:
            return false
        }
    }

    /// `0-9 A-Z a-z SP * , - . ; =` only (Fetch, accept-language / content-language).
    private static func isLanguageByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "a")...UInt8(ascii: "z"):
            return true
        default:
            return Array(" *,-.;=".utf8).contains(byte)
        }
    }

    /// Fetch "parse a MIME type" far enough to get the essence; nil on failure. Parameters never
    /// make parsing fail (`text/plain;garbage` is fine), but the type/subtype must be tokens
    /// (`text /plain`, `text/plain,` fail).
    static func mimeEssence(_ value: String) -> String? {
        let text = value.trimmingHTTPWhitespace
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let type = text[..<slash]
        let afterSlash = text[text.index(after: slash)...]
        let subtypeRaw = afterSlash.prefix { $0 != ";" }
        // Only trailing whitespace is removed from the subtype (`text/ plain` fails).
        var subtype = Substring(subtypeRaw)
        while let last = subtype.last, last == " " || last == "\t" || last == "\r" || last == "\n" {
            subtype = subtype.dropLast()
        }
        guard MethodRules.isToken(type), MethodRules.isToken(subtype) else { return nil }
        return (type + "/" + subtype).asciiLowercased
    }

    /// Fetch "simple range header value": `bytes=<start>-[<end>]`, no whitespace, one range,
    /// no suffix range, start ≤ end. Chromium parses the unit case-insensitively (`BYTES=` ok,
    /// cors_unittest.cc) and numbers as int64 (61-digit values fail).
    static func isSimpleRange(_ value: String, allowUppercaseUnit: Bool) -> Bool {
        let prefix = "bytes="
        let head = String(value.prefix(prefix.count))
        guard head == prefix || (allowUppercaseUnit && head.asciiLowercased == prefix) else { return false }
        let spec = value.dropFirst(prefix.count)
        guard let dash = spec.firstIndex(of: "-") else { return false }
        let startText = spec[..<dash]
        let endText = spec[spec.index(after: dash)...]
        guard !startText.isEmpty, startText.unicodeScalars.allSatisfy(\.isASCIIDigit),
              let start = Int64(startText) else { return false }
        if endText.isEmpty { return true }
        guard endText.unicodeScalars.allSatisfy(\.isASCIIDigit), let end = Int64(endText) else { return false }
        return start <= end
    }

    /// Chromium-only safelist additions (services/network/public/cpp/cors/cors.cc).
    private static func isChromiumExtraSafelisted(name: String, value: String) -> Bool {
        switch name {
        case "intervention":
            return true
        case "device-memory", "dpr", "downlink":
            return isDecimal(value, allowFraction: true)
        case "width", "viewport-width", "rtt":
            return isDecimal(value, allowFraction: false)
        case "ect":
            // Values of kWebEffectiveConnectionTypeMapping.
            return ["slow-2g", "2g", "3g", "4g"].contains(value)
        case "save-data":
            return value.asciiLowercased == "on"
        default:
            // These `sec-ch-*` names are on Chromium's safelist with any value; being `sec-`
            // names they are forbidden anyway, so this only shows in the raw unsafe-name list.
            return chromiumSafelistedClientHints.contains(name)
        }
    }

    private static let chromiumSafelistedClientHints: Set<String> = [
        "sec-ch-ua", "sec-ch-ua-arch", "sec-ch-ua-platform", "sec-ch-ua-model", "sec-ch-ua-mobile",
        "sec-ch-ua-full-version", "sec-ch-ua-platform-version", "sec-ch-prefers-color-scheme",
        "sec-ch-ua-bitness", "sec-ch-viewport-height", "sec-ch-device-memory", "sec-ch-dpr", "sec-ch-width",
        "sec-ch-viewport-width", "sec-ch-ua-full-version-list", "sec-ch-ua-wow64",
        "sec-ch-prefers-reduced-motion", "sec-ch-ua-form-factors", "sec-ch-prefers-reduced-transparency",
    ]

    /// `1*DIGIT ["." 1*DIGIT]` (or digits only).
    private static func isDecimal(_ value: String, allowFraction: Bool) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 1 || (allowFraction && parts.count == 2) else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.unicodeScalars.allSatisfy(\.isASCIIDigit) }
    }

    /// Fetch "CORS-unsafe request-header names", in request order, lower-cased, de-duplicated.
    /// When the safelisted values add up to more than 1024 bytes, every safelisted name is unsafe too.
    /// With `excludingForbidden` this is Chromium's `CorsUnsafeNotForbiddenRequestHeaderNames`
    /// (what a preflight checks and sends); without it, the raw `CorsUnsafeRequestHeaderNames`.
    public static func corsUnsafeNames(
        in headers: HTTPHeaders,
        profile: BrowserProfile = .chromium,
        excludingForbidden: Bool = true
    ) -> [String] {
        var unsafe: [String] = []
        var safelisted: [String] = []
        var safelistedBytes = 0
        for field in headers {
            // `Headers` normalises values (strips leading/trailing HTTP whitespace) before these checks.
            let value = field.value.trimmingHTTPWhitespace
            if excludingForbidden && isForbidden(name: field.name, value: value, profile: profile) { continue }
            let lower = field.name.asciiLowercased
            if isSafelisted(name: field.name, value: value, profile: profile) {
                safelisted.append(lower)
                safelistedBytes += value.utf8.count
            } else {
                unsafe.append(lower)
            }
        }
        if safelistedBytes > maxSafelistedTotalBytes {
            unsafe += safelisted
        }
        var seen = Set<String>()
        return unsafe.filter { seen.insert($0).inserted }
    }

    /// The `Access-Control-Request-Headers` value a browser would send: sorted, `,`-joined, no spaces.
    public static func accessControlRequestHeadersValue(for names: [String]) -> String? {
        names.isEmpty ? nil : Set(names.map(\.asciiLowercased)).sorted().joined(separator: ",")
    }
}

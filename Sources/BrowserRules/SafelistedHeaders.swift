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
        return isForbidden(lower: lower, traits: traits[lower] ?? [], value: value, profile: profile)
    }

    /// What the rules need to know about a lower-cased header name, found with one hash lookup
    /// (instead of one `Set` lookup per rule for every header of every exchange).
    struct Traits: OptionSet {
        let rawValue: UInt16
        static let forbidden = Traits(rawValue: 1 << 0)
        static let methodOverride = Traits(rawValue: 1 << 1)
        static let userAgent = Traits(rawValue: 1 << 2)
        static let accept = Traits(rawValue: 1 << 3)
        static let language = Traits(rawValue: 1 << 4)
        static let contentType = Traits(rawValue: 1 << 5)
        static let range = Traits(rawValue: 1 << 6)
        /// `PreflightRules.networkStackHeaders`.
        static let networkStack = Traits(rawValue: 1 << 7)
        /// `PreflightRules.revalidationHeaders`.
        static let revalidation = Traits(rawValue: 1 << 8)
        /// `PreflightRules.ambiguousHeaders`.
        static let ambiguous = Traits(rawValue: 1 << 9)
    }

    static let traits: [String: Traits] = {
        var table: [String: Traits] = [:]
        for name in forbiddenNames { table[name, default: []].insert(.forbidden) }
        for name in methodOverrideNames { table[name, default: []].insert(.methodOverride) }
        for name in PreflightRules.networkStackHeaders { table[name, default: []].insert(.networkStack) }
        for name in PreflightRules.revalidationHeaders { table[name, default: []].insert(.revalidation) }
        for name in PreflightRules.ambiguousHeaders { table[name, default: []].insert(.ambiguous) }
        table["user-agent", default: []].insert(.userAgent)
        table["accept", default: []].insert(.accept)
        table["accept-language", default: []].insert(.language)
        table["content-language", default: []].insert(.language)
        table["content-type", default: []].insert(.contentType)
        table["range", default: []].insert(.range)
        return table
    }()

    /// `traits` bucketed by name length, as lower-case bytes, for lookups without lower-casing.
    private static let knownNames: [[(bytes: [UInt8], lower: String, traits: Traits)]] = {
        var buckets = [[(bytes: [UInt8], lower: String, traits: Traits)]](repeating: [], count: 48)
        for (name, traits) in traits where name.utf8.count < buckets.count {
            buckets[name.utf8.count].append((Array(name.utf8), name, traits))
        }
        return buckets
    }()

    /// The lower-case spelling and traits of a name in the `traits` table, found by an ASCII
    /// case-insensitive byte compare (nil for any other name): no lower-cased copy, no hashing.
    static func knownName(_ name: String) -> (lower: String, traits: Traits)? {
        let count = name.utf8.count
        guard count < knownNames.count else { return nil }
        let bucket = knownNames[count]
        if bucket.isEmpty { return nil }
        let found: Int?? = name.utf8.withContiguousStorageIfAvailable { raw -> Int? in
            for (index, entry) in bucket.enumerated() {
                if entry.bytes.withUnsafeBufferPointer({ ASCIIText.equalFolded(raw, $0) }) { return index }
            }
            return nil
        }
        guard let found else { return traits[name.asciiLowercased].map { (name.asciiLowercased, $0) } }
        return found.map { (bucket[$0].lower, bucket[$0].traits) }
    }

    /// `name.asciiLowercased`, without building a copy for names in the `traits` table.
    static func lowercasedName(_ name: String) -> String {
        knownName(name)?.lower ?? name.asciiLowercased
    }

    /// Whether `name` starts with `prefix` (lower-case ASCII), ignoring ASCII case.
    @inline(__always)
    static func hasFoldedPrefix(_ name: String, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard name.utf8.count >= count else { return false }
        let start = prefix.utf8Start
        var index = 0
        for byte in name.utf8 {
            if index == count { return true }
            if ASCIIText.lower(byte) != start[index] { return false }
            index += 1
        }
        return index == count
    }

    static func isForbidden(lower: String, traits: Traits, value: String, profile: BrowserProfile) -> Bool {
        if traits.contains(.forbidden) { return true }
        switch lower.utf8.first {
        case UInt8(ascii: "p")?: if lower.hasPrefix("proxy-") { return true }
        case UInt8(ascii: "s")?: if lower.hasPrefix("sec-") { return true }
        default: break
        }
        if traits.contains(.userAgent) { return profile.treatsUserAgentAsForbidden }
        if traits.contains(.methodOverride) {
            // Forbidden only when the comma-list value names a forbidden method.
            return value.split(separator: ",").contains { MethodRules.isForbidden($0.trimmingHTTPWhitespace) }
        }
        return false
    }

    /// Fetch "CORS-unsafe request-header byte": < 0x20 except HTAB, `"():<>?@[\]{}`, DEL.
    static func isCorsUnsafeByte(_ byte: UInt8) -> Bool {
        if byte < 0x20 { return byte != 0x09 }
        switch byte {
        case 0x7F, UInt8(ascii: "\""), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ":"), UInt8(ascii: "<"),
             UInt8(ascii: ">"), UInt8(ascii: "?"), UInt8(ascii: "@"), UInt8(ascii: "["), UInt8(ascii: "\\"),
             UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"):
            return true
        default:
            return false
        }
    }

    /// Whether `name: value` is a CORS-safelisted request-header for `profile`.
    public static func isSafelisted(name: String, value: String, profile: BrowserProfile = .chromium) -> Bool {
        let lower = name.asciiLowercased
        return isSafelisted(lower: lower, traits: traits[lower] ?? [], value: value, profile: profile)
    }

    static func isSafelisted(lower: String, traits: Traits, value: String, profile: BrowserProfile) -> Bool {
        let bytes = value.utf8
        guard bytes.count <= maxSafelistedValueBytes else { return false }
        if traits.contains(.accept) {
            return !bytes.contains(where: isCorsUnsafeByte)
        }
        if traits.contains(.language) {
            return bytes.allSatisfy(isLanguageByte)
        }
        if traits.contains(.contentType) {
            guard !bytes.contains(where: isCorsUnsafeByte), let essence = mimeEssence(value) else { return false }
            switch essence {
            case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain": return true
            default: return false
            }
        }
        if traits.contains(.range) {
            return isSimpleRange(value, allowUppercaseUnit: profile.safelistsChromiumExtraHeaders)
        }
        if profile.safelistsChromiumExtraHeaders {
            return isChromiumExtraSafelisted(name: lower, value: value)
        }
        return false
    }

    /// `0-9 A-Z a-z SP * , - . ; =` only (Fetch, accept-language / content-language).
    private static func isLanguageByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "a")...UInt8(ascii: "z"):
            return true
        case UInt8(ascii: " "), UInt8(ascii: "*"), UInt8(ascii: ","), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: ";"), UInt8(ascii: "="):
            return true
        default:
            return false
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
        corsUnsafeNames(in: headers, profile: profile, excludingForbidden: excludingForbidden, skipping: [], skipPseudo: false)
    }

    /// `corsUnsafeNames` over the fields that are neither HTTP/2 pseudo-headers (when
    /// `skipPseudo`) nor have any of the `skipping` traits, as if those were never in `headers`.
    /// Each name is lower-cased and looked up once.
    static func corsUnsafeNames(
        in headers: HTTPHeaders, profile: BrowserProfile, excludingForbidden: Bool, skipping: Traits, skipPseudo: Bool
    ) -> [String] {
        var unsafeNames: [String] = []
        var safelisted: [String] = []
        var safelistedBytes = 0
        for field in headers.fields {
            let lower: String
            let traits: Traits
            if let known = knownName(field.name) {
                lower = known.lower
                traits = known.traits
            } else {
                if skipPseudo && field.name.utf8.first == UInt8(ascii: ":") { continue }
                // `Sec-*` and `Proxy-*` are forbidden whatever the value: no lower-cased copy needed.
                if excludingForbidden && (hasFoldedPrefix(field.name, "sec-") || hasFoldedPrefix(field.name, "proxy-")) {
                    continue
                }
                lower = field.name.asciiLowercased
                traits = []
            }
            if !traits.isDisjoint(with: skipping) { continue }
            // `Headers` normalises values (strips leading/trailing HTTP whitespace) before these checks.
            let value = field.value.trimmingHTTPWhitespace
            if excludingForbidden && isForbidden(lower: lower, traits: traits, value: value, profile: profile) { continue }
            if isSafelisted(lower: lower, traits: traits, value: value, profile: profile) {
                safelisted.append(lower)
                safelistedBytes += value.utf8.count
            } else {
                unsafeNames.append(lower)
            }
        }
        if safelistedBytes > maxSafelistedTotalBytes {
            unsafeNames += safelisted
        }
        if unsafeNames.count < 2 { return unsafeNames }
        var unique: [String] = []
        unique.reserveCapacity(unsafeNames.count)
        for name in unsafeNames where !unique.contains(name) { unique.append(name) }
        return unique
    }

    /// The `Access-Control-Request-Headers` value a browser would send: sorted, `,`-joined, no spaces.
    public static func accessControlRequestHeadersValue(for names: [String]) -> String? {
        names.isEmpty ? nil : Set(names.map(\.asciiLowercased)).sorted().joined(separator: ",")
    }
}

/// How long a browser keeps a successful preflight, given `Access-Control-Max-Age`.
public enum PreflightLifetime: Sendable, Hashable {
    /// Cached for this many seconds (0 = usable for this request only, expires immediately).
    case seconds(Int)
    /// Not stored at all (Firefox with a malformed or zero value).
    case notCached

    public var seconds: Int {
        if case let .seconds(value) = self { return value }
        return 0
    }
}

public enum PreflightCachePolicy {
    /// Fetch "max-age" default when the header is absent or unparsable.
    public static let defaultMaxAgeSeconds = 5

    /// Per-browser reading of `Access-Control-Max-Age` (combined value):
    /// - Chromium (`preflight_result.cc`): `StringToInt64`; failure → 5 s; negative → 0; cap 2 h.
    /// - Firefox (`nsCORSListenerProxy.cpp`): any non-digit → not cached; `0` → not cached; cap 24 h;
    ///   absent → 5 s.
    /// - WebKit (`CrossOriginPreflightResultCache.cpp`): integer parse, failure → 5 s, negative →
    ///   already expired; cap 600 s.
    public static func lifetime(maxAgeHeader: String?, profile: BrowserProfile) -> PreflightLifetime {
        let cap = profile.preflightCacheCapSeconds
        guard let raw = maxAgeHeader?.trimmingHTTPWhitespace else {
            return .seconds(defaultMaxAgeSeconds)
        }
        switch profile.engine {
        case .firefox:
            guard !raw.isEmpty, raw.unicodeScalars.allSatisfy(\.isASCIIDigit) else { return .notCached }
            // Long digit strings saturate rather than overflow.
            let value = Int(raw) ?? Int.max
            return value == 0 ? .notCached : .seconds(min(value, cap))
        case .chromium, .safari:
            guard let value = parseSignedInteger(raw) else { return .seconds(defaultMaxAgeSeconds) }
            return .seconds(max(0, min(value, cap)))
        }
    }

    /// `base::StringToInt64`-style: optional sign, digits only, no surrounding junk, must fit.
    static func parseSignedInteger(_ text: String) -> Int? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.unicodeScalars.allSatisfy(\.isASCIIDigit), let value = Int(digits) else {
            return nil
        }
        return negative ? -value : value
    }
}

/// One remembered preflight result (Fetch "CORS-preflight cache" entry, one per request origin
/// and URL, with the methods/header names it allowed).
public struct PreflightCacheEntry: Sendable, Hashable {
    public var origin: String
    public var url: String
    /// Whether the preflight was made for a credentialed request (such an entry also serves
    /// uncredentialed requests; the reverse is not true).
    public var credentials: Bool
    public var methods: AllowList
    public var headerNames: AllowList
    public var storedAt: Double
    public var lifetime: PreflightLifetime

    public init(
        origin: String, url: String, credentials: Bool, methods: AllowList, headerNames: AllowList,
        storedAt: Double, lifetime: PreflightLifetime
    ) {
        self.origin = origin
        self.url = url
        self.credentials = credentials
        self.methods = methods
        self.headerNames = headerNames
        self.storedAt = storedAt
        self.lifetime = lifetime
    }

    /// Builds the entry a successful preflight leaves behind.
    public static func from(
        preflightResponse: CORSResponse, origin: String, url: String, credentials: Bool,
        storedAt: Double, profile: BrowserProfile
    ) -> PreflightCacheEntry? {
        guard case let .success(methods) = AllowListParser.parseMethods(preflightResponse.headers),
              case let .success(headers) = AllowListParser.parseHeaderNames(preflightResponse.headers)
        else { return nil }
        let lifetime = PreflightCachePolicy.lifetime(
            maxAgeHeader: preflightResponse.headers.combinedValue(named: HeaderName.maxAge), profile: profile)
        return PreflightCacheEntry(
            origin: origin, url: url, credentials: credentials, methods: methods, headerNames: headers,
            storedAt: storedAt, lifetime: lifetime)
    }

    public var expiresAt: Double? {
        if case let .seconds(seconds) = lifetime { return storedAt + Double(seconds) }
        return nil
    }

    /// Whether this entry lets `method` + `headerNames` skip a new preflight at `time`
    /// (Chromium `PreflightCache::CheckIfRequestCanSkipPreflight`): same origin and URL, not
    /// expired, credentials compatible, method and every unsafe header allowed. Cache hits always
    /// apply the `Authorization` non-wildcard rule, even though fresh preflights in Chromium do not.
    public func canServe(
        origin requestOrigin: String, url requestURL: String, method: String, headerNames: [String],
        includeCredentials: Bool, at time: Double
    ) -> Bool {
        guard requestOrigin == origin, requestURL == url,
              let expiresAt, time < expiresAt,
              credentials || !includeCredentials
        else { return false }
        let methodAllowed = methods.contains(method) || MethodRules.isSafelisted(method)
            || (methods.containsWildcard && !includeCredentials)
        guard methodAllowed else { return false }
        for name in headerNames.map(\.asciiLowercased) {
            if self.headerNames.contains(name) { continue }
            if name == "authorization" { return false }
            if self.headerNames.containsWildcard && !includeCredentials { continue }
            return false
        }
        return true
    }
}

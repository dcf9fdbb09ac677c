/// Which browser's rules and wording to apply, optionally pinned to a major version where the
/// notes record a behaviour or text change. `majorVersion == nil` means "current" (late 2025).
public struct BrowserProfile: Sendable, Hashable, CustomStringConvertible {
    public enum Engine: String, Sendable, Hashable, CaseIterable {
        case chromium
        case firefox
        case safari
    }

    public var engine: Engine
    public var majorVersion: Int?

    public init(engine: Engine, majorVersion: Int? = nil) {
        self.engine = engine
        self.majorVersion = majorVersion
    }

    public static let chromium = BrowserProfile(engine: .chromium)
    public static let firefox = BrowserProfile(engine: .firefox)
    public static let safari = BrowserProfile(engine: .safari)

    public static func chromium(_ major: Int) -> BrowserProfile { .init(engine: .chromium, majorVersion: major) }
    public static func firefox(_ major: Int) -> BrowserProfile { .init(engine: .firefox, majorVersion: major) }
    public static func safari(_ major: Int) -> BrowserProfile { .init(engine: .safari, majorVersion: major) }

    public var description: String {
        majorVersion.map { "\(engine.rawValue) \($0)" } ?? engine.rawValue
    }

    private func isAtLeast(_ major: Int) -> Bool { (majorVersion ?? Int.max) >= major }

    /// Upper bound applied to `Access-Control-Max-Age`, in seconds.
    /// Chromium `preflight_result.cc kMaxTimeout` (2 h), Firefox 86400, WebKit `maxPreflightCacheTimeout` (600).
    public var preflightCacheCapSeconds: Int {
        switch engine {
        case .chromium: return 7200
        case .firefox: return 86400
        case .safari: return 600
        }
    }

    /// Whether `Access-Control-Allow-Headers: *` lets `Authorization` through on a fresh preflight.
    /// Fetch says no; Chromium's `kCorsNonWildcardRequestHeadersSupport` is disabled by default,
    /// Firefox's `network.cors_preflight.authorization_covered_by_wildcard` defaults to true,
    /// and WebKit has no exception — so all three let it through today.
    public var authorizationCoveredByWildcard: Bool { true }

    /// Chromium adds client hints, `intervention` and `save-data` to the safelist (cors.cc).
    var safelistsChromiumExtraHeaders: Bool { engine == .chromium }

    /// Chromium keeps `User-Agent` on its forbidden list (http_util.cc, crbug 571722).
    var treatsUserAgentAsForbidden: Bool { engine == .chromium }

    /// Up to at least Chrome 132 the console texts carried the long "opaque response" advice;
    /// by mid-2025 it was shortened. The exact milestone is not pinned down; we switch at 133.
    var usesLegacyNoCorsAdvice: Bool { engine == .chromium && !isAtLeast(133) }

    /// Local Network Access permission checks shipped in M142 (blink-dev Intent to Ship).
    var enforcesLocalNetworkAccess: Bool { engine == .chromium && isAtLeast(142) }

    /// Firefox prints a deprecation warning when `*` covers `Authorization` (since 115).
    var warnsAboutAuthorizationWildcard: Bool {
        switch engine {
        case .chromium: return true
        case .firefox: return isAtLeast(115)
        case .safari: return false
        }
    }

    /// Scheme list Chromium prints for kCorsDisabledScheme (`SchemeRegistry::ListOfCorsEnabledURLSchemes`).
    /// The list depends on the embedder; this is the one typical desktop Chrome builds print.
    var chromiumCorsEnabledSchemeList: String {
        "chrome, chrome-extension, chrome-untrusted, data, http, https, isolated-app"
    }
}

/// Fetch "request mode", when the capture or HAR tells us.
public enum RequestMode: String, Sendable, Hashable, CaseIterable {
    case cors
    case noCors = "no-cors"
    case navigate
    case websocket
    case sameOrigin = "same-origin"

    /// Parses a `Sec-Fetch-Mode` value (the browser's own statement of the mode).
    public init?(secFetchMode value: String) {
        switch value.trimmingHTTPWhitespace.asciiLowercased {
        case "cors": self = .cors
        case "no-cors": self = .noCors
        case "navigate", "nested-navigate": self = .navigate
        case "websocket": self = .websocket
        case "same-origin": self = .sameOrigin
        default: return nil
        }
    }
}

/// Fetch "credentials mode".
public enum CredentialsMode: String, Sendable, Hashable, CaseIterable {
    case include
    case sameOrigin = "same-origin"
    case omit
    case unknown
}

/// What started the request; picks the word Chromium prints ("Access to fetch at …") and
/// Safari's wrapper line. Mirrors Blink `Resource::ResourceTypeToString`.
public enum ResourceInitiator: String, Sendable, Hashable, CaseIterable {
    case fetch
    case xmlHttpRequest
    case image
    case script
    case font
    case stylesheet
    case audio
    case video
    case manifest
    case svgDocument
    case xslStylesheet
    case linkPrefetch
    case textTrack
    case other

    /// The `<kind>` in Chromium's console text, already lower-cased the way Blink does
    /// (only when the second character is lower-case, so `XMLHttpRequest` and `CSS stylesheet` stay).
    public var chromiumKind: String {
        switch self {
        case .fetch: return "fetch"
        case .xmlHttpRequest: return "XMLHttpRequest"
        case .image: return "image"
        case .script: return "script"
        case .font: return "font"
        case .stylesheet: return "CSS stylesheet"
        case .audio: return "audio"
        case .video: return "video"
        case .manifest: return "manifest"
        case .svgDocument: return "SVG document"
        case .xslStylesheet: return "XSL stylesheet"
        case .linkPrefetch: return "link prefetch resource"
        case .textTrack: return "text track"
        case .other: return "resource"
        }
    }
}

/// A request as captured (method case kept: `patch` ≠ `PATCH`).
public struct CORSRequest: Sendable, Hashable {
    public var method: String
    public var url: String
    /// Wire headers in order, duplicates kept, including browser-added ones (`Origin`, `Cookie`…).
    public var headers: HTTPHeaders
    public var mode: RequestMode?
    public var credentials: CredentialsMode
    /// The page/worker origin that issued the request, when known (HAR `_initiator`, page URL).
    public var initiatorOrigin: Origin?
    /// URLs this request went through before `url`, first one first (empty when not redirected).
    public var redirectedFrom: [String]
    /// Set when the request was a cache revalidation (Chromium skips the CORS check on a 304 then).
    public var isRevalidation: Bool

    public init(
        method: String,
        url: String,
        headers: HTTPHeaders = [],
        mode: RequestMode? = nil,
        credentials: CredentialsMode = .unknown,
        initiatorOrigin: Origin? = nil,
        redirectedFrom: [String] = [],
        isRevalidation: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.mode = mode
        self.credentials = credentials
        self.initiatorOrigin = initiatorOrigin
        self.redirectedFrom = redirectedFrom
        self.isRevalidation = isRevalidation
    }

    public var wasRedirected: Bool { !redirectedFrom.isEmpty }

    /// The `Origin` header value as sent, if any (last line wins; browsers send one).
    public var originHeader: String? { headers.lastValue(named: HeaderName.origin) }
}

/// A response as captured.
public struct CORSResponse: Sendable, Hashable {
    public var status: Int
    public var headers: HTTPHeaders

    public init(status: Int, headers: HTTPHeaders = []) {
        self.status = status
        self.headers = headers
    }

    /// `Location` when this is a redirect the network stack would follow (301/302/303/307/308
    /// with a Location; `HttpResponseHeaders::IsRedirect`). A 3xx without one is just a non-ok status.
    public var redirectLocation: String? {
        switch status {
        case 301, 302, 303, 307, 308: break
        default: return nil
        }
        guard let location = headers.firstValue(named: HeaderName.location), !location.isEmpty
        else { return nil }
        return location
    }

    public var isOkStatus: Bool { (200...299).contains(status) }
}

/// What we know about the preflight that guarded a request.
public enum PreflightEvidence: Sendable, Hashable {
    /// No OPTIONS exchange captured and nothing known about the cache.
    case none
    /// The captured OPTIONS request and its response. A nil response means the preflight got no
    /// HTTP response at all (connection reset, empty reply).
    case exchange(request: CORSRequest, response: CORSResponse?)
    /// The caller knows a valid preflight cache entry served this request.
    case knownCached
}

/// One captured request with (optionally) its response and the preflight that guarded it.
public struct CORSExchange: Sendable, Hashable {
    public var request: CORSRequest
    /// nil when the capture has no response (blocked preflight, or lost packets).
    public var response: CORSResponse?
    public var preflight: PreflightEvidence

    public init(request: CORSRequest, response: CORSResponse?, preflight: PreflightEvidence = .none) {
        self.request = request
        self.response = response
        self.preflight = preflight
    }
}

/// Facts for Local Network Access (Chromium M142+). None of these are in HTTP bytes.
public struct LocalNetworkFacts: Sendable, Hashable {
    public enum AddressSpace: String, Sendable, Hashable, CaseIterable {
        case unknown, publicSpace = "public", local, loopback

        /// How "private" a space is; LNA guards requests towards a more private space.
        var privacyRank: Int {
            switch self {
            case .unknown, .publicSpace: return 0
            case .local: return 1
            case .loopback: return 2
            }
        }
    }

    public enum Permission: String, Sendable, Hashable {
        case granted, denied, unknown
    }

    public var initiatorSpace: AddressSpace
    public var resourceSpace: AddressSpace
    public var initiatorIsSecureContext: Bool
    public var permission: Permission
    /// The page's `targetAddressSpace` fetch option, if it set one.
    public var declaredTargetSpace: AddressSpace?

    public init(
        initiatorSpace: AddressSpace,
        resourceSpace: AddressSpace,
        initiatorIsSecureContext: Bool,
        permission: Permission = .unknown,
        declaredTargetSpace: AddressSpace? = nil
    ) {
        self.initiatorSpace = initiatorSpace
        self.resourceSpace = resourceSpace
        self.initiatorIsSecureContext = initiatorIsSecureContext
        self.permission = permission
        self.declaredTargetSpace = declaredTargetSpace
    }
}

/// What the rest of the input says about the page's credentials when a request carried none.
public enum CredentialsEvidence: String, Sendable, Hashable {
    /// Nothing beyond the request itself.
    case none
    /// The same browser sent cookies to this host on other requests: its cookie jar is not empty,
    /// so a request made with credentials would have carried them.
    case cookiesSentToHostElsewhere
    /// The input had its cookies removed (a sanitized HAR export): their absence proves nothing.
    case cookiesRemovedFromInput
    /// The input shows the headers the browser had before sending (Chrome's provisional
    /// headers), which never include `Cookie`: its absence proves nothing.
    case cookiesNotShownInInput
}

/// Everything about the evaluation that is not in the exchange itself.
public struct EvaluationContext: Sendable, Hashable {
    public var profile: BrowserProfile
    public var initiator: ResourceInitiator
    /// Earlier preflight results (from the same capture) that may have served this request.
    public var preflightCache: [PreflightCacheEntry]
    /// Capture time of the request, seconds on the same clock as `preflightCache` entries.
    public var requestTime: Double?
    public var localNetwork: LocalNetworkFacts?
    /// What the rest of the input says about credentials when the request shows none.
    public var credentialsEvidence: CredentialsEvidence
    /// The browser's own report that the request failed without a response (a HAR's `_error`),
    /// when the input has one: a failed preflight explains it.
    public var browserReportedFailure: String?

    public init(
        profile: BrowserProfile = .chromium,
        initiator: ResourceInitiator = .fetch,
        preflightCache: [PreflightCacheEntry] = [],
        requestTime: Double? = nil,
        localNetwork: LocalNetworkFacts? = nil,
        credentialsEvidence: CredentialsEvidence = .none,
        browserReportedFailure: String? = nil
    ) {
        self.credentialsEvidence = credentialsEvidence
        self.browserReportedFailure = browserReportedFailure
        self.profile = profile
        self.initiator = initiator
        self.preflightCache = preflightCache
        self.requestTime = requestTime
        self.localNetwork = localNetwork
    }
}

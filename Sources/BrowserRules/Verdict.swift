/// Where in the fetch a CORS failure was found.
public enum FailureStage: String, Sendable, Hashable {
    /// Refused before any network I/O (mode or scheme).
    case beforeNetwork
    /// The OPTIONS exchange failed; the actual request was never sent.
    case preflight
    /// A redirect response of the actual request failed the check.
    case redirect
    /// The final response failed the check.
    case response
    /// Local Network Access (connection time, before HTTP).
    case localNetwork
}

/// Everything needed to print the browser's console text for one failure.
public struct FailureDetails: Sendable, Hashable {
    /// The URL that failed (the last one after redirects; the OPTIONS URL equals it).
    public var url: String
    /// The first URL of the chain, when the request was redirected.
    public var initialURL: String
    /// The page origin the browser prints (`SecurityOrigin::ToString()`, `null` if opaque).
    public var initiatorOrigin: String
    public var initiator: ResourceInitiator
    /// Status of the response that failed (OPTIONS status for preflight failures).
    public var status: Int?
    /// The combined ACAO value and how many ACAO lines there were (Firefox counts lines).
    public var allowOriginValue: String?
    public var allowOriginLineCount: Int
    /// Parse failures: token and whole value; disallowed header as the page wrote it.
    public var invalidToken: String?
    public var invalidHeaderValue: String?
    public var offendingHeaderAsWritten: String?
    /// Resolved `Location` of a failing redirect.
    public var redirectLocation: String?
    public var localNetwork: LocalNetworkFacts?

    public init(
        url: String, initialURL: String? = nil, initiatorOrigin: String, initiator: ResourceInitiator = .fetch,
        status: Int? = nil, allowOriginValue: String? = nil, allowOriginLineCount: Int = 0,
        invalidToken: String? = nil, invalidHeaderValue: String? = nil, offendingHeaderAsWritten: String? = nil,
        redirectLocation: String? = nil, localNetwork: LocalNetworkFacts? = nil
    ) {
        self.url = url
        self.initialURL = initialURL ?? url
        self.initiatorOrigin = initiatorOrigin
        self.initiator = initiator
        self.status = status
        self.allowOriginValue = allowOriginValue
        self.allowOriginLineCount = allowOriginLineCount
        self.invalidToken = invalidToken
        self.invalidHeaderValue = invalidHeaderValue
        self.offendingHeaderAsWritten = offendingHeaderAsWritten
        self.redirectLocation = redirectLocation
        self.localNetwork = localNetwork
    }
}

/// A blocking reason with its context.
public struct CORSFailure: Sendable, Hashable {
    public var error: CorsError
    /// The `failed_parameter` Chromium reports (bad ACAO/ACAC value, method, lower-case header name).
    public var failedParameter: String
    public var stage: FailureStage
    public var details: FailureDetails

    public init(error: CorsError, failedParameter: String = "", stage: FailureStage, details: FailureDetails) {
        self.error = error
        self.failedParameter = failedParameter
        self.stage = stage
        self.details = details
    }

    /// The console text `profile` prints for this failure (nil when that browser prints no
    /// CORS-specific text for it; see `ConsoleMessages`).
    public func message(for profile: BrowserProfile) -> String? {
        ConsoleMessages.message(for: self, profile: profile)
    }
}

/// Which credentials assumption an outcome was computed under.
public enum CredentialsAssumption: String, Sendable, Hashable {
    /// credentials mode `include` (cookies/HTTP auth attached, or would have been).
    case included
    /// credentials mode `omit` or `same-origin` (cross-origin: nothing attached).
    case notIncluded
}

/// The verdict under one credentials assumption, for undecidable cases.
public struct CredentialsOutcome: Sendable, Hashable {
    public var assumption: CredentialsAssumption
    public var kind: CORSVerdict.Kind
    public var failure: CORSFailure?

    public func message(for profile: BrowserProfile) -> String? {
        failure?.message(for: profile)
    }
}

/// Why a request is outside CORS.
public enum NotCORSReason: String, Sendable, Hashable {
    case sameOrigin
    case noOriginHeader
    case navigation
    case websocket
    case noCorsMode
    case dataURL
}

/// The engine's answer for one exchange.
public struct CORSVerdict: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case notCORS
        case passed
        case blocked
        case undecidable
    }

    public var kind: Kind
    public var notCORSReason: NotCORSReason?
    /// Set when `kind == .blocked`.
    public var failure: CORSFailure?
    /// Passing-but-risky observations (also attached to blocked verdicts when relevant).
    public var warnings: [CORSWarning]
    /// What the verdict assumed or inferred (e.g. "credentials inferred from Cookie header").
    public var notes: [String]
    /// For undecidable: the facts that would settle it.
    public var missingEvidence: [String]
    /// For undecidable on credentials: the outcome under each mode.
    public var outcomesByCredentials: [CredentialsOutcome]
    /// Plain-language account of what happened.
    public var explanation: String
    /// Concrete change that would make it pass (nil when nothing needs fixing).
    public var fix: String?

    public init(
        kind: Kind, notCORSReason: NotCORSReason? = nil, failure: CORSFailure? = nil,
        warnings: [CORSWarning] = [], notes: [String] = [], missingEvidence: [String] = [],
        outcomesByCredentials: [CredentialsOutcome] = [], explanation: String = "", fix: String? = nil
    ) {
        self.kind = kind
        self.notCORSReason = notCORSReason
        self.failure = failure
        self.warnings = warnings
        self.notes = notes
        self.missingEvidence = missingEvidence
        self.outcomesByCredentials = outcomesByCredentials
        self.explanation = explanation
        self.fix = fix
    }

    public var corsError: CorsError? { failure?.error }
    public var failedParameter: String? { failure?.failedParameter }

    /// The console text for a blocked verdict in `profile`'s words (nil unless blocked; for an
    /// undecidable verdict ask `outcomesByCredentials`).
    ///
    /// The failure is the one found under the profile the verdict was evaluated with. Engines
    /// check in different orders (WebKit looks at the preflight status before ACAO), so for the
    /// exact first error Firefox or Safari would print, evaluate with that profile.
    public func message(for profile: BrowserProfile) -> String? {
        failure?.message(for: profile)
    }
}

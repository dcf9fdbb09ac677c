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

/// A fact the verdict rests on that the input did not show: the credentials mode the page most
/// likely used, and the evidence (or the default) that says so.
public struct VerdictAssumption: Sendable, Hashable {
    public var credentials: CredentialsAssumption
    /// Why this mode, in words a report can print after "assumed: …".
    public var because: String

    public init(credentials: CredentialsAssumption, because: String) {
        self.credentials = credentials
        self.because = because
    }

    /// "credentials not included" / "credentials included".
    public var summary: String {
        credentials == .included ? "credentials included" : "credentials not included"
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

    /// The fields live in one immutable box: verdicts are copied along the pipeline (memo,
    /// judged exchanges, held preflights, report examples) and read far more often than
    /// changed; a copy is one reference, and a change builds a new box.
    private struct Fields: Hashable, Sendable {
        var kind: Kind
        var notCORSReason: NotCORSReason?
        var failure: CORSFailure?
        var warnings: [CORSWarning]
        var notes: [String]
        var missingEvidence: [String]
        var outcomesByCredentials: [CredentialsOutcome]
        var assumption: VerdictAssumption?
        var explanation: String
        var fix: String?
    }

    private final class Storage: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    public var kind: Kind {
        _read { yield storage.fields.kind }
        _modify { var fields = storage.fields; yield &fields.kind; storage = Storage(fields) }
    }

    public var notCORSReason: NotCORSReason? {
        _read { yield storage.fields.notCORSReason }
        _modify { var fields = storage.fields; yield &fields.notCORSReason; storage = Storage(fields) }
    }

    /// Set when `kind == .blocked`.
    public var failure: CORSFailure? {
        _read { yield storage.fields.failure }
        _modify { var fields = storage.fields; yield &fields.failure; storage = Storage(fields) }
    }

    /// Passing-but-risky observations (also attached to blocked verdicts when relevant).
    public var warnings: [CORSWarning] {
        _read { yield storage.fields.warnings }
        _modify { var fields = storage.fields; yield &fields.warnings; storage = Storage(fields) }
    }

    /// What the verdict inferred from the evidence (e.g. "credentials inferred from Cookie header").
    public var notes: [String] {
        _read { yield storage.fields.notes }
        _modify { var fields = storage.fields; yield &fields.notes; storage = Storage(fields) }
    }

    /// For undecidable: the facts that would settle it.
    public var missingEvidence: [String] {
        _read { yield storage.fields.missingEvidence }
        _modify { var fields = storage.fields; yield &fields.missingEvidence; storage = Storage(fields) }
    }

    /// The outcome under each credentials mode, when they differ and the wire did not show the
    /// mode: the assumed one and the alternative.
    public var outcomesByCredentials: [CredentialsOutcome] {
        _read { yield storage.fields.outcomesByCredentials }
        _modify { var fields = storage.fields; yield &fields.outcomesByCredentials; storage = Storage(fields) }
    }

    /// What the verdict assumed that the input did not show, and why (nil when it rests on the
    /// input alone).
    public var assumption: VerdictAssumption? {
        _read { yield storage.fields.assumption }
        _modify { var fields = storage.fields; yield &fields.assumption; storage = Storage(fields) }
    }

    /// Plain-language account of what happened.
    public var explanation: String {
        _read { yield storage.fields.explanation }
        _modify { var fields = storage.fields; yield &fields.explanation; storage = Storage(fields) }
    }

    /// Concrete change that would make it pass (nil when nothing needs fixing).
    public var fix: String? {
        _read { yield storage.fields.fix }
        _modify { var fields = storage.fields; yield &fields.fix; storage = Storage(fields) }
    }

    public init(
        kind: Kind, notCORSReason: NotCORSReason? = nil, failure: CORSFailure? = nil,
        warnings: [CORSWarning] = [], notes: [String] = [], missingEvidence: [String] = [],
        outcomesByCredentials: [CredentialsOutcome] = [], assumption: VerdictAssumption? = nil,
        explanation: String = "", fix: String? = nil
    ) {
        storage = Storage(Fields(kind: kind, notCORSReason: notCORSReason, failure: failure, warnings: warnings, notes: notes,
                                 missingEvidence: missingEvidence, outcomesByCredentials: outcomesByCredentials,
                                 assumption: assumption, explanation: explanation, fix: fix))
    }

    public static func == (a: CORSVerdict, b: CORSVerdict) -> Bool {
        a.storage === b.storage || a.storage.fields == b.storage.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.fields)
    }

    /// Whether both values share one box (the same verdict, copied): then everything derived
    /// from one holds for the other.
    public func isSameInstance(as other: CORSVerdict) -> Bool { storage === other.storage }

    public var corsError: CorsError? { failure?.error }

    /// The outcome under the credentials mode that was not assumed, when it differs from this
    /// verdict ("with `credentials: 'include'` it would be blocked: …").
    public var alternative: CredentialsOutcome? {
        guard let assumed = assumption?.credentials else { return nil }
        return outcomesByCredentials.first { outcome in
            outcome.assumption != assumed && (outcome.kind != kind || outcome.failure?.error != failure?.error)
        }
    }

    /// Whether the outcome itself (passed or blocked) turns on the credentials mode, not only the
    /// reason.
    public var kindDependsOnCredentials: Bool {
        guard let first = outcomesByCredentials.first else { return false }
        return outcomesByCredentials.contains { $0.kind != first.kind }
    }
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

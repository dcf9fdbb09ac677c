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

    /// The fields live in one immutable box: verdicts are copied along the pipeline (memo,
    /// judged exchanges, held preflights, report examples) and read far more often than
    /// changed; a copy is one reference, and a change builds a new box.
    private final class Storage: Sendable {
        let kind: Kind
        let notCORSReason: NotCORSReason?
        let failure: CORSFailure?
        let warnings: [CORSWarning]
        let notes: [String]
        let missingEvidence: [String]
        let outcomesByCredentials: [CredentialsOutcome]
        let explanation: String
        let fix: String?

        init(kind: Kind, notCORSReason: NotCORSReason?, failure: CORSFailure?, warnings: [CORSWarning], notes: [String], missingEvidence: [String], outcomesByCredentials: [CredentialsOutcome], explanation: String, fix: String?) {
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
    }

    private var storage: Storage

    public var kind: Kind {
        _read { yield storage.kind }
        _modify {
            var value = storage.kind
            yield &value
            storage = Storage(kind: value, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: storage.warnings, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: storage.fix)
        }
    }

    public var notCORSReason: NotCORSReason? {
        _read { yield storage.notCORSReason }
        _modify {
            var value = storage.notCORSReason
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: value, failure: storage.failure, warnings: storage.warnings, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: storage.fix)
        }
    }

    /// Set when `kind == .blocked`.
    public var failure: CORSFailure? {
        _read { yield storage.failure }
        _modify {
            var value = storage.failure
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: value, warnings: storage.warnings, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: storage.fix)
        }
    }

    /// Passing-but-risky observations (also attached to blocked verdicts when relevant).
    public var warnings: [CORSWarning] {
        _read { yield storage.warnings }
        _modify {
            var value = storage.warnings
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: value, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: storage.fix)
        }
    }

    /// What the verdict assumed or inferred (e.g. "credentials inferred from Cookie header").
    public var notes: [String] {
        _read { yield storage.notes }
        _modify {
            var value = storage.notes
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: storage.warnings, notes: value, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: storage.fix)
        }
    }

    /// For undecidable: the facts that would settle it.
    public var missingEvidence: [String] {
        _read { yield storage.missingEvidence }
        _modify {
            var value = storage.missingEvidence
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: storage.warnings, notes: storage.notes, missingEvidence: value, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: storage.fix)
        }
    }

    /// For undecidable on credentials: the outcome under each mode.
    public var outcomesByCredentials: [CredentialsOutcome] {
        _read { yield storage.outcomesByCredentials }
        _modify {
            var value = storage.outcomesByCredentials
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: storage.warnings, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: value, explanation: storage.explanation, fix: storage.fix)
        }
    }

    /// Plain-language account of what happened.
    public var explanation: String {
        _read { yield storage.explanation }
        _modify {
            var value = storage.explanation
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: storage.warnings, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: value, fix: storage.fix)
        }
    }

    /// Concrete change that would make it pass (nil when nothing needs fixing).
    public var fix: String? {
        _read { yield storage.fix }
        _modify {
            var value = storage.fix
            yield &value
            storage = Storage(kind: storage.kind, notCORSReason: storage.notCORSReason, failure: storage.failure, warnings: storage.warnings, notes: storage.notes, missingEvidence: storage.missingEvidence, outcomesByCredentials: storage.outcomesByCredentials, explanation: storage.explanation, fix: value)
        }
    }

    public init(
        kind: Kind, notCORSReason: NotCORSReason? = nil, failure: CORSFailure? = nil,
        warnings: [CORSWarning] = [], notes: [String] = [], missingEvidence: [String] = [],
        outcomesByCredentials: [CredentialsOutcome] = [], explanation: String = "", fix: String? = nil
    ) {
        storage = Storage(kind: kind, notCORSReason: notCORSReason, failure: failure, warnings: warnings, notes: notes, missingEvidence: missingEvidence, outcomesByCredentials: outcomesByCredentials, explanation: explanation, fix: fix)
    }

    public static func == (a: CORSVerdict, b: CORSVerdict) -> Bool {
        a.storage === b.storage || (a.kind == b.kind && a.notCORSReason == b.notCORSReason && a.failure == b.failure
            && a.warnings == b.warnings && a.notes == b.notes && a.missingEvidence == b.missingEvidence
            && a.outcomesByCredentials == b.outcomesByCredentials && a.explanation == b.explanation && a.fix == b.fix)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(notCORSReason)
        hasher.combine(failure)
        hasher.combine(warnings)
        hasher.combine(notes)
        hasher.combine(missingEvidence)
        hasher.combine(outcomesByCredentials)
        hasher.combine(explanation)
        hasher.combine(fix)
    }

    /// Whether both values share one box (the same verdict, copied): then everything derived
    /// from one holds for the other.
    public func isSameInstance(as other: CORSVerdict) -> Bool { storage === other.storage }

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

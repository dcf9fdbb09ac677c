import CorscopeCapture

/// What happened to the cross-origin requests of one page origin.
public struct OriginReport: Sendable, Equatable {
    /// The request's `Origin` (`null` kept as is), or for HAR input the page's origin.
    public var origin: String
    public var passed: Int
    public var blocked: Int
    public var undecidable: Int
    public var warnings: Int
    /// Verdict warnings by code, sorted by code.
    public var warningCounts: [WarningCount]
    /// Blocked requests grouped by reason and endpoint; most frequent first.
    public var groups: [BlockedGroup]
    /// Blocked requests per bin of `CORSReport.timeline`.
    public var blockedOverTime: [Int]
}

public struct WarningCount: Sendable, Equatable {
    public var code: String
    public var summary: String
    public var count: Int
}

/// The credentials mode a verdict assumed, why, and what the other mode would have given.
public struct GroupAssumption: Sendable, Equatable {
    /// `include` or `omit`, as in NDJSON.
    public var credentials: String
    public var because: String
    /// "if credentials were included: blocked (InvalidAllowCredentials)", when the other mode
    /// gives another outcome or reason.
    public var alternative: String?

    /// "credentials not included — no Cookie was sent, …. If credentials were included: …".
    public var text: String {
        (credentials == "include" ? "credentials included" : "credentials not included") + " — " + because
            + (alternative.map { ". " + $0.prefix(1).uppercased() + $0.dropFirst() } ?? "")
    }
}

/// Blocked requests of one origin with the same reason on the same endpoint.
public struct BlockedGroup: Sendable, Equatable {
    /// Stable across runs: derived from origin, reason and endpoint.
    public var id: String
    /// The `CorsError` name DevTools shows (`MissingAllowOriginHeader`…).
    public var reason: String
    public var stage: String
    public var failedParameter: String?
    public var method: String
    public var host: String
    /// The path with ids replaced (`/users/{id}`), query dropped.
    public var pathTemplate: String
    public var count: Int
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    /// Ids of the first blocked exchanges (at most `ReportBuilder.Limits.evidencePerGroup`).
    public var exchangeIDs: [String]
    public var example: ExampleExchange
    public var messages: [ConsoleMessage]
    public var explanation: String
    /// What the example's verdict assumed (the credentials mode) and the other mode's outcome,
    /// in words; nil when it rests on the input alone.
    public var assumption: GroupAssumption?
    public var layer: LayerFinding
    public var fix: FixAdvice

    /// `GET /users/{id}`.
    public var endpoint: String { method + " " + pathTemplate }
}

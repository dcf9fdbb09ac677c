import CorscopeCapture
import CorscopeVerdicts

/// What one page origin's requests got from the browser rules.
struct OriginTally: Sendable, Equatable {
    /// Exchanges by verdict (`passed`, `blocked`, `undecidable`, `not-cors`).
    var verdicts: [String: Int] = [:]
    /// Blocked exchanges by CORS error (DevTools spelling, e.g. `MissingAllowOriginHeader`).
    var blockedByReason: [String: Int] = [:]
    /// Warnings by code (e.g. `missing-vary-origin`), over every exchange.
    var warningsByCode: [String: Int] = [:]

    /// The same, per server the requests went to (`server` label: the request's authority, or
    /// the TLS server name, or the server address), at most `WatchTally.maximumServers` of them.
    var byServer: [String: ServerTally] = [:]

    var warnings: Int { warningsByCode.values.reduce(0, +) }
    func count(_ verdict: String) -> Int { verdicts[verdict, default: 0] }
}

/// One (origin, server) pair's verdicts and blocked reasons.
struct ServerTally: Sendable, Equatable {
    var verdicts: [String: Int] = [:]
    var blockedByReason: [String: Int] = [:]
}

/// Everything `watch` shows, serves and reports, as one value: the capture thread builds it and
/// hands copies to the metrics server and the report writer, so they never touch live state.
struct WatchSnapshot: Sendable, Equatable {
    static func == (lhs: WatchSnapshot, rhs: WatchSnapshot) -> Bool {
        lhs.interface == rhs.interface && lhs.filter == rhs.filter && lhs.browser == rhs.browser && lhs.startedAt == rhs.startedAt
            && lhs.takenAt == rhs.takenAt && lhs.packets == rhs.packets && lhs.kernel == rhs.kernel
            && lhs.openConnections == rhs.openConnections && lhs.exchanges == rhs.exchanges && lhs.findings == rhs.findings
            && lhs.cachePoisoningWarnings == rhs.cachePoisoningWarnings && lhs.origins == rhs.origins
            && lhs.notAnalysed.mapValues { [$0.connections, $0.bytes] } == rhs.notAnalysed.mapValues { [$0.connections, $0.bytes] }
            && lhs.dropped == rhs.dropped && lhs.tlsConnections == rhs.tlsConnections && lhs.tlsDecrypted == rhs.tlsDecrypted
            && lhs.gaps == rhs.gaps && lhs.gapBytes == rhs.gapBytes && lhs.anomalies == rhs.anomalies
    }

    var interface = ""
    var filter: String?
    var browser = "chromium"
    /// Wall-clock seconds since the epoch.
    var startedAt = 0.0
    var takenAt = 0.0
    var packets = 0
    var kernel = LiveCaptureStatistics()
    var openConnections = 0
    var exchanges = 0
    var findings = 0
    /// Warnings that let a shared cache serve one origin's answer to another (`missing-vary-origin`).
    var cachePoisoningWarnings = 0
    /// Keyed by the request's `Origin` (`none` without one, `other` past the cardinality cap).
    var origins: [String: OriginTally] = [:]
    /// Connections and bytes seen but not analysed, by kind (`tls`, `websocket`, …).
    var notAnalysed: [String: (connections: Int, bytes: Int)] = [:]
    /// What a cap or a skip dropped, by what (`evicted_connections`, `skipped_packets.non_tcp`, …).
    var dropped: [String: Int] = [:]
    /// TLS connections, and of them those decrypted.
    var tlsConnections = 0
    var tlsDecrypted = 0
    /// TCP gaps (bytes the capture missed) and their bytes.
    var gaps = 0
    var gapBytes = 0
    /// Exchanges flagged with each HTTP anomaly (`bare_lf`, `content_gap`, …).
    var anomalies: [String: Int] = [:]

    var seconds: Double { max(0, takenAt - startedAt) }

    func total(_ verdict: String) -> Int { origins.values.reduce(0) { $0 + $1.count(verdict) } }
}

/// Counts judged exchanges per origin, with a bounded number of distinct origins so a scan of
/// many origins cannot grow metrics and memory without limit.
struct WatchTally {
    static let noOrigin = "none"
    static let otherOrigins = "other"

    let maximumOrigins: Int
    let maximumServers: Int
    private(set) var origins: [String: OriginTally] = [:]
    /// Server labels in use (at most `maximumServers`; the rest count as `other`).
    private var servers: Set<String> = []
    private(set) var exchanges = 0
    private(set) var findings = 0
    private(set) var cachePoisoningWarnings = 0

    init(maximumOrigins: Int, maximumServers: Int = 50) {
        self.maximumOrigins = max(1, maximumOrigins)
        self.maximumServers = max(1, maximumServers)
    }

    /// Counts one exchange; returns true when it is a finding (blocked, undecidable or warned).
    @discardableResult
    mutating func count(_ judged: JudgedExchange) -> Bool {
        let verdict = judged.verdict
        exchanges += 1
        let key = label(for: Self.origin(of: judged))
        var tally = origins[key, default: OriginTally()]
        tally.verdicts[verdict.kind.jsonName, default: 0] += 1
        let server = serverLabel(for: Self.server(of: judged))
        tally.byServer[server, default: ServerTally()].verdicts[verdict.kind.jsonName, default: 0] += 1
        if verdict.kind == .blocked, let error = verdict.corsError {
            tally.blockedByReason[error.cdpName, default: 0] += 1
            tally.byServer[server]!.blockedByReason[error.cdpName, default: 0] += 1
        }
        for warning in verdict.warnings {
            tally.warningsByCode[warning.code, default: 0] += 1
            if case .missingVaryOrigin = warning { cachePoisoningWarnings += 1 }
        }
        origins[key] = tally
        let isFinding = Self.isFinding(judged)
        if isFinding { findings += 1 }
        return isFinding
    }

    static func isFinding(_ judged: JudgedExchange) -> Bool {
        let kind = judged.verdict.kind
        return kind == .blocked || kind == .undecidable || !judged.verdict.warnings.isEmpty
    }

    /// The page origin: the request's `Origin` header, as the browser sent it.
    static func origin(of judged: JudgedExchange) -> String {
        judged.exchange.requestHead?.headers.first(named: "Origin") ?? noOrigin
    }

    /// Where the request went: its authority (`Host`, `:authority`), else the TLS server name, else
    /// the server's address and port.
    static func server(of judged: JudgedExchange) -> String {
        let exchange = judged.exchange
        return exchange.requestAuthority ?? exchange.transport.tls?.serverName ?? exchange.connection.server.description
    }

    private mutating func serverLabel(for server: String) -> String {
        if servers.contains(server) { return server }
        guard servers.count < maximumServers else { return Self.otherOrigins }
        servers.insert(server)
        return server
    }

    private func label(for origin: String) -> String {
        // "none" is one fixed label, not an origin: it never takes a slot.
        if origin == Self.noOrigin || origins[origin] != nil { return origin }
        let named = origins.keys.count { $0 != Self.otherOrigins && $0 != Self.noOrigin }
        return named < maximumOrigins ? origin : Self.otherOrigins
    }
}

import CorscopeRedaction
import CorscopeCapture
import CorscopeHTTP

/// A WebSocket handshake the server refused for the page's origin.
///
/// CORS does not apply to WebSockets: the browser sends `Origin` and opens the socket on a 101,
/// whatever the answer's headers say. Servers check `Origin` themselves (Socket.IO's and
/// SignalR's allow-lists, `ws`'s `verifyClient`, Spring's allowed origins) and refuse the
/// upgrade with 403 (or 400, 401). The page sees only "WebSocket error" and a close 1006, which
/// people report as "CORS". So it is a finding of its own, never a CORS verdict.
public struct WebSocketFinding: Sendable, Equatable {
    /// Stable across runs: derived from origin, host, path template and status.
    public var id: String
    /// The `Origin` the browser sent.
    public var origin: String
    /// `ws`, or `wss` for a handshake decrypted from TLS.
    public var scheme: String = "ws"
    public var host: String
    public var pathTemplate: String
    /// The server's answer instead of 101 Switching Protocols.
    public var status: Int
    public var count: Int
    public var exchangeIDs: [String]
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var evidence: String
    public var fix: FixAdvice
}

/// Collects refused WebSocket handshakes per origin, host, path template and status (bounded).
final class WebSocketOriginAnalyzer {
    private struct Key: Hashable {
        var origin: String
        var scheme: String
        var host: String
        var template: String
        var status: Int
    }

    private let maxFindings: Int
    private let evidencePerFinding: Int
    private var findings: [Key: FindingTally] = [:]
    private(set) var droppedFindings = 0

    init(maxFindings: Int, evidencePerFinding: Int) {
        self.maxFindings = maxFindings
        self.evidencePerFinding = evidencePerFinding
    }

    /// A WebSocket handshake (the engine's `.websocket` not-CORS reason) with its answer: the
    /// captured status, or the status Chrome names in a HAR's error ("Unexpected response code: 403").
    func observe(_ exchange: HTTPExchange, origin: String?, scheme: String, host: String, time: Timestamp) {
        guard let origin, let head = exchange.requestHead,
              let status = exchange.responseHead?.status ?? exchange.har?.error.flatMap(Self.statusInHandshakeError),
              status != 101, status >= 300 else { return }
        let key = Key(origin: origin, scheme: scheme == "https" ? "wss" : "ws", host: host, template: EndpointTemplate.template(of: Self.path(head.target)), status: status)
        guard findings[key] != nil || findings.count < maxFindings else {
            droppedFindings += 1
            return
        }
        findings[key, default: FindingTally(time: time)].add([exchange.id], at: time, keeping: evidencePerFinding)
    }

    /// `ws://host/path?x` (HAR targets are absolute) → `/path?x`.
    private static func path(_ target: String) -> String {
        guard let scheme = target.range(of: "://") else { return target }
        let rest = target[scheme.upperBound...]
        return rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
    }

    static func statusInHandshakeError(_ error: String) -> Int? {
        guard let range = error.range(of: "Unexpected response code: ") else { return nil }
        return Int(error[range.upperBound...].prefix { $0.isASCII && $0.isNumber })
    }

    func finish(redactor: Redactor) -> [WebSocketFinding] {
        findings.map { key, value in
            WebSocketFinding(
                id: key.scheme == "ws" ? StableID.make("S", key.origin, key.host, key.template, String(key.status))
                    : StableID.make("S", key.origin, key.scheme, key.host, key.template, String(key.status)),
                origin: key.origin, scheme: key.scheme, host: key.host, pathTemplate: key.template, status: key.status, count: value.count,
                exchangeIDs: value.exchangeIDs, firstSeen: value.firstSeen, lastSeen: value.lastSeen,
                evidence: redactor.text("The browser asked to open a WebSocket at \(key.template) on \(key.host) with Origin \(key.origin); the server answered \(key.status) instead of 101 Switching Protocols, so the page saw only an error and a close (1006). CORS headers play no part in WebSocket handshakes: the server's own origin check refused it."),
                fix: FixAdvice(
                    summary: "Add \(key.origin) to the WebSocket server's allowed origins (Socket.IO `cors.origin`, SignalR's CORS policy `WithOrigins`, `ws` `verifyClient`, Spring `setAllowedOrigins`); Access-Control-* headers cannot fix a refused handshake. If a proxy answered, check it forwards `Upgrade`/`Connection` and does not filter on Origin.",
                    snippets: []))
        }.sorted { ($0.host, $0.pathTemplate, $0.origin, $0.status) < ($1.host, $1.pathTemplate, $1.origin, $1.status) }
    }
}

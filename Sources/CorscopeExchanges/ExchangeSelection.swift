import CorscopeCapture
import CorscopeHAR
import CorscopeHTTP

/// Which exchanges a command looks at, to narrow a big capture offline: by the page origin
/// (`Origin`), by the server (its `Host`, address or HAR URL host), and by capture time. Every
/// condition given must hold; within one kind, any of the values may match.
public struct ExchangeSelection: Sendable {
    /// `Origin` values, as sent (`https://app.example`); compared ignoring ASCII case.
    public var origins: [String] = []
    /// Server names or addresses, with or without a port (`api.example`, `127.0.0.1:8080`).
    public var hosts: [String] = []
    /// Exchanges whose request started before `since` or after `until` are left out.
    public var since: Timestamp?
    public var until: Timestamp?

    public init() {}

    public var selectsEverything: Bool { origins.isEmpty && hosts.isEmpty && since == nil && until == nil }

    public func admits(_ exchange: HTTPExchange) -> Bool {
        if selectsEverything { return true }
        let time = exchange.startTime
        if let since, time < since { return false }
        if let until, time > until { return false }
        let headers = exchange.requestHead?.headers
        if !origins.isEmpty {
            guard let origin = headers?.values(named: "Origin").last,
                  origins.contains(where: { Self.equalIgnoringCase($0, origin) }) else { return false }
        }
        if !hosts.isEmpty {
            var names: [String] = []
            if let host = headers?.first(named: "Host") { names.append(host) }
            if let har = exchange.har { names.append(Self.authority(of: har.url)) } else {
                names.append(exchange.connection.server.description)
            }
            guard hosts.contains(where: { wanted in names.contains { Self.hostMatches(wanted, $0) } }) else { return false }
        }
        return true
    }

    /// `api.example` matches `api.example:8080`; with a port, the port must match too.
    static func hostMatches(_ wanted: String, _ name: String) -> Bool {
        if equalIgnoringCase(wanted, name) { return true }
        return equalIgnoringCase(wanted, withoutPort(name))
    }

    static func withoutPort(_ name: String) -> String {
        if name.hasPrefix("["), let close = name.firstIndex(of: "]") { return String(name[...close]) }
        guard let colon = name.lastIndex(of: ":"), name.firstIndex(of: ":") == colon else { return name }
        return String(name[..<colon])
    }

    static func authority(of url: String) -> String {
        guard let start = url.range(of: "://")?.upperBound else { return url }
        let rest = url[start...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return String(authority.split(separator: "@").last ?? authority)
    }

    static func equalIgnoringCase(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { HTTPText.lowercased($0) == HTTPText.lowercased($1) }
    }

    /// An RFC 3339 time (`2026-11-22T22:15:08Z`, fractions allowed) or seconds since the epoch.
    public static func parseTime(_ text: String) -> Timestamp? {
        if let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds < 1e11 {
            let whole = seconds.rounded(.down)
            return Timestamp(seconds: Int64(whole), nanoseconds: Int32((seconds - whole) * 1e9))
        }
        return ISO8601Timestamp.parse(text)
    }
}

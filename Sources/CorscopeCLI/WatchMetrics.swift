import CorscopeCapture
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The Prometheus text exposition format (version 0.0.4) of a `WatchSnapshot`.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func render(_ snapshot: WatchSnapshot) -> String {
        var text = ""
        let origins = snapshot.origins.keys.sorted()

        header(&text, "corscope_build_info", "gauge", "The corscope build: version, commit, and the libpcap and zlib it runs with (always 1).")
        sample(&text, "corscope_build_info", [("version", CorscopeVersion.current), ("commit", CorscopeVersion.commit),
                                              ("libraries", CaptureLibraries.versions)], 1)
        header(&text, "corscope_exchanges_total", "counter",
               "HTTP exchanges judged, by page origin, server (request authority, TLS server name or address) and CORS verdict.")
        for origin in origins {
            let tally = snapshot.origins[origin]!
            for server in tally.byServer.keys.sorted() {
                for (verdict, count) in tally.byServer[server]!.verdicts.sorted(by: { $0.key < $1.key }) {
                    sample(&text, "corscope_exchanges_total", [("origin", origin), ("server", server), ("verdict", verdict)], count)
                }
            }
        }
        header(&text, "corscope_blocked_total", "counter", "Exchanges a browser would have blocked, by page origin, server and CORS error.")
        for origin in origins {
            let tally = snapshot.origins[origin]!
            for server in tally.byServer.keys.sorted() {
                for (reason, count) in tally.byServer[server]!.blockedByReason.sorted(by: { $0.key < $1.key }) {
                    sample(&text, "corscope_blocked_total", [("origin", origin), ("server", server), ("reason", reason)], count)
                }
            }
        }
        header(&text, "corscope_cache_poisoning_warnings_total", "counter",
               "Responses allowing a specific origin without Vary: Origin (a shared cache may serve them to another origin).")
        sample(&text, "corscope_cache_poisoning_warnings_total", [], snapshot.cachePoisoningWarnings)
        header(&text, "corscope_packets_total", "counter", "Packets delivered by the capture.")
        sample(&text, "corscope_packets_total", [], snapshot.packets)
        header(&text, "corscope_kernel_drops_total", "counter", "Packets the kernel dropped for lack of capture buffer space (pcap_stats ps_drop).")
        sample(&text, "corscope_kernel_drops_total", [], Int(clamping: snapshot.kernel.dropped))
        header(&text, "corscope_interface_drops_total", "counter", "Packets the interface dropped (pcap_stats ps_ifdrop).")
        sample(&text, "corscope_interface_drops_total", [], Int(clamping: snapshot.kernel.interfaceDropped))
        header(&text, "corscope_open_connections", "gauge", "TCP connections being reassembled.")
        sample(&text, "corscope_open_connections", [], snapshot.openConnections)
        header(&text, "corscope_not_analysed_connections_total", "counter",
               "Closed connections seen but not judged, by kind (tls: no key; websocket; non-http; …).")
        for (kind, value) in snapshot.notAnalysed.sorted(by: { $0.key < $1.key }) {
            sample(&text, "corscope_not_analysed_connections_total", [("kind", kind)], value.connections)
        }
        header(&text, "corscope_not_analysed_bytes_total", "counter", "Bytes of those connections, by kind.")
        for (kind, value) in snapshot.notAnalysed.sorted(by: { $0.key < $1.key }) {
            sample(&text, "corscope_not_analysed_bytes_total", [("kind", kind)], value.bytes)
        }
        header(&text, "corscope_dropped_total", "counter",
               "What a memory cap or a skip dropped: evicted connections, gaps a buffer cap forced, pending requests evicted, packets skipped.")
        for (what, value) in snapshot.dropped.sorted(by: { $0.key < $1.key }) {
            sample(&text, "corscope_dropped_total", [("what", what)], value)
        }
        header(&text, "corscope_tcp_gaps_total", "counter", "Holes in TCP streams the capture missed (lost or dropped packets).")
        sample(&text, "corscope_tcp_gaps_total", [], snapshot.gaps)
        header(&text, "corscope_tcp_gap_bytes_total", "counter", "Bytes of those holes.")
        sample(&text, "corscope_tcp_gap_bytes_total", [], snapshot.gapBytes)
        header(&text, "corscope_anomalies_total", "counter", "Exchanges flagged with each HTTP anomaly (a fixed set: bare_lf, content_gap, …).")
        for (anomaly, count) in snapshot.anomalies.sorted(by: { $0.key < $1.key }) {
            sample(&text, "corscope_anomalies_total", [("anomaly", anomaly)], count)
        }
        header(&text, "corscope_tls_connections_total", "counter", "Closed TLS connections, by whether their plaintext was analysed.")
        sample(&text, "corscope_tls_connections_total", [("decrypted", "true")], snapshot.tlsDecrypted)
        sample(&text, "corscope_tls_connections_total", [("decrypted", "false")], snapshot.tlsConnections - snapshot.tlsDecrypted)
        return text
    }

    private static func header(_ text: inout String, _ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private static func sample(_ text: inout String, _ name: String, _ labels: [(String, String)], _ value: Int) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    /// Label values escape backslash, double quote and line feed; origins come from the wire.
    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}

/// `--metrics ADDR:PORT`, parsed. The address defaults to 127.0.0.1; IPv6 goes in brackets.
struct MetricsAddress: Equatable, CustomStringConvertible {
    var host: String
    var port: UInt16

    struct Invalid: Error, CustomStringConvertible {
        var text: String
        var description: String { "--metrics \(text): expected ADDR:PORT, :PORT or PORT (e.g. 127.0.0.1:9464)" }
    }

    init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    init(parsing text: String) throws {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(after: close)...].drop { $0 == ":" }
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = text[text.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let port = UInt16(portText), Self.family(of: host) != nil else { throw Invalid(text: text) }
        self.host = host
        self.port = port
    }

    var isIPv6: Bool { Self.family(of: host) == AF_INET6 }

    /// True for 127.0.0.0/8 and ::1: reachable from this machine only.
    var isLoopback: Bool {
        if isIPv6 {
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return false }
            return withUnsafeBytes(of: &address) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return host.split(separator: ".").first == "127"
    }

    var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func family(of host: String) -> Int32? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return AF_INET }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return AF_INET6 }
        return nil
    }
}

/// The latest snapshot, shared between the capture thread (writer) and the metrics server.
final class SnapshotStore: Sendable {
    private let latest: Mutex<WatchSnapshot>

    init(_ snapshot: WatchSnapshot) { latest = Mutex(snapshot) }

    func publish(_ snapshot: WatchSnapshot) { latest.withLock { $0 = snapshot } }
    func read() -> WatchSnapshot { latest.withLock { $0 } }
}

/// A deliberately tiny HTTP/1.0 responder for `/metrics`: one background thread, one request
/// per connection, answered and closed. Scrapers need nothing more, and it keeps the tool
/// free of a server framework.
final class MetricsServer: Sendable {
    struct StartError: Error, CustomStringConvertible {
        var address: MetricsAddress
        var reason: String
        var description: String { "cannot serve metrics on \(address): \(reason)" }
    }

    /// The address actually bound (the port is the kernel's choice when 0 was asked for).
    let address: MetricsAddress
    private let listener: Int32
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let store: SnapshotStore

    init(address requested: MetricsAddress, store: SnapshotStore) throws {
        self.store = store
        let family = requested.isIPv6 ? AF_INET6 : AF_INET
        let socketDescriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketDescriptor >= 0 else { throw StartError(address: requested, reason: Self.lastError()) }
        var reuse: Int32 = 1
        setsockopt(socketDescriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var boundPort: UInt16 = 0
        let bound: Bool
        if requested.isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = requested.port.bigEndian
            inet_pton(AF_INET6, requested.host, &address.sin6_addr)
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
            }
            boundPort = UInt16(bigEndian: address.sin6_port)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = requested.port.bigEndian
            inet_pton(AF_INET, requested.host, &address.sin_addr)
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
            }
            boundPort = UInt16(bigEndian: address.sin_port)
        }
        guard bound, listen(socketDescriptor, 16) == 0 else {
            let reason = Self.lastError()
            close(socketDescriptor)
            throw StartError(address: requested, reason: reason)
        }
        listener = socketDescriptor
        address = MetricsAddress(host: requested.host, port: boundPort)
    }

    /// Starts answering on a background thread.
    func start() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { context in
            let server = Unmanaged<MetricsServer>.fromOpaque(context!).takeRetainedValue()
            server.serve()
            return nil
        }, context)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<MetricsServer>.fromOpaque(context).release()
            finished.store(true, ordering: .releasing)
        }
    }

    /// Stops accepting and waits (at most `timeout` seconds) for the thread to finish.
    func stop(timeout: Double = 2) {
        stopRequested.store(true, ordering: .releasing)
        let deadline = Terminal.monotonicSeconds() + timeout
        while !finished.load(ordering: .acquiring) && Terminal.monotonicSeconds() < deadline {
            usleep(10_000)
        }
    }

    private func serve() {
        defer {
            close(listener)
            finished.store(true, ordering: .releasing)
        }
        while !stopRequested.load(ordering: .acquiring) {
            // Wake up regularly to notice `stop()`.
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        // A slow or silent client must not hold the only serving thread for long.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while request.count < 16384 && !Self.headEnded(request) {
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            request.append(contentsOf: chunk[0..<count])
        }
        let requestLine = String(decoding: request.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = requestLine.split(separator: " ")
        let method = parts.first.map(String.init) ?? ""
        let path = parts.count > 1 ? String(parts[1].split(separator: "?", maxSplits: 1).first ?? "") : ""

        let status: String
        let contentType: String
        var body: String
        if method != "GET" && method != "HEAD" {
            (status, contentType, body) = ("405 Method Not Allowed", "text/plain", "GET only\n")
        } else if path == "/metrics" {
            (status, contentType, body) = ("200 OK", PrometheusText.contentType, PrometheusText.render(store.read()))
        } else if path == "/" {
            (status, contentType, body) = ("200 OK", "text/plain", "corscope watch: metrics at /metrics\n")
        } else {
            (status, contentType, body) = ("404 Not Found", "text/plain", "not found\n")
        }
        let bodyBytes = Array(body.utf8)
        if method == "HEAD" { body = "" }
        var response = "HTTP/1.0 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bodyBytes.count)\r\nConnection: close\r\n\r\n"
        response += body
        let bytes = Array(response.utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(client, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { break }
                offset += sent
            }
        }
    }

    private static func headEnded(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2 else { return false }
        let crlfcrlf: [UInt8] = [13, 10, 13, 10]
        if bytes.count >= 4 && bytes.suffix(4).elementsEqual(crlfcrlf) { return true }
        return bytes.suffix(2).elementsEqual([10, 10])
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

import CorscopeCapture

/// Which way bytes flow on a connection. The client is the side that sent the SYN, or, for a
/// connection picked up mid-stream, the side guessed to be the client (see `TCPAssembler`).
public enum FlowDirection: Int, Hashable, Sendable {
    case clientToServer = 0
    case serverToClient = 1

    public var reversed: FlowDirection { self == .clientToServer ? .serverToClient : .clientToServer }
}

/// Identity of one TCP connection as the assembler saw it.
public struct ConnectionInfo: Hashable, Sendable {
    /// Sequential id in order of first packet, stable for a given capture.
    public var id: Int
    public var client: Endpoint
    public var server: Endpoint
    /// The three-way handshake was seen; false when the capture starts mid-connection.
    public var sawHandshake: Bool
    public var firstSeen: Timestamp

    public init(id: Int, client: Endpoint, server: Endpoint, sawHandshake: Bool, firstSeen: Timestamp) {
        self.id = id
        self.client = client
        self.server = server
        self.sawHandshake = sawHandshake
        self.firstSeen = firstSeen
    }
}

/// Why a direction of a connection ended.
public enum StreamEndReason: String, Sendable {
    case fin
    case reset
    /// No packet for longer than the idle timeout (capture time).
    case idle
    /// The end of the capture.
    case endOfCapture
    /// A memory cap forced the connection out.
    case evicted
    /// A new connection (a SYN with another initial sequence number) reused the same addresses and ports.
    case superseded
}

/// What the assembler feeds: in-order bytes, gaps and ends, per direction
/// (the role gopacket's `reassembly.Stream` plays).
///
/// `data` is valid only during the call; a handler keeps what it needs by copying.
public protocol TCPStreamHandler: AnyObject {
    /// In-order bytes for one direction.
    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp)
    /// `length` bytes in this direction were never captured (lost, or dropped by a cap). The
    /// next `receive` continues after the hole.
    func gap(length: Int, direction: FlowDirection, time: Timestamp)
    /// No more bytes will arrive in this direction.
    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason)
}

/// Makes one handler per connection; gets the handler back once both directions have ended.
public protocol TCPStreamFactory: AnyObject {
    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler
    /// Called once per connection after both directions ended; the handler will not be called again.
    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler)
}

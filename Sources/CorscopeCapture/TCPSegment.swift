/// TCP header flags (the low byte of the flags field).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// A decoded TCP segment. `payload` points into the packet buffer (or a reassembled IP
/// datagram) and is valid only for the duration of the call that hands the segment over:
/// whoever keeps bytes copies them.
public struct TCPSegment {
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var payload: UnsafeRawBufferPointer

    public init(
        time: Timestamp, source: Endpoint, destination: Endpoint, sequence: UInt32,
        acknowledgment: UInt32, flags: TCPFlags, window: UInt16, payload: UnsafeRawBufferPointer
    ) {
        self.time = time
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.payload = payload
    }
}

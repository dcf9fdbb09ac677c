/// An IPv4 or IPv6 address, stored as integers so that flow lookups hash cheaply.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    /// Reads 4 or 16 bytes in network order.
    public init?(bytes: UnsafeRawBufferPointer) {
        switch bytes.count {
        case 4:
            self = .v4(bytes.loadBigEndianUInt32(at: 0))
        case 16:
            let high = UInt64(bytes.loadBigEndianUInt32(at: 0)) << 32 | UInt64(bytes.loadBigEndianUInt32(at: 4))
            let low = UInt64(bytes.loadBigEndianUInt32(at: 8)) << 32 | UInt64(bytes.loadBigEndianUInt32(at: 12))
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }

    public var isIPv6: Bool { if case .v6 = self { return true } else { return false } }

    static func appendIPv4(_ address: UInt32, to text: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) {
            appendDecimal((address >> UInt32(shift)) & 0xff, to: &text)
            if shift > 0 { text.append(UInt8(ascii: ".")) }
        }
    }

    static func appendDecimal(_ value: UInt32, to text: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &text) }
        text.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// Dotted quad for IPv4; RFC 5952 text (lowercase, longest zero run compressed) for IPv6.
    public var description: String {
        switch self {
        case .v4(let a):
            // Written digit by digit: every output line names two endpoints.
            var text: [UInt8] = []
            text.reserveCapacity(15)
            Self.appendIPv4(a, to: &text)
            return String(decoding: text, as: UTF8.self)
        case .v6(let high, let low):
            let groups: [UInt16] = (0..<8).map { i in
                let word = i < 4 ? high : low
                return UInt16(truncatingIfNeeded: word >> (UInt64(3 - i % 4) * 16))
            }
            // Longest run of zero groups (length >= 2) is written as "::".
            var bestStart = -1, bestLength = 0, runStart = -1
            for i in 0...8 {
                if i < 8 && groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                    runStart = -1
                }
            }
            if bestLength < 2 { bestStart = -1 }
            var text = ""
            var i = 0
            while i < 8 {
                if i == bestStart {
                    text += "::"
                    i += bestLength
                    continue
                }
                if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
                text += String(groups[i], radix: 16)
                i += 1
            }
            return text
        }
    }
}

/// One side of a TCP connection.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `"addr:port"`, IPv6 as `"[addr]:port"`: the form every output uses.
    public var description: String {
        guard case .v4(let a) = address else { return "[\(address)]:\(port)" }
        var text: [UInt8] = []
        text.reserveCapacity(21)
        IPAddress.appendIPv4(a, to: &text)
        text.append(UInt8(ascii: ":"))
        IPAddress.appendDecimal(UInt32(port), to: &text)
        return String(decoding: text, as: UTF8.self)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    public func loadBigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    public func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}

/// Arithmetic on 32-bit TCP sequence numbers that wrap (RFC 9293 §3.4).
enum TCPSequence {
    /// Signed distance from `b` to `a`: positive when `a` is after `b`, correct across wraparound
    /// as long as the two are less than 2^31 apart.
    @inline(__always)
    static func distance(from b: UInt32, to a: UInt32) -> Int {
        Int(Int32(bitPattern: a &- b))
    }
}

/// A capture timestamp with nanosecond precision.
///
/// Every capture is opened with nanosecond precision so that microsecond and nanosecond files
/// compare on one scale.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static let zero = Timestamp(seconds: 0, nanoseconds: 0)

    /// A capture record's time as libpcap gives it (seconds, and a fraction field that a
    /// hostile or broken file may fill with any value): whole seconds in the fraction are carried
    /// into `seconds`, so every later stage sees 0 ≤ nanoseconds < 10⁹; a time outside the years
    /// 0000–9999 (a pcapng's 64-bit timestamp reaches year 586,000) is held at the nearest end of
    /// that range, so every later stage can write it as RFC 3339.
    public init(captureSeconds seconds: Int64, fraction: Int64) {
        var carry = fraction / 1_000_000_000
        var rest = fraction % 1_000_000_000
        if rest < 0 { rest += 1_000_000_000; carry -= 1 }
        let total = seconds.addingReportingOverflow(carry)
        if total.overflow ? carry > 0 : total.partialValue > Timestamp.latest.seconds {
            self = Timestamp.latest
        } else if total.overflow || total.partialValue < Timestamp.earliest.seconds {
            self = Timestamp.earliest
        } else {
            self.init(seconds: total.partialValue, nanoseconds: Int32(rest))
        }
    }

    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z: the times RFC 3339 can write.
    public static let earliest = Timestamp(seconds: -62_167_219_200, nanoseconds: 0)
    public static let latest = Timestamp(seconds: 253_402_300_799, nanoseconds: 999_999_999)

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.seconds != rhs.seconds ? lhs.seconds < rhs.seconds : lhs.nanoseconds < rhs.nanoseconds
    }

    /// Total nanoseconds since the epoch; fits in Int64 until the year 2262.
    public var totalNanoseconds: Int64 { seconds &* 1_000_000_000 &+ Int64(nanoseconds) }

    public init(totalNanoseconds: Int64) {
        var s = totalNanoseconds / 1_000_000_000
        var n = totalNanoseconds % 1_000_000_000
        if n < 0 { n += 1_000_000_000; s -= 1 }
        self.init(seconds: s, nanoseconds: Int32(n))
    }

    public func adding(seconds delta: Double) -> Timestamp {
        Timestamp(totalNanoseconds: totalNanoseconds &+ Int64(delta * 1e9))
    }

    /// Seconds (with fraction) from `other` to `self`.
    public func seconds(since other: Timestamp) -> Double {
        Double(totalNanoseconds &- other.totalNanoseconds) / 1e9
    }

    /// `1700000000.123456789`: exact, sortable, what NDJSON carries.
    public var description: String {
        let frac = String(nanoseconds)
        return "\(seconds)." + String(repeating: "0", count: max(0, 9 - frac.count)) + frac
    }
}

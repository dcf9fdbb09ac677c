import CorscopeCapture

/// Parses HAR `startedDateTime` values: `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM|±HHMM]`.
///
/// Chrome writes UTC with `Z`, Firefox and Charles write local time with an offset
/// (`2023-03-29T16:58:59.303-07:00`, mitmproxy__firefox.har), IE11 `+00:00`. A missing offset
/// is read as UTC (HAR 1.2 requires one, so that is only a guess for broken exporters). The
/// fraction may have any number of digits; digits past nanoseconds are dropped.
public enum ISO8601Timestamp {
    public static func parse(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    public static func parse(bytes p: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var i = 0
        func number(_ digits: Int) -> Int? {
            guard i + digits <= p.count else { return nil }
            var v = 0
            for k in 0..<digits {
                let d = p[i + k] &- 0x30
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            i += digits
            return v
        }
        func take(_ byte: UInt8) -> Bool {
            guard i < p.count, p[i] == byte else { return false }
            i += 1
            return true
        }
        guard let year = number(4), take(UInt8(ascii: "-")), let month = number(2), take(UInt8(ascii: "-")),
              let day = number(2) else { return nil }
        guard take(UInt8(ascii: "T")) || take(UInt8(ascii: "t")) || take(UInt8(ascii: " ")) else { return nil }
        guard let hour = number(2), take(UInt8(ascii: ":")), let minute = number(2), take(UInt8(ascii: ":")),
              let second = number(2) else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }

        var nanoseconds = 0
        if take(UInt8(ascii: ".")) || take(UInt8(ascii: ",")) {
            var digits = 0
            while i < p.count, p[i] &- 0x30 < 10 {
                if digits < 9 { nanoseconds = nanoseconds * 10 + Int(p[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
        }

        var offsetSeconds = 0
        if i < p.count {
            if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) {
                // UTC
            } else if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                let sign = p[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let offsetHours = number(2) else { return nil }
                _ = take(UInt8(ascii: ":"))
                let offsetMinutes = number(2) ?? 0
                guard offsetHours < 24, offsetMinutes < 60 else { return nil }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            } else {
                return nil
            }
        }
        guard i == p.count else { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return Timestamp(seconds: seconds, nanoseconds: Int32(nanoseconds))
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

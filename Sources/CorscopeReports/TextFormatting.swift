import CorscopeRedaction
import CorscopeCapture

/// Formatting shared by the writers, without Foundation (the output must not depend on the
/// machine's locale or time zone).
enum TextFormatting {
    /// `2026-11-22T22:15:08.306477000Z` (capture time, UTC).
    static func iso(_ time: Timestamp) -> String {
        let days = floorDiv(time.seconds, 86_400)
        let secondsOfDay = time.seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
            + pad(secondsOfDay / 3600, 2) + ":" + pad(secondsOfDay / 60 % 60, 2) + ":" + pad(secondsOfDay % 60, 2)
            + "." + pad(Int64(time.nanoseconds), 9) + "Z"
    }

    /// The inverse of `iso`: `2026-11-22T22:15:08.306477000Z` (or fewer fraction digits, or
    /// none) → its timestamp; nil for anything else.
    static func parseISO(_ text: String) -> Timestamp? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var value: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int64(b[i] - 0x30)
            }
            return value
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b.last == UInt8(ascii: "Z"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var nanoseconds: Int64 = 0
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), b.count - 21 <= 9, b.count - 21 >= 1, let fraction = number(20, b.count - 21) else { return nil }
            nanoseconds = fraction
            for _ in 0..<(9 - (b.count - 21)) { nanoseconds *= 10 }
        } else if b.count != 20 {
            return nil
        }
        // Days from civil (H. Hinnant's `days_from_civil`).
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Timestamp(seconds: days * 86_400 + hour * 3600 + minute * 60 + second, nanoseconds: Int32(nanoseconds))
    }

    /// `2026-11-22 22:15:08Z`, for tables.
    static func short(_ time: Timestamp) -> String {
        let full = iso(time)
        return String(full.prefix(10)) + " " + String(full.dropFirst(11).prefix(8)) + "Z"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Days since 1970-01-01 → proleptic Gregorian date (H. Hinnant's `civil_from_days`).
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Escapes for HTML text and attribute values.
    static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" {
                    out += "&#\(scalar.value);"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Escapes for XML 1.0 text and attributes; characters XML 1.0 forbids become U+FFFD.
    static func xml(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            default:
                let v = scalar.value
                if v < 0x20 || (0xFFFE...0xFFFF).contains(v) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Markdown table cells and sentences: pipes and newlines would break a row, `<` and `>`
    /// become entities (no markup from captured bytes), and a Markdown special is escaped only
    /// where it could take effect — emphasis needs a pair of `*` or `_` (and `_` at a word edge), a code span a pair of
    /// backticks, a link `](` — so the text reads the same in GitHub and in Jira, which shows
    /// backslashes literally.
    static func markdownCell(_ text: String) -> String {
        var pairs: Set<Character> = []
        for special in ["*", "_", "`"] as [Character] where text.filter({ $0 == special }).count >= 2 { pairs.insert(special) }
        let linkish = text.contains("](") || text.contains("][")
        var out = ""
        var previous: Character = " "
        var iterator = text.makeIterator()
        var next = iterator.next()
        while let ch = next {
            next = iterator.next()
            defer { previous = ch }
            // An underscore inside a word (add_header) never starts emphasis.
            if ch == "_", previous.isLetter || previous.isNumber, next.map({ $0.isLetter || $0.isNumber }) ?? false {
                out.append(ch)
                continue
            }
            switch ch {
            case "|": out += "\\|"
            case "\n", "\r": out += " "
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            // (A `where` clause binds only to the last pattern of a case: one pattern each.)
            case _ where pairs.contains(ch): out += "\\" + String(ch)
            case _ where linkish && (ch == "[" || ch == "]"): out += "\\" + String(ch)
            case "\\" where next.map { $0.isASCII && $0.isPunctuation || $0.isSymbol } ?? false: out += "\\\\"
            default: out.append(ch)
            }
        }
        return out
    }

    /// A Markdown code span for a captured value (a URL template, a header value): shown as is,
    /// with a fence longer than any backtick run inside, so nothing needs escaping.
    static func markdownCode(_ text: String) -> String {
        let flat = String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        var longest = 0, run = 0
        for ch in flat { if ch == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let fence = String(repeating: "`", count: longest + 1)
        let pad = longest > 0 || flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
        return fence + pad + flat + pad + fence
    }

    /// corscope's own sentences, which mark names and values as `code`: those spans stay code
    /// spans (GitHub and Jira render them; an escaped backtick would show literally), the rest
    /// is escaped like a table cell. Unbalanced backticks: all escaped.
    static func markdownProse(_ text: String) -> String {
        proseSegments(text).map { segment in
            segment.isCode ? markdownCode(segment.text) : markdownCell(segment.text)
        }.joined()
    }

    /// The same sentences in HTML: code spans become `<code>`.
    static func htmlProse(_ text: String) -> String {
        proseSegments(text).map { segment in
            segment.isCode ? "<code>" + html(segment.text) + "</code>" : html(segment.text)
        }.joined()
    }

    /// Text split at backticks into plain and code parts, when the backticks pair up.
    private static func proseSegments(_ text: String) -> [(text: String, isCode: Bool)] {
        let parts = text.split(separator: "`", omittingEmptySubsequences: false)
        guard parts.count % 2 == 1 else { return [(text, false)] }
        return parts.enumerated().compactMap { index, part in
            index % 2 == 1 ? (String(part), true) : (part.isEmpty ? nil : (String(part), false))
        }
    }

    /// "1 bin", "2 bins".
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    /// A fenced code block whose fence is longer than any backtick run inside, so captured
    /// bytes cannot close it early.
    static func fenced(_ code: String, language: String = "") -> String {
        var longest = 0, run = 0
        for ch in code { if ch == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        // Inside HTML <details>, a raw `</details>` line would end the block: break it up.
        let safe = code.replacingAll("</details", with: "<\u{200B}/details")
        return fence + language + "\n" + safe + "\n" + fence
    }

    static func seconds(_ value: Double) -> String {
        if value == value.rounded() { return String(Int64(value)) + " s" }
        return String(value) + " s"
    }
}

import BrowserRules
import CorscopeHTTP

/// Remembers verdicts of exchanges that differ only in what CORS does not read.
///
/// Traffic repeats itself: the same page origin asks the same API for `/items/1`, `/items/2`, …
/// with the same headers, and gets the same CORS headers back. The rules read the request's
/// method, origin and header fields, and of the response its status and `Access-Control-*`,
/// `Vary` and `Location` fields; never the path, the cookie values or the other response
/// fields. So the key is exactly those inputs, and a verdict is reused only when none of its
/// texts mentions the URL (the URL itself is put back into the failure details, from which the
/// console message is rendered). Redirects, HAR entries and paired or cached preflights are never
/// memoised. `MemoEquivalenceTests` checks that output with and without the memo is identical.
struct VerdictMemo {
    /// The key bytes with a digest computed once: hashing the bytes one by one through
    /// `Hasher` on every lookup costs more than building them.
    struct Key: Hashable {
        let bytes: [UInt8]
        let digest: UInt64

        init(_ bytes: [UInt8]) {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            self.bytes = bytes
            self.digest = hash
        }

        func hash(into hasher: inout Hasher) { hasher.combine(digest) }
        static func == (a: Key, b: Key) -> Bool { a.digest == b.digest && a.bytes == b.bytes }
    }

    private var verdicts: [Key: CORSVerdict] = [:]
    static let capacity = 4096

    /// The inputs the rules read, as bytes; nil when the exchange must be evaluated afresh.
    static func key(for exchange: HTTPExchange, role: UInt8) -> Key? {
        guard exchange.har == nil, let request = exchange.request, request.head.target.hasPrefix("/") else { return nil }
        var key: [UInt8] = [role]
        key.reserveCapacity(768)
        key.append(contentsOf: request.head.method.utf8)
        key.append(0)
        let fields = request.head.headers
        for index in 0..<fields.count {
            let name = fields.nameBytes(at: index)
            if equals(name, "cookie") {
                key.append(contentsOf: "cookie\u{0}\u{1}".utf8)  // sent: credentials; the value is never read
                continue
            }
            if equals(name, "user-agent") || equals(name, "referer") { continue }
            key.append(contentsOf: name)
            key.append(0)
            key.append(contentsOf: fields.valueBytes(at: index))
            key.append(1)
        }
        key.append(2)
        if let response = exchange.response {
            let status = response.head.status
            key.append(UInt8(truncatingIfNeeded: status >> 8))
            key.append(UInt8(truncatingIfNeeded: status))
            let fields = response.head.headers
            for index in 0..<fields.count where CORSInput.isReadByTheRules(fields.nameBytes(at: index)) {
                let name = fields.nameBytes(at: index)
                if equals(name, "location") { return nil }  // resolved against the URL
                key.append(contentsOf: name)
                key.append(0)
                key.append(contentsOf: fields.valueBytes(at: index))
                key.append(1)
            }
        } else {
            key.append(3)
        }
        return Key(key)
    }

    /// The remembered verdict, with this request's URL in its failure details.
    func verdict(for key: Key, url: String) -> CORSVerdict? {
        guard var verdict = verdicts[key] else { return nil }
        verdict.failure?.details.url = url
        verdict.failure?.details.initialURL = url
        for index in verdict.outcomesByCredentials.indices {
            verdict.outcomesByCredentials[index].failure?.details.url = url
            verdict.outcomesByCredentials[index].failure?.details.initialURL = url
        }
        return verdict
    }

    /// Keeps a verdict whose texts do not depend on the URL.
    mutating func remember(_ verdict: CORSVerdict, for key: Key, url: String, target: String) {
        let texts = [verdict.explanation, verdict.fix ?? ""] + verdict.notes + verdict.missingEvidence
            + verdict.warnings.map(\.summary)
        let mentionsURL = texts.contains { text in
            text.contains(url) || (target.count > 1 && text.contains(target))
        }
        guard !mentionsURL else { return }
        if verdicts.count >= Self.capacity { verdicts.removeAll(keepingCapacity: true) }
        verdicts[key] = verdict
    }

    private static func equals(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        var k = 0
        for byte in bytes {
            if byte | (byte &- 0x41 < 26 ? 0x20 : 0) != lowercase.utf8Start[k] { return false }
            k += 1
        }
        return true
    }
}

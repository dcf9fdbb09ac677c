import BrowserRules
import CorscopeHTTP
#if canImport(Glibc)
import Glibc
#endif

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
    /// The digest of the key bytes last built by `key(for:role:)`; those bytes stay in the
    /// memo's scratch buffer until the next key is built, so a lookup that hits allocates nothing.
    struct Key {
        fileprivate let digest: UInt64
        fileprivate let generation: Int
    }

    private struct Entry {
        let bytes: [UInt8]
        let verdict: CORSVerdict
    }

    private var verdicts: [UInt64: Entry] = [:]
    private var scratch: [UInt8] = []
    private var generation = 0
    static let capacity = 4096

    /// The inputs the rules read, as bytes; nil when the exchange must be evaluated afresh.
    mutating func key(for exchange: HTTPExchange, role: UInt8) -> Key? {
        guard !exchange.isFromHAR, let head = exchange.requestHead, head.target.hasPrefix("/") else { return nil }
        generation += 1
        scratch.removeAll(keepingCapacity: true)
        scratch.append(role)
        scratch.append(contentsOf: head.method.utf8)
        scratch.append(0)
        Self.appendRequestFields(head.headers, to: &scratch)
        if head.headers.firstIndex(named: "Host") == nil {
            // The URL's host then comes from the server address: part of the origin checks.
            scratch.append(contentsOf: exchange.connection.server.description.utf8)
        }
        scratch.append(2)
        if let response = exchange.responseHead {
            let status = response.status
            scratch.append(UInt8(truncatingIfNeeded: status >> 8))
            scratch.append(UInt8(truncatingIfNeeded: status))
            guard Self.appendResponseFields(response.headers, to: &scratch) else { return nil }
        } else {
            scratch.append(3)
        }
        return Key(digest: Self.digest(scratch), generation: generation)
    }

    private static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    /// A 64-bit hash of the key, eight bytes at a time (a byte-wise hash is a long dependency
    /// chain on keys of several hundred bytes); only equality within one run matters.
    static func digest(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
            var offset = 0
            while offset + 8 <= raw.count {
                let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
                hash ^= hash >> 32
                offset += 8
            }
            var tail: UInt64 = 0
            while offset < raw.count {
                tail = tail << 8 | UInt64(raw[offset])
                offset += 1
            }
            hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
            return hash ^ hash >> 29
        }
    }

    /// Every request field but the values the rules never read (cookie values, User-Agent, Referer).
    private static func appendRequestFields(_ fields: HTTPHeaderFields, to key: inout [UInt8]) {
        fields.storage.withUnsafeBufferPointer { storage in
            for span in fields.spans {
                let name = UnsafeBufferPointer(rebasing: storage[Int(span.nameStart)..<Int(span.nameEnd)])
                if equals(name, "cookie") {
                    key.append(contentsOf: "cookie\u{0}\u{1}".utf8)  // sent: credentials; the value is never read
                    continue
                }
                // HTTP/2's :path is the target, which HTTP/1 keeps out of the fields: the rules never
                // read it (a verdict naming the URL is not memoised), and with it every request to a
                // new path would miss.
                if equals(name, "user-agent") || equals(name, "referer") || equals(name, ":path") { continue }
                key.append(contentsOf: name)
                key.append(0)
                key.append(contentsOf: UnsafeBufferPointer(rebasing: storage[Int(span.valueStart)..<Int(span.valueEnd)]))
                key.append(1)
            }
        }
    }

    /// The response fields the rules read; false when one of them makes the verdict URL-specific.
    private static func appendResponseFields(_ fields: HTTPHeaderFields, to key: inout [UInt8]) -> Bool {
        fields.storage.withUnsafeBufferPointer { storage in
            for span in fields.spans {
                let name = UnsafeBufferPointer(rebasing: storage[Int(span.nameStart)..<Int(span.nameEnd)])
                guard CORSInput.isReadByTheRules(name) else { continue }
                if equals(name, "location") { return false }  // resolved against the URL
                key.append(contentsOf: name)
                key.append(0)
                key.append(contentsOf: UnsafeBufferPointer(rebasing: storage[Int(span.valueStart)..<Int(span.valueEnd)]))
                key.append(1)
            }
            return true
        }
    }

    /// The remembered verdict, with this request's URL in its failure details.
    func verdict(for key: Key, url: () -> String?) -> CORSVerdict? {
        guard key.generation == generation, let entry = verdicts[key.digest], Self.same(entry.bytes, scratch) else { return nil }
        var verdict = entry.verdict
        guard verdict.failure != nil || !verdict.outcomesByCredentials.isEmpty else { return verdict }
        guard let url = url() else { return nil }
        func located(_ failure: CORSFailure?) -> CORSFailure? {
            guard var failure else { return nil }
            failure.details.url = url
            failure.details.initialURL = url
            return failure
        }
        if verdict.failure != nil { verdict.failure = located(verdict.failure) }
        if !verdict.outcomesByCredentials.isEmpty {
            verdict.outcomesByCredentials = verdict.outcomesByCredentials.map { outcome in
                var outcome = outcome
                outcome.failure = located(outcome.failure)
                return outcome
            }
        }
        return verdict
    }

    /// Keeps a verdict whose texts do not depend on the URL.
    mutating func remember(_ verdict: CORSVerdict, for key: Key, url: String, target: String) {
        let texts = [verdict.explanation, verdict.fix ?? ""] + verdict.notes + verdict.missingEvidence
            + verdict.warnings.map(\.summary)
        let mentionsURL = texts.contains { text in
            Self.contains(text, url) || (target.utf8.count > 1 && Self.contains(text, target))
        }
        guard !mentionsURL, key.generation == generation else { return }
        if verdicts.count >= Self.capacity { verdicts.removeAll(keepingCapacity: true) }
        // An exact-size copy: sharing the scratch buffer would keep its whole capacity alive in
        // every entry and make the next key reallocate the scratch.
        verdicts[key.digest] = Entry(bytes: Array(scratch[...]), verdict: verdict)
    }

    /// Whether `text` contains `part`, byte-wise (exact UTF-8 bytes are what matters here, and
    /// Foundation's locale-aware search costs more than the rules it saves).
    static func contains(_ text: String, _ part: String) -> Bool {
        var text = text, part = part
        return text.withUTF8 { haystack in
            part.withUTF8 { needle in
                guard let first = needle.first else { return true }
                guard needle.count <= haystack.count else { return false }
                var start = 0
                let last = haystack.count - needle.count
                while start <= last {
                    if haystack[start] == first,
                       memcmp(haystack.baseAddress! + start, needle.baseAddress!, needle.count) == 0 { return true }
                    start += 1
                }
                return false
            }
        }
    }

    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        var k = 0
        for byte in bytes {
            if byte | (byte &- 0x41 < 26 ? 0x20 : 0) != lowercase.utf8Start[k] { return false }
            k += 1
        }
        return true
    }
}

/// Turns request targets into endpoint templates (`/users/123?x=1` → `/users/{id}`), so one
/// failing route is one group however many ids it was called with.
///
/// Works on bytes without regular expressions: this runs once per exchange.
public enum EndpointTemplate {
    /// The path of a request target with variable segments replaced and the query dropped.
    /// Absolute-form targets (`http://host/path`, sent to proxies) keep only their path.
    public static func template(of target: String) -> String {
        var target = target
        return target.withUTF8 { template(bytes: $0) }
    }

    static func template(bytes: UnsafeBufferPointer<UInt8>) -> String {
        var start = 0
        let end = pathEnd(bytes)
        if let afterAuthority = absoluteFormPathStart(bytes) { start = afterAuthority }
        if start >= end { return "/" }
        var output: [UInt8] = []
        output.reserveCapacity(end - start + 8)
        var segmentStart = start
        var index = start
        while index <= end {
            if index == end || bytes[index] == UInt8(ascii: "/") {
                if index > segmentStart {
                    appendSegment(UnsafeBufferPointer(rebasing: bytes[segmentStart..<index]), to: &output)
                }
                if index < end { output.append(UInt8(ascii: "/")) }
                segmentStart = index + 1
            }
            index += 1
        }
        if output.first != UInt8(ascii: "/") { output.insert(UInt8(ascii: "/"), at: 0) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Where the path stops: at `?` or `#`.
    private static func pathEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: "?") || bytes[i] == UInt8(ascii: "#") { return i }
        return bytes.count
    }

    /// For `scheme://authority/path`, the index of the path's `/`.
    private static func absoluteFormPathStart(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count > 3, bytes[0] != UInt8(ascii: "/") else { return nil }
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == UInt8(ascii: ":") && bytes[i + 1] == UInt8(ascii: "/") && bytes[i + 2] == UInt8(ascii: "/") {
                var j = i + 3
                while j < bytes.count && bytes[j] != UInt8(ascii: "/") && bytes[j] != UInt8(ascii: "?") { j += 1 }
                return j
            }
            if bytes[i] == UInt8(ascii: "/") { return nil }
            i += 1
        }
        return nil
    }

    private static let idPlaceholder = Array("{id}".utf8)
    private static let uuidPlaceholder = Array("{uuid}".utf8)
    private static let hashPlaceholder = Array("{hash}".utf8)
    private static let tokenPlaceholder = Array("{token}".utf8)

    private static func appendSegment(_ segment: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        switch classify(segment) {
        case .literal: output.append(contentsOf: segment)
        case .number: output.append(contentsOf: idPlaceholder)
        case .uuid: output.append(contentsOf: uuidPlaceholder)
        case .hash: output.append(contentsOf: hashPlaceholder)
        case .token: output.append(contentsOf: tokenPlaceholder)
        }
    }

    enum SegmentKind { case literal, number, uuid, hash, token }

    static func classify(_ s: UnsafeBufferPointer<UInt8>) -> SegmentKind {
        let count = s.count
        var digits = 0, hexLetters = 0, letters = 0, others = 0
        for b in s {
            if b &- 0x30 < 10 { digits += 1 }
            else if (b | 0x20) &- 0x61 < 6 { hexLetters += 1; letters += 1 }
            else if (b | 0x20) &- 0x61 < 26 { letters += 1 }
            else { others += 1 }
        }
        if digits == count { return .number }
        if count == 36, isUUID(s) { return .uuid }
        // Content hashes and object ids (git SHAs, MongoDB ObjectIds, MD5): long and all hex,
        // with at least one digit so words like `deadbeefcafe` in a route stay literal.
        if count >= 16, digits + hexLetters == count, digits > 0 { return .hash }
        // Opaque random ids (base64url tokens, slugs with many digits) are variables too: long,
        // no separators a human route name would use, and a good share of digits.
        if count >= 20, others == 0 || allBase64URL(s), digits * 4 >= count { return .token }
        return .literal
    }

    private static func isUUID(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        for (i, b) in s.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if b != UInt8(ascii: "-") { return false }
            } else if !(b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 6) {
                return false
            }
        }
        return true
    }

    private static func allBase64URL(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in s where !(b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 26 || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")) {
            return false
        }
        return true
    }
}

/// Warnings attached to passing exchanges (see `CORSWarning`).
extension CORSEngine {
    static func maxAgeWarnings(_ response: CORSResponse, profile: BrowserProfile) -> [CORSWarning] {
        guard let raw = response.headers.combinedValue(named: HeaderName.maxAge) else { return [] }
        if profile.engine == .firefox, case .notCached = PreflightCachePolicy.lifetime(maxAgeHeader: raw, profile: profile) {
            return [.maxAgeNotCached(value: raw)]
        }
        if let value = PreflightCachePolicy.parseSignedInteger(raw), value > profile.preflightCacheCapSeconds {
            return [.maxAgeAboveCap(requested: value, cap: profile.preflightCacheCapSeconds)]
        }
        return []
    }

    static func responseWarnings(_ response: CORSResponse, requestOrigin: String, includeCredentials: Bool) -> [CORSWarning] {
        responseWarnings(response, allowOrigin: response.headers.combinedValue(named: HeaderName.allowOrigin),
                         requestOrigin: requestOrigin, includeCredentials: includeCredentials)
    }

    /// `responseWarnings` with the combined ACAO value already looked up.
    static func responseWarnings(_ response: CORSResponse, allowOrigin: String?, requestOrigin: String,
                                 includeCredentials: Bool) -> [CORSWarning] {
        var warnings: [CORSWarning] = []
        guard let allowOrigin else { return [] }
        let allowCredentials = response.headers.combinedValue(named: HeaderName.allowCredentials)
        if allowOrigin == "null" { warnings.append(.nullOriginAllowed) }
        if allowOrigin != "*" {
            if !varyListsOriginOrStar(response.headers) {
                warnings.append(.missingVaryOrigin(allowOrigin: allowOrigin))
            }
            if allowCredentials == "true", requestOrigin != "null",
               CORSCheck.reflectsOrigin(requestOrigin: requestOrigin, allowOrigin: allowOrigin) {
                warnings.append(.credentialedOriginReflection(origin: requestOrigin))
            }
        } else if allowCredentials == "true" {
            warnings.append(.wildcardWithCredentialsHeader)
        }
        return warnings
    }

    /// Whether some `Vary` line lists `origin` or `*` (comma-separated, trimmed, ASCII
    /// case-insensitive). ASCII values are scanned in place; anything else takes the
    /// Character-based path (a combining mark can glue itself to a comma there).
    static func varyListsOriginOrStar(_ headers: HTTPHeaders) -> Bool {
        for field in headers.fields where field.name.equalsIgnoringASCIICase(HeaderName.vary) {
            let value = field.value
            guard value.utf8.allSatisfy({ $0 < 0x80 }) else {
                let items = value.trimmingHTTPWhitespace.split(separator: ",").map { $0.trimmingHTTPWhitespace.asciiLowercased }
                if items.contains("origin") || items.contains("*") { return true }
                continue
            }
            let bytes = value.utf8
            var pieceStart = bytes.startIndex
            while pieceStart < bytes.endIndex {
                let pieceEnd = bytes[pieceStart...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
                var start = pieceStart, end = pieceEnd
                while start < end, isHTTPWhitespace(bytes[start]) { start = bytes.index(after: start) }
                while end > start, isHTTPWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
                let item = bytes[start..<end]
                if item.count == 1 && item.first == UInt8(ascii: "*") { return true }
                if item.count == 6 && item.elementsEqual("origin".utf8, by: { ASCIIText.lower($0) == $1 }) { return true }
                pieceStart = pieceEnd == bytes.endIndex ? pieceEnd : bytes.index(after: pieceEnd)
            }
        }
        return false
    }

    @inline(__always)
    static func isHTTPWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

/// A parsed `Access-Control-Allow-Methods` / `-Headers` value.
public struct AllowList: Sendable, Hashable {
    /// Items in order (methods case kept; header names lower-cased).
    public var items: [String]

    public init(items: [String]) {
        self.items = items
    }

    public var containsWildcard: Bool { items.contains("*") }

    public func contains(_ item: String) -> Bool { items.contains(item) }
}

/// Why an allow list could not be parsed.
public struct AllowListParseError: Error, Sendable, Hashable {
    /// The first element that is not an HTTP token (Firefox prints it).
    public var invalidToken: String
    /// The whole combined header value (WebKit prints it).
    public var headerValue: String
}

public enum AllowListParser {
    /// Chromium `ParseAccessControlAllowList` (preflight_result.cc): split the combined value on
    /// `,`, trim whitespace, skip empty items, every other item must be an HTTP token.
    /// A missing header is an empty list. Methods keep their case (compared byte-exact);
    /// header names are lower-cased (compared case-insensitively).
    public static func parseMethods(_ headers: HTTPHeaders) -> Result<AllowList, AllowListParseError> {
        parse(headers.combinedValue(named: HeaderName.allowMethods), lowercase: false)
    }

    public static func parseHeaderNames(_ headers: HTTPHeaders) -> Result<AllowList, AllowListParseError> {
        parse(headers.combinedValue(named: HeaderName.allowHeaders), lowercase: true)
    }

    public static func parse(_ value: String?, lowercase: Bool) -> Result<AllowList, AllowListParseError> {
        guard let value else { return .success(AllowList(items: [])) }
        var items: [String] = []
        // ASCII (the usual case): items found on bytes, no Character splitting.
        if let pieces = ASCIIText.commaSeparatedItems(value) {
            items.reserveCapacity(pieces.count)
            for piece in pieces {
                guard MethodRules.isToken(piece) else {
                    return .failure(AllowListParseError(invalidToken: String(piece), headerValue: value))
                }
                items.append(lowercase ? piece.asciiLowercased : String(piece))
            }
            return .success(AllowList(items: items))
        }
        for piece in value.split(separator: ",", omittingEmptySubsequences: false) {
            let item = piece.trimmingHTTPWhitespace
            if item.isEmpty { continue }
            guard MethodRules.isToken(item) else {
                return .failure(AllowListParseError(invalidToken: item, headerValue: value))
            }
            items.append(lowercase ? item.asciiLowercased : item)
        }
        return .success(AllowList(items: items))
    }
}

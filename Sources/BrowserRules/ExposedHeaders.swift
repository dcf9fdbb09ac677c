/// Which response headers script can read on a CORS response (Fetch main fetch,
/// "CORS-filtered response"). Never blocks a request; explains "header is null in JS".
public enum ExposedHeaders {
    /// Always readable (Fetch "CORS-safelisted response-header name").
    public static let safelisted: Set<String> = [
        "cache-control", "content-language", "content-length", "content-type", "expires",
        "last-modified", "pragma",
    ]

    /// The parsed `Access-Control-Expose-Headers` list. Blink's `HTTPHeaderNameListParser`
    /// drops the whole list on any syntax error (and tolerates empty items).
    public static func exposeList(_ headers: HTTPHeaders) -> [String] {
        switch AllowListParser.parse(headers.combinedValue(named: HeaderName.exposeHeaders), lowercase: true) {
        case let .success(list): return list.items
        case .failure: return []
        }
    }

    /// Whether script sees response header `name`. `*` exposes everything only for
    /// uncredentialed requests; with credentials it matches a header literally named `*`.
    /// `Set-Cookie`/`Set-Cookie2` are never exposed.
    public static func isExposed(_ name: String, response: CORSResponse, includeCredentials: Bool) -> Bool {
        let lower = name.asciiLowercased
        if lower == "set-cookie" || lower == "set-cookie2" { return false }
        if safelisted.contains(lower) { return true }
        let list = exposeList(response.headers)
        if list.contains(lower) { return true }
        return list.contains("*") && !includeCredentials
    }
}

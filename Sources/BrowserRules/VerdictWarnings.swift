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
        var warnings: [CORSWarning] = []
        guard let allowOrigin = response.headers.combinedValue(named: HeaderName.allowOrigin) else { return [] }
        let allowCredentials = response.headers.combinedValue(named: HeaderName.allowCredentials)
        if allowOrigin == "null" { warnings.append(.nullOriginAllowed) }
        if allowOrigin != "*" {
            let vary = response.headers.values(named: HeaderName.vary)
                .flatMap { $0.split(separator: ",").map { $0.trimmingHTTPWhitespace.asciiLowercased } }
            if !vary.contains("origin") && !vary.contains("*") {
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
}

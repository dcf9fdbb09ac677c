/// Chromium Local Network Access (M142+), from caller-supplied facts.
enum LocalNetworkAccess {
    enum Outcome: Equatable {
        case allowed
        case blocked(CorsError)
        case needsPermissionDecision
    }

    /// `local_network_access_checker.cc`: a declared `targetAddressSpace` must match the real one
    /// (InvalidLocalNetworkAccess); only public → local/loopback is gated today ("local →
    /// loopback … not blocked at present"); insecure contexts are refused outright
    /// (InsecureLocalNetwork); secure ones need the permission (LocalNetworkAccessPermissionDenied).
    static func check(_ facts: LocalNetworkFacts) -> Outcome {
        if let declared = facts.declaredTargetSpace, declared != facts.resourceSpace {
            return .blocked(.invalidLocalNetworkAccess)
        }
        let fromPublic = facts.initiatorSpace == .publicSpace || facts.initiatorSpace == .unknown
        guard fromPublic, facts.resourceSpace.privacyRank > facts.initiatorSpace.privacyRank else {
            return .allowed
        }
        if !facts.initiatorIsSecureContext { return .blocked(.insecureLocalNetwork) }
        switch facts.permission {
        case .granted: return .allowed
        case .denied: return .blocked(.localNetworkAccessPermissionDenied)
        case .unknown: return .needsPermissionDecision
        }
    }
}

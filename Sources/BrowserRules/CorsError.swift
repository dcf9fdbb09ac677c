/// Every value of current Chromium's `network::mojom::CorsError` (late-2025 Chromium main,
/// `services/network/public/mojom/cors.mojom`, 25 values, `kMaxValue = 24`), in enum order.
///
/// `cdpName` is the spelling DevTools/CDP uses (`Network.CorsError`), i.e. the mojom name without `k`.
/// Numeric values are not exposed: Chromium renumbered the enum when the Private Network Access
/// values were removed in 2025, so raw numbers are not stable across versions.
///
/// What a packet capture can show (see `observability`):
/// - `disallowedByMode`, `corsDisabledScheme`: the browser refuses **before any network I/O**, so a
///   capture never contains the request. Produced only from caller-supplied facts (the request
///   mode from a HAR, or a non-HTTP(S) request URL). A captured redirect to a non-HTTP(S) scheme
///   is a network error (net::ERR_UNSAFE_REDIRECT), not this CORS error.
/// - `invalidResponse`: only a DevTools warning value; the page sees a network error instead.
///   Produced for a preflight that got no usable HTTP response (reset, empty reply).
/// - `wildcardOriginNotAllowed`, `invalidAllowCredentials` and their preflight twins: the response
///   side is on the wire, but the request's credentials mode is not (a missing `Cookie` header does
///   not prove `omit`). Decided only when credentials are known or inferable; otherwise undecidable.
/// - `insecureLocalNetwork`, `invalidLocalNetworkAccess`, `localNetworkAccessPermissionDenied`:
///   depend on the page's secure-context state, address spaces and a permission decision, none of
///   which are in HTTP bytes; produced only from caller-supplied `LocalNetworkFacts`.
/// - Everything else is decidable from the request/response bytes.
public enum CorsError: String, Sendable, Hashable, CaseIterable {
    case disallowedByMode
    case invalidResponse
    case wildcardOriginNotAllowed
    case missingAllowOriginHeader
    case multipleAllowOriginValues
    case invalidAllowOriginValue
    case allowOriginMismatch
    case invalidAllowCredentials
    case corsDisabledScheme
    case preflightInvalidStatus
    case preflightDisallowedRedirect
    case preflightWildcardOriginNotAllowed
    case preflightMissingAllowOriginHeader
    case preflightMultipleAllowOriginValues
    case preflightInvalidAllowOriginValue
    case preflightAllowOriginMismatch
    case preflightInvalidAllowCredentials
    case invalidAllowMethodsPreflightResponse
    case invalidAllowHeadersPreflightResponse
    case methodDisallowedByPreflightResponse
    case headerDisallowedByPreflightResponse
    case redirectContainsCredentials
    case insecureLocalNetwork
    case invalidLocalNetworkAccess
    case localNetworkAccessPermissionDenied

    /// DevTools / CDP spelling, e.g. `MissingAllowOriginHeader`.
    public var cdpName: String {
        rawValue.prefix(1).uppercased() + rawValue.dropFirst()
    }

    /// Chromium's mojom spelling, e.g. `kMissingAllowOriginHeader`.
    public var mojomName: String { "k" + cdpName }

    public init?(cdpName: String) {
        guard let match = CorsError.allCases.first(where: { $0.cdpName == cdpName }) else { return nil }
        self = match
    }

    /// Chromium's `IsPreflightError()` (cors_error_string.cc): only these get the
    /// "Response to preflight request doesn't pass access control check: " prefix.
    public var isPreflightError: Bool {
        switch self {
        case .preflightWildcardOriginNotAllowed, .preflightMissingAllowOriginHeader,
             .preflightMultipleAllowOriginValues, .preflightInvalidAllowOriginValue,
             .preflightAllowOriginMismatch, .preflightInvalidAllowCredentials,
             .preflightInvalidStatus, .preflightDisallowedRedirect:
            return true
        default:
            return false
        }
    }

    /// Whether the failure was found while validating the OPTIONS exchange.
    public var concernsPreflight: Bool {
        isPreflightError || self == .invalidAllowMethodsPreflightResponse
            || self == .invalidAllowHeadersPreflightResponse
            || self == .methodDisallowedByPreflightResponse
            || self == .headerDisallowedByPreflightResponse
    }

    public enum Observability: String, Sendable {
        /// Decidable from the captured bytes alone.
        case fromCapture
        /// Response side is captured, but the request's credentials mode must be known or inferred.
        case needsCredentialsMode
        /// Needs facts outside HTTP (address spaces, secure context, permission state).
        case needsOutOfBandFacts
        /// Happens before any network I/O, or is never surfaced to the page as a CORS error.
        case notOnTheWire
    }

    public var observability: Observability {
        switch self {
        case .disallowedByMode, .corsDisabledScheme, .invalidResponse:
            return .notOnTheWire
        case .wildcardOriginNotAllowed, .invalidAllowCredentials,
             .preflightWildcardOriginNotAllowed, .preflightInvalidAllowCredentials:
            return .needsCredentialsMode
        case .insecureLocalNetwork, .invalidLocalNetworkAccess, .localNetworkAccessPermissionDenied:
            return .needsOutOfBandFacts
        default:
            return .fromCapture
        }
    }

    /// The preflight twin of an origin/credentials error: Chromium runs the same check on the
    /// OPTIONS response and only swaps the enum value (preflight_controller.cc).
    var asPreflightVariant: CorsError {
        switch self {
        case .wildcardOriginNotAllowed: return .preflightWildcardOriginNotAllowed
        case .missingAllowOriginHeader: return .preflightMissingAllowOriginHeader
        case .multipleAllowOriginValues: return .preflightMultipleAllowOriginValues
        case .invalidAllowOriginValue: return .preflightInvalidAllowOriginValue
        case .allowOriginMismatch: return .preflightAllowOriginMismatch
        case .invalidAllowCredentials: return .preflightInvalidAllowCredentials
        default: return self
        }
    }
}

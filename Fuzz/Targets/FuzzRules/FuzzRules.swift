// The rule engine and preflight pairing, from structured inputs: the first byte chooses the
// part. Rules: a `CORSRequest`, maybe a `CORSResponse`, the preflight evidence and the context
// (browser, initiator, preflight cache, Local Network Access facts, credentials evidence),
// built from vocabularies of real header names and values with raw bytes mixed in, through
// `CORSEngine.evaluate`, `evaluatePreflight`, `CORSCheck.check`, and the URL/origin parsers.
// Pairing: a sequence of exchanges through `PreflightPairer` (link, expiry, drain).
// Checks: the engine is deterministic (same input, same verdict); every exchange the pairer
// remembers comes back once at most.
// fuzz-options: -max_len=4096
import BrowserRules
import CorscopeCapture
import CorscopeHTTP
import CorscopePairing
import FuzzSupport

extension FuzzReader {
    mutating func headers(maxCount: Int = 8) -> HTTPHeaders {
        var fields: [HTTPHeaderField] = []
        for _ in 0..<below(maxCount + 1) {
            fields.append(HTTPHeaderField(name: string(FuzzVocabulary.headerNames), value: string(FuzzVocabulary.headerValues)))
        }
        return HTTPHeaders(fields)
    }

    mutating func corsRequest() -> CORSRequest {
        var headers = headers()
        if bool() { headers = HTTPHeaders([HTTPHeaderField(name: "Origin", value: string(FuzzVocabulary.origins))] + Array(headers)) }
        return CORSRequest(
            method: string(FuzzVocabulary.methods), url: string(FuzzVocabulary.origins) + string(FuzzVocabulary.targets),
            headers: headers, mode: bool() ? pick(RequestMode.allCases) : nil, credentials: pick(CredentialsMode.allCases),
            initiatorOrigin: bool() ? Origin(serialized: string(FuzzVocabulary.origins)) : nil,
            redirectedFrom: bool() ? [string(FuzzVocabulary.origins) + "/start"] : [], isRevalidation: u8() < 20)
    }

    mutating func corsResponse() -> CORSResponse {
        CORSResponse(status: bool() ? pick(FuzzVocabulary.statuses) : Int(u16()) - 1000, headers: headers(maxCount: 10))
    }

    mutating func context() -> EvaluationContext {
        let profile = BrowserProfile(engine: pick(BrowserProfile.Engine.allCases), majorVersion: bool() ? Int(u8()) : nil)
        var cache: [PreflightCacheEntry] = []
        for _ in 0..<below(3) {
            let lifetime: PreflightLifetime = bool() ? .seconds(Int(u16()) - 100) : .notCached
            cache.append(PreflightCacheEntry(
                origin: string(FuzzVocabulary.origins), url: string(FuzzVocabulary.origins) + string(FuzzVocabulary.targets),
                credentials: bool(), methods: AllowList(items: [string(FuzzVocabulary.methods)]),
                headerNames: AllowList(items: [string(FuzzVocabulary.headerNames).lowercased()]),
                storedAt: Double(u16()), lifetime: lifetime))
        }
        let spaces = LocalNetworkFacts.AddressSpace.allCases
        let local = u8() < 40
            ? LocalNetworkFacts(initiatorSpace: pick(spaces), resourceSpace: pick(spaces), initiatorIsSecureContext: bool(),
                                permission: pick([.granted, .denied, .unknown]), declaredTargetSpace: bool() ? pick(spaces) : nil)
            : nil
        return EvaluationContext(
            profile: profile, initiator: pick(ResourceInitiator.allCases), preflightCache: cache,
            requestTime: bool() ? Double(u16()) : nil, localNetwork: local,
            credentialsEvidence: pick([.none, .cookiesSentToHostElsewhere, .cookiesRemovedFromInput, .cookiesNotShownInInput]),
            browserReportedFailure: u8() < 30 ? pick(["net::ERR_FAILED", "", rawString(maxLength: 12)]) : nil)
    }
}

func fuzzRules(_ input: inout FuzzReader) {
    let request = corsRequestOrNil(&input)
    let response: CORSResponse? = input.u8() < 220 ? input.corsResponse() : nil
    let preflight: PreflightEvidence
    switch input.u8() % 4 {
    case 0: preflight = .none
    case 1: preflight = .knownCached
    case 2: preflight = .exchange(request: input.corsRequest(), response: nil)
    default: preflight = .exchange(request: input.corsRequest(), response: input.corsResponse())
    }
    let context = input.context()
    let exchange = CORSExchange(request: request, response: response, preflight: preflight)
    let verdict = CORSEngine.evaluate(exchange, context: context)
    fuzzCheck(verdict == CORSEngine.evaluate(exchange, context: context), "evaluate is not deterministic")
    _ = CORSEngine.evaluatePreflight(exchange, context: context)
    if let response, let origin = request.originHeader {
        _ = CORSCheck.check(responseHeaders: response.headers, requestOrigin: origin, includeCredentials: input.bool())
        _ = PreflightCacheEntry.from(preflightResponse: response, origin: origin, url: request.url, credentials: input.bool(),
                                     storedAt: 0, profile: context.profile)
    }
    _ = Origin(url: request.url)
    _ = ParsedURL(request.url)
}

func corsRequestOrNil(_ input: inout FuzzReader) -> CORSRequest { input.corsRequest() }

func fuzzPairing(_ input: inout FuzzReader) {
    var configuration = PreflightPairer.Configuration()
    if input.bool() { configuration.pairingWindow = Double(input.u8()) / 8; configuration.cacheHorizon = Double(input.u16()) }
    let pairer = PreflightPairer(configuration: configuration)
    var returned = Set<String>()
    func once(_ exchange: HTTPExchange, _ how: String) {
        let key = "\(exchange.connection.id)/\(exchange.index)"
        fuzzCheck(returned.insert(key).inserted, "exchange \(key) handed back twice (\(how))")
    }
    for exchange in input.exchanges(maxCount: 64) {
        _ = PreflightPairer.isPreflight(exchange)
        switch pairer.link(exchange) {
        case .paired(let preflight): _ = preflight.index
        case .cachedCandidate(let preflight, let age): _ = (preflight.index, age)
        case .isPreflight, .none: break
        }
        if let time = exchange.requestFirstByte, input.u8() < 64 {
            for expired in pairer.expired(at: time) { once(expired, "expired") }
        }
    }
    for left in pairer.drain() { once(left, "drain") }
    _ = pairer.forgottenUnanswered
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRulesAndPairing(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    if input.u8() & 1 == 0 { fuzzRules(&input) } else { fuzzPairing(&input) }
    return 0
}

runFuzzer(fuzzRulesAndPairing)

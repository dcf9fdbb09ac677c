import BrowserRules
import XCTest

/// The page origin used throughout the notes' cases ("O").
let pageOrigin = "http://a.test"
let remoteURL = "http://b.test/resource"
let otherRemoteURL = "http://c.test/resource"
let sameOriginURL = "http://a.test/resource"

/// One row of a table-driven test: a name that says where the case comes from, and a check
/// that returns nil when the engine agrees or a description of the disagreement.
struct Row: Sendable {
    let name: String
    let check: @Sendable () -> String?

    init(_ name: String, _ check: @escaping @Sendable () -> String?) {
        self.name = name
        self.check = check
    }
}

func runRows(_ rows: [Row], file: StaticString = #filePath, line: UInt = #line) {
    for row in rows {
        if let problem = row.check() {
            XCTFail("\(row.name): \(problem)", file: file, line: line)
        }
    }
}

/// nil when equal, else a message.
func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String = "") -> String? {
    actual == expected ? nil : "\(what) expected \(expected), got \(actual)"
}

/// Combines several sub-checks; reports every disagreement.
func all(_ checks: String?...) -> String? {
    let problems = checks.compactMap { $0 }
    return problems.isEmpty ? nil : problems.joined(separator: "; ")
}

func acao(_ value: String?, acac: String? = nil) -> HTTPHeaders {
    var fields: [HTTPHeaderField] = []
    if let value { fields.append(HTTPHeaderField(name: "Access-Control-Allow-Origin", value: value)) }
    if let acac { fields.append(HTTPHeaderField(name: "Access-Control-Allow-Credentials", value: acac)) }
    return HTTPHeaders(fields)
}

func check(_ headers: HTTPHeaders, origin: String = pageOrigin, credentials: Bool = false) -> CORSCheckResult {
    CORSCheck.check(responseHeaders: headers, requestOrigin: origin, includeCredentials: credentials)
}

func failure(_ result: CORSCheckResult) -> CheckFailure? { result.failure }

/// A preflight response with ACAO = page origin (and ACAC when credentialed) plus the given lists.
func preflightResponse(
    status: Int = 200, allowOrigin: String? = pageOrigin, allowCredentials: String? = nil,
    methods: String? = nil, headers: String? = nil, extra: [(String, String)] = []
) -> CORSResponse {
    var fields: [HTTPHeaderField] = []
    if let allowOrigin { fields.append(.init(name: "Access-Control-Allow-Origin", value: allowOrigin)) }
    if let allowCredentials { fields.append(.init(name: "Access-Control-Allow-Credentials", value: allowCredentials)) }
    if let methods { fields.append(.init(name: "Access-Control-Allow-Methods", value: methods)) }
    if let headers { fields.append(.init(name: "Access-Control-Allow-Headers", value: headers)) }
    for (name, value) in extra { fields.append(.init(name: name, value: value)) }
    return CORSResponse(status: status, headers: HTTPHeaders(fields))
}

/// PreflightResult-style check: does this preflight response approve `method` + `headerNames`?
func validate(
    method: String, headerNames: [String] = [], credentials: Bool = false,
    methods: String? = nil, headers: String? = nil, status: Int = 200,
    profile: BrowserProfile = .chromium, authorizationRule: Bool? = nil
) -> PreflightValidation {
    let response = preflightResponse(
        status: status, allowCredentials: credentials ? "true" : nil, methods: methods, headers: headers)
    let question = PreflightQuestion(method: method, headerNames: headerNames,
                                     includeCredentials: credentials, requestOrigin: pageOrigin)
    return PreflightValidator.validate(response: response, question: question, profile: profile,
                                       authorizationNonWildcardRule: authorizationRule)
}

/// A full WPT-style preflighted fetch from `pageOrigin` to `remoteURL`: the browser computes
/// ACRM/ACRH, the server answers the preflight with `acam`/`acah` and the actual request with
/// the same ACAO/ACAC. Returns the engine's verdict for the actual request.
func preflightedFetch(
    method: String, headers: [(String, String)] = [], credentials: Bool,
    acam: String?, acah: String?, preflightStatus: Int = 200,
    profile: BrowserProfile = .chromium, url: String = remoteURL
) -> CORSVerdict {
    let wireMethod = MethodRules.normalize(method)
    let author = HTTPHeaders(headers.map { HTTPHeaderField(name: $0.0, value: $0.1) })
    var preflightFields: [HTTPHeaderField] = [
        .init(name: "Origin", value: pageOrigin),
        .init(name: "Access-Control-Request-Method", value: wireMethod),
    ]
    if let acrh = HeaderRules.accessControlRequestHeadersValue(for: HeaderRules.corsUnsafeNames(in: author, profile: profile)) {
        preflightFields.append(.init(name: "Access-Control-Request-Headers", value: acrh))
    }
    let preflightRequest = CORSRequest(method: "OPTIONS", url: url, headers: HTTPHeaders(preflightFields), mode: .cors)
    let allowCredentials: String? = credentials ? "true" : nil
    let optionsResponse = preflightResponse(status: preflightStatus, allowCredentials: allowCredentials, methods: acam, headers: acah)
    let request = CORSRequest(
        method: wireMethod, url: url,
        headers: HTTPHeaders([.init(name: "Origin", value: pageOrigin)] + author.fields),
        mode: .cors, credentials: credentials ? .include : .omit,
        initiatorOrigin: Origin(serialized: pageOrigin))
    let response = CORSResponse(status: 200, headers: acao(pageOrigin, acac: allowCredentials))
    return CORSEngine.evaluate(
        CORSExchange(request: request, response: response, preflight: .exchange(request: preflightRequest, response: optionsResponse)),
        context: EvaluationContext(profile: profile))
}

/// A simple (non-preflighted) CORS GET from `pageOrigin`, possibly after redirects.
func simpleFetch(
    url: String = remoteURL, originHeader: String = pageOrigin, redirectedFrom: [String] = [],
    credentials: CredentialsMode = .omit, response: CORSResponse, mode: RequestMode? = .cors,
    extraHeaders: [(String, String)] = [], profile: BrowserProfile = .chromium,
    initiator: ResourceInitiator = .fetch
) -> CORSVerdict {
    let request = CORSRequest(
        method: "GET", url: url,
        headers: HTTPHeaders([.init(name: "Origin", value: originHeader)] + extraHeaders.map { .init(name: $0.0, value: $0.1) }),
        mode: mode, credentials: credentials, initiatorOrigin: Origin(serialized: pageOrigin),
        redirectedFrom: redirectedFrom)
    return CORSEngine.evaluate(CORSExchange(request: request, response: response),
                               context: EvaluationContext(profile: profile, initiator: initiator))
}

func kindAndError(_ verdict: CORSVerdict) -> String {
    verdict.corsError.map { "\(verdict.kind.rawValue)(\($0.cdpName))" } ?? verdict.kind.rawValue
}

func expectVerdict(_ verdict: CORSVerdict, _ kind: CORSVerdict.Kind, _ error: CorsError? = nil, param: String? = nil) -> String? {
    var problems: [String] = []
    if verdict.kind != kind || verdict.corsError != error {
        problems.append("expected \(kind.rawValue)\(error.map { "(\($0.cdpName))" } ?? ""), got \(kindAndError(verdict)) — \(verdict.explanation)")
    }
    if let param, verdict.failedParameter != param {
        problems.append("failed parameter expected '\(param)', got '\(verdict.failedParameter ?? "nil")'")
    }
    return problems.isEmpty ? nil : problems.joined(separator: "; ")
}

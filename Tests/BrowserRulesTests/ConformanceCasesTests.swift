import BrowserRules
import XCTest

/// The 70 conformance cases of /work/shared/notes/cors-rules.md §4, one row each, named by number
/// and source. CU = Chromium services/network/public/cpp/cors/cors_unittest.cc,
/// PRU = Chromium services/network/cors/preflight_result_unittest.cc, WPT = web-platform-tests.
final class ConformanceCasesTests: XCTestCase {
    static let chromium = BrowserProfile.chromium

    // MARK: Rows 1–22: CU

    static let cuRows: [Row] = [
        Row("#1 CU cors_unittest.cc: ACAO * without credentials passes") {
            expect(check(acao("*")), .passed)
        },
        Row("#2 CU cors_unittest.cc: ACAO * with credentials → WildcardOriginNotAllowed") {
            expect(failure(check(acao("*"), credentials: true))?.error, .wildcardOriginNotAllowed)
        },
        Row("#3 CU cors_unittest.cc: no ACAO → MissingAllowOriginHeader") {
            expect(failure(check(acao(nil)))?.error, .missingAllowOriginHeader)
        },
        Row("#4 CU cors_unittest.cc: space-separated ACAO → MultipleAllowOriginValues") {
            let value = "http://example.com http://another.example.com"
            return expect(failure(check(acao(value))), CheckFailure(.multipleAllowOriginValues, value))
        },
        Row("#5 CU cors_unittest.cc: comma-separated ACAO → MultipleAllowOriginValues") {
            let value = "http://example.com,http://another.example.com"
            return expect(failure(check(acao(value))), CheckFailure(.multipleAllowOriginValues, value))
        },
        Row("#6 CU cors_unittest.cc: ACAO invalid.origin → InvalidAllowOriginValue") {
            expect(failure(check(acao("invalid.origin"))), CheckFailure(.invalidAllowOriginValue, "invalid.origin"))
        },
        Row("#7 CU cors_unittest.cc: other origin → AllowOriginMismatch with the value as hint") {
            expect(failure(check(acao("http://not.google.com"), origin: "http://google.com")),
                   CheckFailure(.allowOriginMismatch, "http://not.google.com"))
        },
        Row("#8 CU cors_unittest.cc: opaque origin and ACAO null passes") {
            expect(check(acao("null"), origin: Origin.opaque.serialized), .passed)
        },
        Row("#9 CU cors_unittest.cc: credentials need ACAC exactly true") {
            all(expect(check(acao(pageOrigin, acac: "true"), credentials: true), .passed),
                expect(failure(check(acao(pageOrigin, acac: "fuga"), credentials: true)),
                       CheckFailure(.invalidAllowCredentials, "fuga")))
        },
        Row("#10 CU cors_unittest.cc: safelisted methods") {
            all(expect(["get", "Get", "GET", "HEAD", "POST"].allSatisfy(MethodRules.isSafelisted), true, "safelisted"),
                expect(MethodRules.isSafelisted("OPTIONS"), false, "OPTIONS"))
        },
        Row("#11 CU cors_unittest.cc: Accept value bytes and 128-byte limit") {
            let allowed = Set("\t !#$%&'*+,-./0123456789;=ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~".unicodeScalars)
            var problems: [String] = []
            for value in UInt32(0)...0x7F {
                let scalar = Unicode.Scalar(value)!
                let got = HeaderRules.isSafelisted(name: "Accept", value: String(Character(scalar)))
                if got != allowed.contains(scalar) { problems.append("0x\(String(value, radix: 16)) → \(got)") }
            }
            if !HeaderRules.isSafelisted(name: "accept", value: "é") { problems.append("byte ≥ 0x80 rejected") }
            if !HeaderRules.isSafelisted(name: "accept", value: String(repeating: "a", count: 128)) { problems.append("128 rejected") }
            if HeaderRules.isSafelisted(name: "accept", value: String(repeating: "a", count: 129)) { problems.append("129 accepted") }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#12 CU cors_unittest.cc: Accept-Language / Content-Language characters and length") {
            let allowed = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;=".unicodeScalars)
            var problems: [String] = []
            for name in ["Accept-Language", "Content-Language"] {
                for value in UInt32(0x20)...0x7E {
                    let scalar = Unicode.Scalar(value)!
                    if HeaderRules.isSafelisted(name: name, value: String(Character(scalar))) != allowed.contains(scalar) {
                        problems.append("\(name) 0x\(String(value, radix: 16))")
                    }
                }
                if !HeaderRules.isSafelisted(name: name, value: String(repeating: "a", count: 128)) { problems.append("\(name) 128") }
                if HeaderRules.isSafelisted(name: name, value: String(repeating: "a", count: 129)) { problems.append("\(name) 129") }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#13 CU cors_unittest.cc: Content-Type 128-byte limit") {
            let base = "text/plain; charset="
            return all(expect(HeaderRules.isSafelisted(name: "Content-Type", value: base + String(repeating: "a", count: 108)), true, "128 B"),
                       expect(HeaderRules.isSafelisted(name: "Content-Type", value: base + String(repeating: "a", count: 109)), false, "129 B"))
        },
        Row("#14 CU cors_unittest.cc: Content-Type essences") {
            let ok = ["  text/plain ; charset=UTF-8", "text/plain; param=BOGUS", "Text/plain", "multipart/form-data"]
            let bad = ["text/html", "image/png"]
            return all(expect(ok.filter { !HeaderRules.isSafelisted(name: "content-type", value: $0) }, [], "rejected"),
                       expect(bad.filter { HeaderRules.isSafelisted(name: "content-type", value: $0) }, [], "accepted"))
        },
        Row("#15 CU cors_unittest.cc: dpr / device-memory decimals (Chromium only)") {
            let ok = ["1.25", "1"]
            let bad = ["", "abc", "-1.25", "1e2", "inf", "NaN", "1.", ".1", "1.25.3"]
            var problems: [String] = []
            for name in ["dpr", "device-memory"] {
                problems += ok.filter { !HeaderRules.isSafelisted(name: name, value: $0) }.map { "\(name) \($0) rejected" }
                problems += bad.filter { HeaderRules.isSafelisted(name: name, value: $0) }.map { "\(name) '\($0)' accepted" }
                if HeaderRules.isSafelisted(name: name, value: "1.25", profile: .firefox) { problems.append("\(name) safelisted in Firefox") }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#16 CU cors_unittest.cc: width / rtt / downlink / ect") {
            all(expect(HeaderRules.isSafelisted(name: "width", value: "2147483648"), true, "width big"),
                expect(HeaderRules.isSafelisted(name: "width", value: "125.2"), false, "width fraction"),
                expect(HeaderRules.isSafelisted(name: "rtt", value: "1.0"), false, "rtt fraction"),
                expect(HeaderRules.isSafelisted(name: "downlink", value: "1.0"), true, "downlink"),
                expect(HeaderRules.isSafelisted(name: "ect", value: "2g"), true, "ect 2g"),
                expect(HeaderRules.isSafelisted(name: "ect", value: "6g"), false, "ect 6g"))
        },
        Row("#17 CU cors_unittest.cc: unsafe names, raw and not-forbidden") {
            let headers: HTTPHeaders = [("content-type", "text/plain"), ("dpr", "12345"), ("accept", "en,ja"),
                                        ("accept-charset", "utf-8"), ("user-agent", "foo"), ("hoge", "piyo")]
            return all(expect(Set(HeaderRules.corsUnsafeNames(in: headers, excludingForbidden: false)),
                              ["accept-charset", "user-agent", "hoge"], "raw"),
                       expect(HeaderRules.corsUnsafeNames(in: headers), ["hoge"], "not forbidden"))
        },
        Row("#18 CU cors_unittest.cc: safelisted values totalling 1024 bytes stay safe") {
            var fields = (0..<8).map { _ in HTTPHeaderField(name: "accept", value: String(repeating: "a", count: 128)) }
            fields.append(.init(name: "hoge", value: "piyo"))
            return expect(HeaderRules.corsUnsafeNames(in: HTTPHeaders(fields)), ["hoge"])
        },
        Row("#19 CU cors_unittest.cc: 1025 bytes makes every safelisted name unsafe") {
            var fields = (0..<8).map { _ in HTTPHeaderField(name: "accept", value: String(repeating: "a", count: 128)) }
            fields.append(.init(name: "accept-language", value: "a"))
            fields.append(.init(name: "hoge", value: "piyo"))
            return expect(Set(HeaderRules.corsUnsafeNames(in: HTTPHeaders(fields))), ["hoge", "accept", "accept-language"])
        },
        Row("#20 CU cors_unittest.cc: simple Range values are safelisted") {
            expect(["bytes=100-200", "BYTES=100-200", "bytes=100-"].filter { !HeaderRules.isSafelisted(name: "Range", value: $0) }, [])
        },
        Row("#21 CU cors_unittest.cc: other Range values need a preflight") {
            let values = ["bytes=100-200,300-400", "bytes=-200", "bytes=200-100", "bytes = 100-200", "bytes=,100-200", "", "500"]
            return expect(values.filter { HeaderRules.isSafelisted(name: "Range", value: $0) }, [])
        },
        Row("#22 CU cors_unittest.cc: forbidden methods") {
            all(expect(["connect", "CoNnEcT", "trace", "track"].allSatisfy(MethodRules.isForbidden), true, "forbidden"),
                expect(["C0NNECT", "trac"].contains(where: MethodRules.isForbidden), false, "look-alikes"))
        },
    ]

    // MARK: Rows 23–37: PRU

    static let pruRows: [Row] = [
        Row("#23 PRU preflight_result_unittest.cc: empty ACAM still allows GET/HEAD/POST") {
            expect(["GET", "HEAD", "POST"].map { validate(method: $0, methods: "").failure }, [nil, nil, nil])
        },
        Row("#24 PRU preflight_result_unittest.cc: ACAM * (uncredentialed) allows OPTIONS") {
            expect(validate(method: "OPTIONS", methods: "*").failure, nil)
        },
        Row("#25 PRU preflight_result_unittest.cc: PUT not listed → MethodDisallowedByPreflightResponse") {
            let expected = CheckFailure(.methodDisallowedByPreflightResponse, "PUT")
            return expect(["", "GET", "GET, POST, DELETE"].map { validate(method: "PUT", methods: $0).failure },
                          [expected, expected, expected])
        },
        Row("#26 PRU preflight_result_unittest.cc: ACAM comparison is case-sensitive") {
            all(expect(validate(method: "PUT", methods: "put").failure?.error, .methodDisallowedByPreflightResponse, "put/PUT"),
                expect(validate(method: "put", methods: "PUT").failure?.error, .methodDisallowedByPreflightResponse, "PUT/put"),
                expect(validate(method: "PATCH", methods: "patch").failure?.error, .methodDisallowedByPreflightResponse, "patch/PATCH"))
        },
        Row("#27 PRU preflight_result_unittest.cc: exact match, and GET via the safelist") {
            all(expect(validate(method: "put", methods: "put").failure, nil, "put/put"),
                expect(validate(method: "GET", methods: "get").failure, nil, "get/GET"))
        },
        Row("#28 PRU preflight_result_unittest.cc: empty ACAM items ignored") {
            expect(validate(method: "PUT", methods: "GET, ,PUT").failure, nil)
        },
        Row("#29 PRU preflight_result_unittest.cc: ACAH comparison is case-insensitive") {
            expect(validate(method: "GET", headerNames: ["X-MY-HEADER", "y-my-header"], headers: "x-my-header, Y-MY-HEADER").failure, nil)
        },
        Row("#30 PRU preflight_result_unittest.cc: ACAH * only without credentials") {
            all(expect(validate(method: "GET", headerNames: ["xyzzy"], headers: "*").failure, nil, "no creds"),
                expect(validate(method: "GET", headerNames: ["xyzzy"], credentials: true, headers: "*").failure,
                       CheckFailure(.headerDisallowedByPreflightResponse, "xyzzy"), "creds"))
        },
        Row("#31 PRU preflight_result_unittest.cc: forbidden Host is ignored") {
            let names = HeaderRules.corsUnsafeNames(in: [("Host", "example.com")])
            return all(expect(names, [], "unsafe names"),
                       expect(validate(method: "GET", headerNames: names, headers: "").failure, nil))
        },
        Row("#32 PRU preflight_result_unittest.cc: first unlisted header is reported lower-case") {
            expect(validate(method: "GET", headerNames: ["X-MY-HEADER", "Y-MY-HEADER"], headers: "X-MY-HEADER").failure,
                   CheckFailure(.headerDisallowedByPreflightResponse, "y-my-header"))
        },
        Row("#33 PRU preflight_result_unittest.cc: unparsable lists") {
            all(expect(validate(method: "GET", headers: "bad value").failure?.error, .invalidAllowHeadersPreflightResponse, "ACAH"),
                expect(validate(method: "GET", methods: "bad value").failure?.error, .invalidAllowMethodsPreflightResponse, "ACAM"))
        },
        Row("#34 PRU preflight_result_unittest.cc: lists with empty items parse") {
            let values = ["X-MY-HEADER, ", ", X-MY-HEADER, Y-MY-HEADER, ,", ""]
            return expect(values.map { validate(method: "GET", headers: $0).failure }, [nil, nil, nil])
        },
        Row("#35 PRU preflight_result_unittest.cc: Max-Age 573 / -765") {
            let positive = PreflightCacheEntry.from(
                preflightResponse: preflightResponse(extra: [("Access-Control-Max-Age", "573")]),
                origin: pageOrigin, url: remoteURL, credentials: false, storedAt: 1000, profile: chromium)
            let negative = PreflightCacheEntry.from(
                preflightResponse: preflightResponse(extra: [("Access-Control-Max-Age", "-765")]),
                origin: pageOrigin, url: remoteURL, credentials: false, storedAt: 1000, profile: chromium)
            return all(expect(positive?.expiresAt, 1573, "573"), expect(negative?.expiresAt, 1000, "-765"))
        },
        Row("#36 PRU preflight_result_unittest.cc: credentialed entries serve both modes, not the reverse") {
            func entry(_ credentials: Bool) -> PreflightCacheEntry {
                PreflightCacheEntry(origin: pageOrigin, url: remoteURL, credentials: credentials,
                                    methods: AllowList(items: ["PUT"]), headerNames: AllowList(items: []),
                                    storedAt: 0, lifetime: .seconds(60))
            }
            func serves(_ entry: PreflightCacheEntry, _ credentials: Bool) -> Bool {
                entry.canServe(origin: pageOrigin, url: remoteURL, method: "PUT", headerNames: [],
                               includeCredentials: credentials, at: 1)
            }
            return expect([serves(entry(true), false), serves(entry(true), true), serves(entry(false), true)],
                           [true, true, false])
        },
        Row("#37 PRU preflight_result_unittest.cc: Authorization and ACAH * with the non-wildcard feature off/on") {
            let off = validate(method: "GET", headerNames: ["auThorization"], headers: "*", authorizationRule: false)
            let on = validate(method: "GET", headerNames: ["auThorization"], headers: "*", authorizationRule: true)
            let listed = validate(method: "GET", headerNames: ["auThorization"], headers: "*, AUTHORIZAtion", authorizationRule: true)
            return all(expect(off.failure, nil, "off"),
                       expect(off.authorizationCoveredOnlyByWildcard, true, "deprecation flag"),
                       expect(on.failure, CheckFailure(.headerDisallowedByPreflightResponse, "authorization"), "on"),
                       expect(listed.failure, nil, "listed"),
                       expect(validate(method: "GET", headerNames: ["authorization"], headers: "*").failure, nil, "shipping default"))
        },
    ]

    // MARK: Rows 38–50: WPT preflight

    static let wptPreflightRows: [Row] = [
        Row("#38 WPT fetch/api/cors/cors-preflight-star.any.js: ACAM get, ACAH x-test, no credentials") {
            expectVerdict(preflightedFetch(method: "GET", headers: [("X-Test", "1")], credentials: false, acam: "get", acah: "x-test"), .passed)
        },
        Row("#39 WPT cors-preflight-star.any.js: ACAM * allows SUPER / OK without credentials") {
            all(expectVerdict(preflightedFetch(method: "SUPER", credentials: false, acam: "*", acah: "*"), .passed),
                expectVerdict(preflightedFetch(method: "OK", headers: [("X-Test", "1")], credentials: false, acam: "*", acah: "*"), .passed))
        },
        Row("#40 WPT cors-preflight-star.any.js: * is literal with credentials") {
            all(expectVerdict(preflightedFetch(method: "OK", headers: [("X-Test", "1")], credentials: true, acam: "*", acah: "*"),
                              .blocked, .methodDisallowedByPreflightResponse, param: "OK"),
                expectVerdict(preflightedFetch(method: "PUT", credentials: true, acam: "*", acah: nil),
                              .blocked, .methodDisallowedByPreflightResponse, param: "PUT"),
                expectVerdict(preflightedFetch(method: "GET", headers: [("X-Test", "1")], credentials: true, acam: "get", acah: "*"),
                              .blocked, .headerDisallowedByPreflightResponse, param: "x-test"))
        },
        Row("#41 WPT cors-preflight-star.any.js: literal * method and header match with credentials") {
            expectVerdict(preflightedFetch(method: "*", headers: [("*", "1")], credentials: true, acam: "*", acah: "*"), .passed)
        },
        Row("#42 WPT cors-preflight-star.any.js: GET/POST/HEAD in any case pass (normalised + safelisted)") {
            var problems: [String] = []
            for allowed in ["GET", "get", "POST", "post", "HEAD", "head"] {
                for method in [allowed.uppercased(), allowed.lowercased()] {
                    let verdict = preflightedFetch(method: method, headers: [("X-Test", "1")], credentials: true, acam: allowed, acah: "x-test")
                    if verdict.kind != .passed { problems.append("ACAM \(allowed) method \(method): \(kindAndError(verdict))") }
                }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#43 WPT cors-preflight-star.any.js: delete/put are normalised, lower-case ACAM fails") {
            all(expectVerdict(preflightedFetch(method: "delete", credentials: true, acam: "DELETE", acah: nil), .passed),
                expectVerdict(preflightedFetch(method: "put", credentials: true, acam: "PUT", acah: nil), .passed),
                expectVerdict(preflightedFetch(method: "delete", credentials: true, acam: "delete", acah: nil), .blocked, .methodDisallowedByPreflightResponse),
                expectVerdict(preflightedFetch(method: "DELETE", credentials: true, acam: "delete", acah: nil), .blocked, .methodDisallowedByPreflightResponse),
                expectVerdict(preflightedFetch(method: "put", credentials: true, acam: "put", acah: nil), .blocked, .methodDisallowedByPreflightResponse),
                expectVerdict(preflightedFetch(method: "PUT", credentials: true, acam: "put", acah: nil), .blocked, .methodDisallowedByPreflightResponse))
        },
        Row("#44 WPT cors-preflight-star.any.js: patch is not normalised") {
            all(expectVerdict(preflightedFetch(method: "patch", credentials: true, acam: "PATCH", acah: nil),
                              .blocked, .methodDisallowedByPreflightResponse, param: "patch"),
                expectVerdict(preflightedFetch(method: "patch", credentials: true, acam: "patch", acah: nil), .passed))
        },
        Row("#45 WPT cors-preflight-star.any.js: Authorization under ACAH * (Chromium passes with a deprecation; spec fails)") {
            let verdict = preflightedFetch(method: "POST", headers: [("Authorization", "123")], credentials: false, acam: "*", acah: "*")
            let spec = validate(method: "POST", headerNames: ["authorization"], methods: "*", headers: "*", authorizationRule: true)
            return all(expectVerdict(verdict, .passed),
                       expect(verdict.warnings.contains(.authorizationCoveredOnlyByWildcard), true, "warning"),
                       expect(spec.failure, CheckFailure(.headerDisallowedByPreflightResponse, "authorization"), "spec rule"))
        },
        Row("#46 WPT cors-preflight-star.any.js: ACAH '*, Authorization' covers Authorization") {
            let spec = validate(method: "POST", headerNames: ["authorization"], methods: "*", headers: "*, Authorization", authorizationRule: true)
            return all(expectVerdict(preflightedFetch(method: "POST", headers: [("Authorization", "123")], credentials: false, acam: "*", acah: "*, Authorization"), .passed),
                       expect(spec.failure, nil, "spec rule"))
        },
        Row("#47 WPT fetch/api/cors/cors-preflight-status.any.js: only 2xx preflights succeed") {
            var problems: [String] = []
            for status in 200...206 {
                let verdict = preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil, preflightStatus: status)
                if verdict.kind != .passed { problems.append("\(status): \(kindAndError(verdict))") }
            }
            for status in Array(300...308) + Array(400...405) + Array(501...505) {
                let verdict = preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil, preflightStatus: status)
                if verdict.corsError != .preflightInvalidStatus { problems.append("\(status): \(kindAndError(verdict))") }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#48 WPT cors/preflight-failure.htm: 200/299 succeed, 3xx/4xx/5xx/680/790 fail") {
            var problems: [String] = []
            for status in [200, 299] where preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil, preflightStatus: status).kind != .passed {
                problems.append("\(status) failed")
            }
            for status in Array(300...308) + Array(400...417) + Array(500...505) + [680, 790] {
                let verdict = preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil, preflightStatus: status)
                if verdict.corsError != .preflightInvalidStatus { problems.append("\(status): \(kindAndError(verdict))") }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#49 WPT fetch/api/cors/cors-preflight-response-validation.any.js: unparsable lists fail") {
            all(expectVerdict(preflightedFetch(method: "GET", headers: [("X-Test", "1")], credentials: false, acam: nil, acah: "header name with space"),
                              .blocked, .invalidAllowHeadersPreflightResponse),
                expectVerdict(preflightedFetch(method: "PUT", credentials: false, acam: "Bad method name", acah: nil),
                              .blocked, .invalidAllowMethodsPreflightResponse))
        },
        Row("#50 WPT fetch/api/cors/cors-preflight-redirect.any.js: redirected preflights fail") {
            var problems: [String] = []
            for status in [301, 302, 303, 307, 308] {
                let preflightRequest = CORSRequest(method: "OPTIONS", url: remoteURL,
                                                   headers: [("Origin", pageOrigin), ("Access-Control-Request-Method", "PUT")], mode: .cors)
                let redirect = preflightResponse(status: status, allowOrigin: "*", methods: "PUT", extra: [("Location", otherRemoteURL)])
                let request = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin)], mode: .cors, credentials: .omit)
                let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: nil,
                                                               preflight: .exchange(request: preflightRequest, response: redirect)))
                if verdict.corsError != .preflightDisallowedRedirect { problems.append("\(status): \(kindAndError(verdict))") }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
    ]

    // MARK: Rows 51–58: WPT redirects, cache, origins

    static let wptRedirectRows: [Row] = [
        Row("#51 WPT fetch/api/cors/cors-redirect.any.js: which hops taint the Origin") {
            let page = Origin(serialized: pageOrigin)!
            return all(
                expect(RedirectRules.isTainted(initiator: page, urls: ["http://b.test/1", "http://b.test/2"]), false, "remote→same remote"),
                expect(RedirectRules.isTainted(initiator: page, urls: ["http://b.test/1", "http://c.test/2"]), true, "remote→other"),
                expect(RedirectRules.isTainted(initiator: page, urls: ["http://a.test/1", "http://b.test/2"]), false, "same-origin→remote"),
                expect(RedirectRules.isTainted(initiator: page, urls: ["http://b.test/1", "http://a.test/2"]), true, "remote→same-origin"),
                expect(needsPreflight(CORSRequest(method: "GET", url: remoteURL, headers: [("Origin", pageOrigin)])).isRequired, false, "no preflight"))
        },
        Row("#52 WPT cors/redirect-origin.htm: ACAO after redirects") {
            let ok = CORSResponse(status: 200, headers: acao("*"))
            return all(
                expectVerdict(simpleFetch(url: remoteURL, redirectedFrom: [sameOriginURL],
                                          response: CORSResponse(status: 200, headers: acao("null"))),
                              .blocked, .allowOriginMismatch, param: "null"),
                expectVerdict(simpleFetch(url: sameOriginURL, originHeader: "null", redirectedFrom: [remoteURL], response: ok), .passed),
                expectVerdict(simpleFetch(url: sameOriginURL, originHeader: "null", redirectedFrom: [remoteURL],
                                          response: CORSResponse(status: 200, headers: acao("null"))), .passed),
                expectVerdict(simpleFetch(url: sameOriginURL, originHeader: "null", redirectedFrom: [remoteURL],
                                          response: CORSResponse(status: 200, headers: acao(pageOrigin))),
                              .blocked, .allowOriginMismatch, param: pageOrigin),
                expectVerdict(simpleFetch(url: remoteURL, response: CORSResponse(status: 302, headers: [("Location", sameOriginURL), ("Access-Control-Allow-Origin", "null")])),
                              .blocked, .allowOriginMismatch),
                expectVerdict(simpleFetch(url: remoteURL, response: CORSResponse(status: 302, headers: [("Location", sameOriginURL)])),
                              .blocked, .missingAllowOriginHeader),
                expectVerdict(simpleFetch(url: otherRemoteURL, originHeader: "null", redirectedFrom: [remoteURL],
                                          response: CORSResponse(status: 200, headers: acao("http://b.test"))),
                              .blocked, .allowOriginMismatch))
        },
        Row("#53 WPT fetch/api/cors/cors-redirect-credentials.any.js: userinfo in Location") {
            var problems: [String] = []
            let userinfos = ["user:password@", "user:@", ":password@"]
            // (request URL, redirect target host, Origin header sent on this hop)
            let hops = [(sameOriginURL, "b.test", pageOrigin), (remoteURL, "a.test", pageOrigin),
                        (remoteURL, "b.test", pageOrigin), (remoteURL, "c.test", pageOrigin)]
            for userinfo in userinfos {
                for (url, host, origin) in hops {
                    let response = CORSResponse(status: 302, headers: [("Location", "http://\(userinfo)\(host)/next"), ("Access-Control-Allow-Origin", "*")])
                    let verdict = simpleFetch(url: url, originHeader: origin, response: response)
                    if verdict.corsError != .redirectContainsCredentials { problems.append("\(url) → \(userinfo)\(host): \(kindAndError(verdict))") }
                }
            }
            let clean = simpleFetch(url: remoteURL, response: CORSResponse(status: 302, headers: [("Location", "http://c.test/next"), ("Access-Control-Allow-Origin", "*")]))
            if clean.kind != .passed { problems.append("no userinfo: \(kindAndError(clean))") }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#54 WPT cors/redirect-userinfo.htm: empty userinfo is allowed") {
            expectVerdict(simpleFetch(url: remoteURL, response: CORSResponse(status: 302, headers: [("Location", "http://@c.test/next"), ("Access-Control-Allow-Origin", "*")])), .passed)
        },
        Row("#55 WPT fetch/api/cors/cors-redirect-preflight.any.js: redirected request gets a fresh preflight") {
            var problems: [String] = []
            // (chain before the target, target, Origin the browser sends after taint)
            let chains = [([sameOriginURL], remoteURL, pageOrigin), ([remoteURL], sameOriginURL, "null"), ([remoteURL], otherRemoteURL, "null")]
            for (previous, target, origin) in chains {
                for allows in [true, false] {
                    let preflightRequest = CORSRequest(method: "OPTIONS", url: target, headers: [("Origin", origin), ("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "x-w3c")], mode: .cors)
                    let options = preflightResponse(allowOrigin: origin, headers: allows ? "x-w3c" : "x-other")
                    let request = CORSRequest(method: "GET", url: target, headers: [("Origin", origin), ("x-w3c", "1")], mode: .cors,
                                              credentials: .omit, initiatorOrigin: Origin(serialized: pageOrigin), redirectedFrom: previous)
                    let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: allows ? CORSResponse(status: 200, headers: acao(origin)) : nil,
                                                                   preflight: .exchange(request: preflightRequest, response: options)))
                    let expected: CorsError? = allows ? nil : .headerDisallowedByPreflightResponse
                    if verdict.corsError != expected || verdict.kind != (allows ? .passed : .blocked) {
                        problems.append("\(previous) → \(target) allows=\(allows): \(kindAndError(verdict))")
                    }
                }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#56 WPT fetch/api/cors/cors-preflight-cache.any.js: Max-Age 12000 covers the second request") {
            let entry = PreflightCacheEntry.from(
                preflightResponse: preflightResponse(methods: "PUT", headers: "x-test", extra: [("Access-Control-Max-Age", "12000")]),
                origin: pageOrigin, url: remoteURL, credentials: false, storedAt: 100, profile: chromium)!
            let request = CORSRequest(method: "PUT", url: remoteURL, headers: [("Origin", pageOrigin), ("X-Test", "1")], mode: .cors, credentials: .omit)
            let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: CORSResponse(status: 200, headers: acao(pageOrigin))),
                                              context: EvaluationContext(preflightCache: [entry], requestTime: 110))
            return all(expect(entry.lifetime, .seconds(7200), "capped lifetime"),
                       expect(entry.canServe(origin: pageOrigin, url: remoteURL, method: "PUT", headerNames: ["x-test"], includeCredentials: false, at: 110), true, "served"),
                       expectVerdict(verdict, .passed),
                       expect(verdict.notes.contains { $0.contains("earlier preflight") }, true, "cache note"))
        },
        Row("#57 WPT cors/preflight-cache.htm: max_age 0 and -1 re-preflight") {
            var problems: [String] = []
            for value in ["0", "-1"] {
                for profile in [BrowserProfile.chromium, .firefox, .safari] {
                    let entry = PreflightCacheEntry.from(
                        preflightResponse: preflightResponse(methods: "PUT", extra: [("Access-Control-Max-Age", value)]),
                        origin: pageOrigin, url: remoteURL, credentials: false, storedAt: 100, profile: profile)!
                    if entry.canServe(origin: pageOrigin, url: remoteURL, method: "PUT", headerNames: [], includeCredentials: false, at: 100) {
                        problems.append("\(profile) max-age \(value) cached")
                    }
                }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#58 WPT fetch/api/cors/cors-origin.any.js: empty ACAO fails; port/scheme/host differences are cross-origin") {
            let base = Origin(url: "http://a.test/")!
            return all(expect(failure(check(acao(""))), CheckFailure(.invalidAllowOriginValue, ""), "empty ACAO"),
                       expect(base.isSameOrigin(as: Origin(url: "http://a.test:8080/")!), false, "port"),
                       expect(base.isSameOrigin(as: Origin(url: "https://a.test/")!), false, "scheme"),
                       expect(base.isSameOrigin(as: Origin(url: "http://www.a.test/")!), false, "host"),
                       expect(base.isSameOrigin(as: Origin(url: "HTTP://A.TEST:80/x")!), true, "normalised"))
        },
    ]

    // MARK: Rows 59–70: WPT ACAO/ACAC values, statuses, safelists, misc

    static let wptValueRows: [Row] = [
        Row("#59 WPT fetch/api/cors/cors-multiple-origins.sub.any.js: listing several origins always fails") {
            let cases: [HTTPHeaders] = [
                [("Access-Control-Allow-Origin", pageOrigin), ("Access-Control-Allow-Origin", pageOrigin)],
                [("Access-Control-Allow-Origin", pageOrigin), ("Access-Control-Allow-Origin", "*")],
                [("Access-Control-Allow-Origin", "\(pageOrigin), http://b.test")],
                [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Origin", "*")],
            ]
            return expect(cases.map { failure(check($0))?.error }, Array(repeating: .multipleAllowOriginValues, count: cases.count))
        },
        Row("#60 WPT cors/origin.htm: ACAO values that pass and fail") {
            let passing = ["*", " *  ", "\t*", " \(pageOrigin)", "\(pageOrigin)\t ", "\t\(pageOrigin) "]
            let failing = ["\(pageOrigin)/", "\(pageOrigin)?", "\(pageOrigin)#", "\(pageOrigin):80", "\(pageOrigin), *",
                           "\(pageOrigin)\0", pageOrigin.uppercased(), "null", "", "**", "'*'", "\"*\"", "* *"]
            var problems: [String] = []
            problems += passing.filter { check(acao($0)) != .passed }.map { "'\($0)' failed" }
            problems += failing.filter { check(acao($0)) == .passed }.map { "'\($0)' passed" }
            let twoLines: HTTPHeaders = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Origin", pageOrigin)]
            if check(twoLines) == .passed { problems.append("two lines passed") }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#61 WPT cors/credentials-flag.htm: ACAC must be exactly true") {
            let values = ["TRUE", "True", "\"true\"", "false", "1", "0"]
            return expect(values.map { failure(check(acao(pageOrigin, acac: $0), credentials: true)) },
                          values.map { CheckFailure(.invalidAllowCredentials, $0) })
        },
        Row("#62 WPT cors/status.htm: the actual status is irrelevant, a preflight 400 is not") {
            all(expectVerdict(simpleFetch(response: CORSResponse(status: 400, headers: acao(pageOrigin))), .passed),
                expectVerdict(simpleFetch(response: CORSResponse(status: 400, headers: [])), .blocked, .missingAllowOriginHeader),
                expectVerdict(preflightedFetch(method: "PUT", credentials: false, acam: "PUT", acah: nil, preflightStatus: 400), .blocked, .preflightInvalidStatus))
        },
        Row("#63 WPT fetch/api/cors/cors-no-preflight.any.js: safelisted requests skip the preflight") {
            let headerSets: [[(String, String)]] = [
                [("Accept", "*/*")], [("Accept-Language", "fr")], [("Content-Language", "fr")],
                [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "multipart/form-data")],
                [("Content-Type", "text/plain")], [("Content-Type", "text/plain;charset=utf-8")],
                [("Content-Type", "Text/Plain;charset=utf-8")],
            ]
            var problems: [String] = []
            for method in ["GET", "POST", "HEAD"] {
                for headers in headerSets where PreflightRules.needsPreflight(method: method, authorHeaders: HTTPHeaders(headers)) {
                    problems.append("\(method) \(headers)")
                }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#64 WPT cors/cors-safelisted-request-header.any.js: Content-Type values") {
            let preflight = ["text /plain", "text\t/\tplain", "text/plain,", ",text/plain", "text/plain,x/x", "text/plain\u{0B}",
                             "application/www-form-urlencoded", "multipart/form-data;\""]
            let simple = ["text/plain;", "text/plain;garbage"]
            return all(expect(preflight.filter { HeaderRules.isSafelisted(name: "Content-Type", value: $0) }, [], "should preflight"),
                       expect(simple.filter { !HeaderRules.isSafelisted(name: "Content-Type", value: $0) }, [], "should not preflight"))
        },
        Row("#65 WPT cors/cors-safelisted-request-header.any.js: Range values") {
            let simple = ["bytes=100-200", "bytes=200-"]
            let digits61 = String(repeating: "1", count: 61)
            let preflight = ["100-200", "MB=100-200", "bytes =100-200", "bytes= 100-200", "bytes=100- 200", "bytes=100 -200",
                             "bytes=\t100-200", "bytes=-200", "bytes=200-100", "bytes=\(digits61)-", "bytes=0-\(digits61)",
                             "bytes=100-200,300-400"]
            var problems: [String] = []
            for profile in [BrowserProfile.chromium, .firefox, .safari] {
                problems += simple.filter { !HeaderRules.isSafelisted(name: "Range", value: $0, profile: profile) }.map { "\(profile) '\($0)' preflights" }
                problems += preflight.filter { HeaderRules.isSafelisted(name: "Range", value: $0, profile: profile) }.map { "\(profile) '\($0)' simple" }
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#66 WPT fetch/api/cors/resources/not-cors-safelisted.json: each needs a preflight") {
            let cases: [(String, String)] = [
                ("accept", "\""), ("accept", String(repeating: "a", count: 129)), ("accept-language", "@"),
                ("authorization", "basics"), ("content-type", "text/html"),
                ("content-type", "text/plain; long=" + String(repeating: "0", count: 115)), ("range", "bytes 0-"), ("test", "hi"),
            ]
            return expect(cases.filter { !PreflightRules.needsPreflight(method: "GET", authorHeaders: HTTPHeaders([$0])) }.map(\.0), [])
        },
        Row("#67 WPT fetch/api/cors/cors-preflight.any.js: methods and x-test-header*, ACRH format") {
            var problems: [String] = []
            for method in ["DELETE", "PUT", "PATCH", "NEW"] {
                if preflightedFetch(method: method, credentials: false, acam: method, acah: nil).kind != .passed { problems.append("\(method) allowed failed") }
                if preflightedFetch(method: method, credentials: false, acam: "GET", acah: nil).corsError != .methodDisallowedByPreflightResponse {
                    problems.append("\(method) refused passed")
                }
            }
            let headers = [("x-test-header1", "1"), ("X-Test-Header3", "3"), ("x-test-header2", "2")]
            if preflightedFetch(method: "GET", headers: headers, credentials: false, acam: nil, acah: "x-test-header1, x-test-header2, x-test-header3").kind != .passed {
                problems.append("headers allowed failed")
            }
            if preflightedFetch(method: "GET", headers: headers, credentials: false, acam: nil, acah: "x-test-header1").corsError != .headerDisallowedByPreflightResponse {
                problems.append("headers refused passed")
            }
            let names = HeaderRules.corsUnsafeNames(in: HTTPHeaders(headers.map { HTTPHeaderField(name: $0.0, value: $0.1) }))
            if HeaderRules.accessControlRequestHeadersValue(for: names) != "x-test-header1,x-test-header2,x-test-header3" {
                problems.append("ACRH \(HeaderRules.accessControlRequestHeadersValue(for: names) ?? "nil")")
            }
            if HeaderRules.accessControlRequestHeadersValue(for: HeaderRules.corsUnsafeNames(in: [("Accept", "*/*")])) != nil {
                problems.append("ACRH sent for safelisted-only headers")
            }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        },
        Row("#68 WPT cors/late-upload-events.htm: a custom header forces a preflight, late listeners do not") {
            all(expect(PreflightRules.needsPreflight(method: "POST", authorHeaders: []), false, "plain POST"),
                expect(PreflightRules.needsPreflight(method: "POST", authorHeaders: [("X-Custom", "1")]), true, "custom header"))
        },
        Row("#69 WPT fetch/api/cors/cors-basic.any.js: no-cors gives an opaque response, not a CORS verdict") {
            let verdict = simpleFetch(response: CORSResponse(status: 200, headers: acao("*")), mode: .noCors)
            return all(expect(verdict.kind, .notCORS), expect(verdict.notCORSReason, .noCorsMode))
        },
        Row("#70 WPT fetch/api/cors/cors-expose-star.js: ACEH * and credentials") {
            let response = CORSResponse(status: 200, headers: [("Access-Control-Expose-Headers", "*"), ("X-Custom", "1"), ("Set-Cookie", "a=b")])
            return all(expect(ExposedHeaders.isExposed("X-Custom", response: response, includeCredentials: false), true, "custom, no creds"),
                       expect(ExposedHeaders.isExposed("Set-Cookie", response: response, includeCredentials: false), false, "set-cookie"),
                       expect(ExposedHeaders.isExposed("X-Custom", response: response, includeCredentials: true), false, "custom, creds"),
                       expect(ExposedHeaders.isExposed("*", response: response, includeCredentials: true), true, "literal *"),
                       expect(ExposedHeaders.isExposed("Content-Type", response: response, includeCredentials: true), true, "safelisted"))
        },
    ]

    static var allRows: [Row] { cuRows + pruRows + wptPreflightRows + wptRedirectRows + wptValueRows }

    func testTableHasExactlyTheSeventyCasesInOrder() {
        let numbers = Self.allRows.map { row in Int(row.name.dropFirst().prefix { $0.isNumber })! }
        XCTAssertEqual(numbers, Array(1...70))
    }

    func testChromiumUnitTestCases() { runRows(Self.cuRows) }
    func testPreflightResultUnitTestCases() { runRows(Self.pruRows) }
    func testWPTPreflightCases() { runRows(Self.wptPreflightRows) }
    func testWPTRedirectCacheOriginCases() { runRows(Self.wptRedirectRows) }
    func testWPTValueAndSafelistCases() { runRows(Self.wptValueRows) }
}

import CorscopeCapture
import CorscopeHAR
import CorscopeHTTP
import Foundation
import XCTest

/// Reads the real HAR files of ../shared/public-captures and checks them against Python's json
/// module and against values looked up by hand.
final class PublicHARTests: XCTestCase {
    /// What Python's `json.load` sees in every entry, in the shape our exchanges should have.
    private static let pythonSummary = """
    import json, sys
    with open(sys.argv[1], encoding='utf-8-sig') as f:
        log = json.load(f)['log']
    def names(headers):
        out = []
        for h in headers or []:
            n = h.get('name') if isinstance(h, dict) else (h[0] if isinstance(h, list) and h else None)
            if isinstance(n, str) and n and ' ' not in n:
                out.append(n)
        return out
    def cookies(value):
        # Internet Explorer 11 writes a lone cookie as an object, not a list.
        return [value] if isinstance(value, dict) else (value or [])
    for e in log['entries']:
        q, r = e['request'], e.get('response') or {}
        status = r.get('status') or 0
        print(json.dumps({
            'method': q.get('method', ''), 'url': q.get('url', ''), 'status': status,
            'requestHeaders': names(q.get('headers')),
            'responseHeaders': names(r.get('headers')),
            'cookies': [c['name'] for c in cookies(q.get('cookies'))],
            'resourceType': e.get('_resourceType') or None,
            'pageref': e.get('pageref'),
        }))
    """

    private struct PythonEntry: Decodable {
        var method: String
        var url: String
        var status: Int
        var requestHeaders: [String]
        var responseHeaders: [String]
        var cookies: [String]
        var resourceType: String?
        var pageref: String?
    }

    func testEveryPublicHARMatchesPythonEntryByEntry() throws {
        for path in try PublicHARs.all() {
            try assertMatchesPython(path)
        }
    }

    /// The Chromium CORS run recorded for this repository (Captures/chromium/chromium-cors.har),
    /// when it is there; CORSCOPE_CHROMIUM_HAR may point at another copy.
    func testChromiumCORSRunWhenPresent() throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = ProcessInfo.processInfo.environment["CORSCOPE_CHROMIUM_HAR"]
            ?? packageRoot.appendingPathComponent("Captures/chromium/chromium-cors.har").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("Chromium CORS HAR not found at \(path): set CORSCOPE_CHROMIUM_HAR or record it first")
        }
        let read = try assertMatchesPython(path)
        let preflights = read.exchanges.filter { $0.har?.resourceType == "preflight" }
        XCTAssertFalse(preflights.isEmpty)
        for preflight in preflights {
            XCTAssertEqual(preflight.har?.initiatorType, "preflight")
            XCTAssertEqual(preflight.request?.head.method, "OPTIONS")
        }
        let blocked = read.exchanges.filter { $0.har?.error == "net::ERR_FAILED" }
        XCTAssertFalse(blocked.isEmpty)
        XCTAssertTrue(blocked.allSatisfy { $0.response == nil || !$0.response!.head.headers.isEmpty },
                      "ERR_FAILED entries of this run have status 0: no response, or the refused one with its headers")
        XCTAssertTrue(blocked.contains { $0.response?.head.status == 404 }, "a refused 404 keeps its wire status (_wireStatus)")
        XCTAssertTrue(read.exchanges.allSatisfy { $0.har?.isSanitized == false }, "a CDP recording keeps cookies")
    }

    /// Compares every entry with what Python's json module reads from the same file.
    @discardableResult
    private func assertMatchesPython(_ path: String) throws -> HARRead {
        let name = (path as NSString).lastPathComponent
        let lines = try python(Self.pythonSummary, [path]).split(separator: "\n")
        let expected = try lines.map { try JSONDecoder().decode(PythonEntry.self, from: Data($0.utf8)) }
        let read = try readHAR(path)
        XCTAssertEqual(read.outcome, .complete(entriesRead: expected.count), name)
        XCTAssertEqual(read.exchanges.count, expected.count, "\(name): exchanges vs Python's log.entries count")
        XCTAssertEqual(read.statistics.oversizedEntriesSkipped + read.statistics.invalidEntriesSkipped, 0, name)
        XCTAssertGreaterThan(expected.count, 0, name)
        for (i, (exchange, entry)) in zip(read.exchanges, expected).enumerated() {
            let context = "\(name) entry \(i)"
            XCTAssertEqual(exchange.har?.entryIndex, i, context)
            XCTAssertEqual(exchange.har?.file, path, context)
            XCTAssertEqual(exchange.request?.head.method, entry.method, context)
            XCTAssertEqual(exchange.request?.head.target, entry.url, context)
            XCTAssertEqual(exchange.har?.url, entry.url, context)
            XCTAssertEqual(exchange.request?.head.headers.pairs.map(\.name), entry.requestHeaders, context)
            // Status 0 with headers: a response the browser received and refused; it is kept
            // (with the wire status when recorded) so that its headers can say why.
            if entry.status != 0 || entry.responseHeaders.isEmpty {
                XCTAssertEqual(exchange.response?.head.status ?? 0, entry.status, context)
            }
            XCTAssertEqual(exchange.response?.head.headers.pairs.map(\.name) ?? [], entry.responseHeaders, context)
            XCTAssertEqual(exchange.har?.requestCookieNames, entry.cookies, context)
            XCTAssertEqual(exchange.har?.resourceType, entry.resourceType, context)
            XCTAssertEqual(exchange.har?.pageref, entry.pageref, context)
            if entry.status == 0 {
                if entry.responseHeaders.isEmpty { XCTAssertNil(exchange.response, context) }
                XCTAssertNotNil(exchange.har?.error, "\(context): status 0 must carry an error")
            }
        }
        let ids = read.exchanges.map(\.id)
        XCTAssertEqual(Set(ids).count, ids.count, "\(name): exchange ids must be unique")
        return read
    }

    func testDialectsAreRecognisedFromTheCreator() throws {
        let expected: [String: HARDialect] = [
            "har-to-openapi__chrome104-all-methods-statuses.har": .chromeDevTools,
            "harviewer__ie11.har": .internetExplorer,
            "mitmproxy__charles.har": .charles,
            "mitmproxy__chrome-postdata.har": .chromeDevTools,
            "mitmproxy__firefox.har": .firefox,
            "mitmproxy__safari.har": .safari,
            "pagexray__chrome-preflights-verizon.har": .chromeHAR,
            "pagexray__chrome-resourcetype-ferguson.har": .chromeHAR,
            "pagexray__chrome-wpt-failed-preflight-nytimes.har": .webPageTest,
            "pagexray__firefox43-http2.har": .firefox,
        ]
        for (name, dialect) in expected {
            let read = try readHAR(try PublicHARs.path(name))
            XCTAssertEqual(Set(read.exchanges.map { $0.har?.dialect }), [dialect], name)
            XCTAssertEqual(dialect.mayShowProvisionalHeaders, [.chromeDevTools, .chromeHAR].contains(dialect), name)
        }
        XCTAssertEqual(HARDialect(creator: "corscope run_browser.py (from CDP Network events)", browser: "Chromium"), .chromiumProtocol)
        XCTAssertEqual(HARDialect(creator: "mitmproxy", browser: nil), .mitmproxy)
        XCTAssertEqual(HARDialect(creator: nil, browser: nil), .other)
    }

    func testChrome104FirstEntryFields() throws {
        let read = try readHAR(try PublicHARs.path("har-to-openapi__chrome104-all-methods-statuses.har"))
        XCTAssertEqual(read.metadata.creator, HARCreator(name: "WebInspector", version: "537.36"))
        XCTAssertEqual(read.metadata.version, "1.2")
        let first = read.exchanges[0]
        let request = try XCTUnwrap(first.request)
        XCTAssertEqual(request.head.method, "DELETE")
        XCTAssertEqual(request.head.target, "https://requestgenerator.com/api/methods/delete")
        XCTAssertEqual(request.head.version, HTTPVersion(major: 3, minor: 0))
        // Pseudo-headers stay fields, in the exporter's order.
        XCTAssertEqual(request.head.headers.name(at: 0), ":authority")
        XCTAssertEqual(request.head.headers.value(at: 0), "requestgenerator.com")
        XCTAssertEqual(request.head.headers.first(named: "Cookie"), "auth=true")
        XCTAssertEqual(request.head.headers.first(named: "origin"), "https://requestgenerator.com")
        let response = try XCTUnwrap(first.response)
        XCTAssertEqual(response.head.status, 200)
        XCTAssertEqual(response.head.reason, "")
        XCTAssertEqual(response.head.headers.first(named: "cf-cache-status"), "DYNAMIC")
        XCTAssertEqual(response.body.wireLength, 64)  // bodySize -1 (h3): content.size
        XCTAssertEqual(response.body.contentEncoding, ["br"])
        XCTAssertEqual(response.body.decodedLength, 64)
        let har = try XCTUnwrap(first.har)
        XCTAssertEqual(har.resourceType, "fetch")
        XCTAssertEqual(har.serverAddress, "[2606:4700:3035::ac43:c9a3]:443")
        XCTAssertEqual(har.requestCookieNames, ["auth"])
        XCTAssertNil(har.error)
        XCTAssertFalse(har.isSanitized, "Chrome 104 with a Cookie header is not a sanitized export")
        XCTAssertEqual(har.creator, "WebInspector 537.36")
        // 2022-08-07T16:56:53.913Z = 1659891413.913; blocked 2.74 ms, send 0.314, wait 53.807, time 57.898.
        XCTAssertEqual(first.connection.firstSeen, Timestamp(seconds: 1_659_891_413, nanoseconds: 913_000_000))
        XCTAssertEqual(request.firstByte.seconds(since: first.connection.firstSeen), 0.00274, accuracy: 1e-6)
        XCTAssertEqual(response.firstByte.seconds(since: first.connection.firstSeen), 0.00274 + 0.000314 + 0.053807, accuracy: 1e-6)
        XCTAssertEqual(response.lastByte.seconds(since: first.connection.firstSeen), 0.057898, accuracy: 1e-6)
        XCTAssertEqual(first.connection.client, Endpoint(address: .v4(0), port: 0))
        XCTAssertFalse(first.connection.sawHandshake)
    }

    func testChrome104StatusZeroAndErrorWithStatus() throws {
        let read = try readHAR(try PublicHARs.path("har-to-openapi__chrome104-all-methods-statuses.har"))
        // Entry 293: status 0 with _error → no response, the error kept.
        let blocked = read.exchanges[293]
        XCTAssertEqual(blocked.request?.head.target, "https://requestgenerator.com/api/status/407")
        XCTAssertNil(blocked.response)
        XCTAssertEqual(blocked.har?.error, "net::ERR_UNEXPECTED_PROXY_AUTH")
        // Entry 2: a real status with _error → the response is kept, and so is the error.
        let aborted = read.exchanges[2]
        XCTAssertEqual(aborted.request?.head.method, "HEAD")
        XCTAssertEqual(aborted.response?.head.status, 200)
        XCTAssertEqual(aborted.har?.error, "net::ERR_ABORTED")
        // Entry 447 has Chrome's connection id; entries without one get their own connection.
        XCTAssertEqual(read.exchanges[447].connection.id, 2_310_907)
        XCTAssertEqual(read.exchanges[447].request?.head.version, HTTPVersion(major: 2, minor: 0))
        XCTAssertEqual(read.exchanges[0].connection.id, 1_000_000_000)
        XCTAssertEqual(read.exchanges[5].connection.id, 1_000_000_005)
        let ids = read.exchanges.map(\.id)
        XCTAssertEqual(Set(ids).count, ids.count, "exchange ids must be unique")
        // Cached 3xx entries without request headers but with cookies are not taken as sanitized.
        XCTAssertEqual(read.exchanges[117].request?.head.headers.count, 0)
        XCTAssertEqual(read.exchanges[117].har?.isSanitized, false)
    }

    func testVerizonPreflights() throws {
        let read = try readHAR(try PublicHARs.path("pagexray__chrome-preflights-verizon.har"))
        XCTAssertEqual(read.exchanges.count, 169)
        let preflights = read.exchanges.filter {
            $0.request?.head.method == "OPTIONS" && $0.request?.head.headers.contains(named: "access-control-request-method") == true
        }
        XCTAssertEqual(preflights.map { $0.har?.entryIndex }, [126, 140])

        let first = preflights[0]
        XCTAssertEqual(first.request?.head.target, "https://api.ascend.ai/v1/log")
        XCTAssertEqual(first.request?.head.version, .http1_1)
        XCTAssertEqual(first.request?.head.headers.first(named: "Access-Control-Request-Method"), "POST")
        XCTAssertEqual(first.request?.head.headers.first(named: "Access-Control-Request-Headers"), "content-type")
        XCTAssertEqual(first.request?.head.headers.first(named: "Origin"), "https://www.verizonwireless.com")
        XCTAssertEqual(first.response?.head.status, 200)
        XCTAssertEqual(first.response?.head.reason, "OK")
        XCTAssertEqual(first.response?.head.headers.first(named: "access-control-allow-origin"), "*")
        XCTAssertEqual(first.response?.head.headers.first(named: "Access-Control-Max-Age"), "86400")
        XCTAssertNil(first.har?.error, "chrome-har 0.2.3 writes no _error for this answered preflight")
        XCTAssertEqual(first.connection.id, 862)
        XCTAssertEqual(first.har?.serverAddress, "52.85.240.113:443")
        XCTAssertEqual(first.har?.pageref, "page_1")
        XCTAssertNil(first.har?.pageURL, "the page title is not a URL")

        let second = preflights[1]
        XCTAssertEqual(second.request?.head.version, HTTPVersion(major: 2, minor: 0))
        XCTAssertEqual(second.request?.head.headers.name(at: 0), ":authority")
        XCTAssertEqual(second.request?.head.headers.value(at: 1), "OPTIONS")
        XCTAssertEqual(second.request?.head.headers.first(named: "access-control-request-headers"), "_dynsessconf,iv,pd,pr,st,un")
        XCTAssertEqual(second.response?.head.reason, "")
        XCTAssertEqual(second.connection.id, 943)
    }

    func testNYTimesFailedPreflightFromWebPageTest() throws {
        let read = try readHAR(try PublicHARs.path("pagexray__chrome-wpt-failed-preflight-nytimes.har"))
        XCTAssertEqual(read.metadata.creator, HARCreator(name: "WebPagetest", version: "2.17"))
        XCTAssertEqual(read.metadata.pages.map(\.id), ["page_1_0", "page_1_1"])
        let preflight = read.exchanges[174]
        XCTAssertEqual(preflight.request?.head.method, "OPTIONS")
        XCTAssertEqual(preflight.request?.head.target, "http://int-promos.nytimes.com/hp-watching/serves")
        XCTAssertEqual(preflight.request?.head.headers.first(named: "origin"), "http://www.nytimes.com")
        let response = try XCTUnwrap(preflight.response)
        XCTAssertEqual(response.head.status, 503)
        XCTAssertNil(response.head.headers.first(named: "access-control-allow-origin"))
        // WebPageTest's status line posing as a header is left out and flagged.
        XCTAssertEqual(response.head.headers.name(at: 0), "Content-Length")
        XCTAssertTrue(preflight.anomalies.contains(.malformedHeaderLine))
        XCTAssertEqual(response.head.version, .http1_1, "empty response httpVersion falls back to the request's 1.1")
        XCTAssertNil(preflight.har?.error, "WebPageTest 2.17 writes no _error: the 503 is the only failure sign")
        XCTAssertEqual(preflight.har?.initiatorURL, "http://a1.nyt.com/assets/homepage/20150828-152658/js/foundation/main.js")
        XCTAssertEqual(preflight.har?.serverAddress, "54.235.141.149:80", "from WebPageTest's _ip_addr")
        XCTAssertEqual(preflight.har?.pageref, "page_1_0")
        XCTAssertNil(preflight.har?.pageURL, "\"Run 1, First View for …\" is not a URL")
        XCTAssertEqual(read.exchanges.filter { $0.request?.head.method == "OPTIONS" }.count, 1)
    }

    func testAftonbladetRequestLineHeaderLeftOut() throws {
        let read = try readHAR(try PublicHARs.path("pagexray__chrome-wpt-preflights-aftonbladet.har"))
        let preflight = read.exchanges[128]
        XCTAssertEqual(preflight.request?.head.method, "OPTIONS")
        XCTAssertEqual(preflight.request?.head.headers.name(at: 0), "Host")
        XCTAssertTrue(preflight.anomalies.contains(.malformedHeaderLine))
        XCTAssertEqual(preflight.response?.head.headers.first(named: "Access-Control-Max-Age"), "604800")
        let preflights = read.exchanges.filter { $0.request?.head.method == "OPTIONS" }
        XCTAssertEqual(preflights.map { $0.har?.entryIndex }, [103, 128, 210])
    }

    func testFirefoxConnectionIsAPortNotAnID() throws {
        let read = try readHAR(try PublicHARs.path("mitmproxy__firefox.har"))
        XCTAssertEqual(read.metadata.creator?.name, "Firefox")
        let first = read.exchanges[0]
        XCTAssertEqual(first.connection.id, 1_000_000_000, "Firefox's connection \"443\" is a port, not an id")
        XCTAssertEqual(read.exchanges[9].connection.id, 1_000_000_009)
        XCTAssertEqual(first.request?.head.version, HTTPVersion(major: 3, minor: 0))
        XCTAssertEqual(first.response?.head.status, 304)
        XCTAssertEqual(first.response?.head.reason, "Not Modified")
        XCTAssertEqual(first.har?.serverAddress, "13.35.121.55:443")
        // 2023-03-29T16:58:59.303-07:00 = 2023-03-29T23:58:59.303Z.
        XCTAssertEqual(first.connection.firstSeen, Timestamp(seconds: 1_680_134_339, nanoseconds: 303_000_000))
        XCTAssertEqual(first.har?.pageref, "page_1")
        XCTAssertNil(first.har?.pageURL)
    }

    func testSafariPageTitleIsAURL() throws {
        let read = try readHAR(try PublicHARs.path("mitmproxy__safari.har"))
        XCTAssertEqual(read.metadata.pages, [HARPage(id: "page_0", title: "https://mitmproxy.org/", url: "https://mitmproxy.org/",
                                                     startedDateTime: read.metadata.pages.first?.startedDateTime)])
        XCTAssertEqual(read.exchanges[0].har?.pageURL, "https://mitmproxy.org/")
        XCTAssertEqual(read.exchanges[0].connection.id, 1)
        XCTAssertEqual(read.exchanges[18].connection.id, 1)
        XCTAssertEqual(read.exchanges[18].index, 1, "second exchange on Safari's connection 1")
        XCTAssertEqual(read.exchanges[17].connection.id, 2)
        XCTAssertEqual(read.exchanges[17].request?.head.version, .http1_1)
        XCTAssertEqual(read.exchanges[0].request?.head.version, HTTPVersion(major: 2, minor: 0))
    }

    func testChromePostDataInitiatorAndBody() throws {
        let read = try readHAR(try PublicHARs.path("mitmproxy__chrome-postdata.har"))
        let exchange = try XCTUnwrap(read.exchanges.first)
        XCTAssertEqual(exchange.request?.head.method, "POST")
        XCTAssertEqual(exchange.request?.body.wireLength, 1310)
        XCTAssertEqual(exchange.har?.resourceType, "ping")
        XCTAssertEqual(exchange.har?.initiatorType, "script")
        XCTAssertEqual(exchange.har?.initiatorURL, "https://signal-beacon.s-onetag.com/beacon.min.js", "first stack frame URL")
        XCTAssertEqual(exchange.connection.id, 159_834)
        XCTAssertEqual(exchange.har?.serverAddress, "99.83.181.31:443")
        XCTAssertEqual(exchange.response?.head.headers.first(named: "access-control-allow-origin"), "*")
    }

    func testChromeHARInitiatorTypeField() throws {
        let read = try readHAR(try PublicHARs.path("pagexray__chrome-resourcetype-ferguson.har"))
        let xhr = read.exchanges[70]
        XCTAssertEqual(xhr.har?.resourceType, "xhr")
        XCTAssertEqual(xhr.har?.initiatorType, "script")
        XCTAssertEqual(xhr.har?.initiatorURL, "https://s.go-mpulse.net/boomerang/L8J7G-PYWL3-TB3KE-XWHRX-LQVBU")
        XCTAssertEqual(read.exchanges[0].har?.resourceType, "document")
        XCTAssertNil(read.exchanges[0].har?.initiatorURL, "empty _initiator string")
        XCTAssertEqual(read.exchanges[0].connection.id, 28)
    }

    func testKeptBodyBytes() throws {
        let read = try readHAR(try PublicHARs.path("mitmproxy__chrome-postdata.har"), configuration: .init(keptBodyBytes: 16))
        let body = try XCTUnwrap(read.exchanges.first?.request?.body)
        XCTAssertEqual(body.kept.count, 16)
        XCTAssertTrue(body.isTruncated)
    }
}

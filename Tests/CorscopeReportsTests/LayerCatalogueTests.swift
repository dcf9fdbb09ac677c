import CorscopeHTTP
import CorscopeReports
import XCTest

/// The layer catalogue on real layers: HAProxy, Varnish, Caddy and Apache httpd recorded in front
/// of a CORS-doing app (Captures/record-layers.sh, configurations in Captures/servers/layers/),
/// each in the misconfigurations people hit; then the products without a Debian package, from
/// the clues their documentation names (README "Layers" lists those as untested).
final class LayerCatalogueTests: XCTestCase {
    private func groups(_ capture: String) throws -> [String: BlockedGroup] {
        let report = try Support.report(capture: "layers/" + capture)
        var byPath: [String: BlockedGroup] = [:]
        for group in report.origins.flatMap(\.groups) {
            XCTAssertNil(byPath[group.pathTemplate], "\(capture): two groups for \(group.pathTemplate)")
            byPath[group.pathTemplate] = group
        }
        return byPath
    }

    func testHAProxyIsNamedByItsOwnErrorPages() throws {
        let groups = try groups("haproxy-edge.pcap")
        XCTAssertEqual(Set(groups.keys), ["/down/items/{id}", "/dup/items/{id}", "/deny/items/{id}"], "the /api/ calls pass")

        // The backend is gone: HAProxy's 503 page, no CORS headers.
        let down = try XCTUnwrap(groups["/down/items/{id}"])
        XCTAssertEqual(down.reason, "MissingAllowOriginHeader")
        XCTAssertEqual(down.layer.layer, .proxy)
        XCTAssertEqual(down.layer.component, "HAProxy")
        XCTAssertEqual(down.layer.confidence, "high")
        XCTAssertEqual(down.layer.seen.map(\.id), ["haproxy"])
        XCTAssertEqual(down.layer.seen.first?.answered, true)
        XCTAssertTrue(down.layer.reasoning.contains { $0.contains("No server is available to handle this request.") })
        XCTAssertEqual(down.fix.snippets.map(\.target), ["HAProxy"])
        XCTAssertTrue(down.fix.snippets[0].code.contains("http-after-response set-header Access-Control-Allow-Origin"))

        // A deny rule that also covers OPTIONS: HAProxy's 403 page answers the preflight.
        let deny = try XCTUnwrap(groups["/deny/items/{id}"])
        XCTAssertEqual(deny.reason, "PreflightMissingAllowOriginHeader")
        XCTAssertEqual(deny.layer.layer, .proxy, "HAProxy's own 403 is not an authentication layer")
        XCTAssertEqual(deny.layer.component, "HAProxy")
        XCTAssertTrue(deny.layer.reasoning.contains { $0.contains("Request forbidden by administrative rules.") })
        XCTAssertTrue(deny.layer.reasoning.contains { $0.contains("covers OPTIONS") })

        // `add-header` appends a second ACAO: HAProxy leaves no fingerprint on proxied answers,
        // and the application's own Server must not be named as the proxy.
        let dup = try XCTUnwrap(groups["/dup/items/{id}"])
        XCTAssertEqual(dup.reason, "MultipleAllowOriginValues")
        XCTAssertEqual(dup.layer.layer, .multipleLayers)
        XCTAssertNil(dup.layer.component)
        XCTAssertTrue(dup.layer.reasoning.contains { $0.contains("the application (layer-app/1)") && $0.contains("no product in front left a fingerprint") })
    }

    func testVarnishServingAnotherOriginsAnswerIsTheCache() throws {
        let groups = try groups("varnish-edge.pcap")
        XCTAssertEqual(Array(groups.keys), ["/api/cached"])
        let cached = try XCTUnwrap(groups["/api/cached"])
        XCTAssertEqual(cached.reason, "AllowOriginMismatch")
        XCTAssertEqual(cached.layer.layer, .cdn)
        XCTAssertEqual(cached.layer.component, "Varnish")
        XCTAssertEqual(cached.layer.seen.map(\.id), ["varnish"])
        XCTAssertEqual(cached.layer.seen.first?.answered, false)
        XCTAssertTrue(cached.layer.seen[0].evidence.contains("X-Varnish"))
        XCTAssertTrue(cached.layer.seen[0].evidence.contains("Via: 1.1 varnish (Varnish/7.1)"))
        XCTAssertTrue(cached.layer.reasoning.contains { $0.contains("Age: 1") })
        XCTAssertEqual(cached.fix.snippets.map(\.target), ["Varnish"])
        XCTAssertTrue(cached.fix.snippets[0].code.contains("hash_data(req.http.Origin);"))
        let report = try Support.report(capture: "layers/varnish-edge.pcap")
        XCTAssertTrue(report.cacheFindings.contains { $0.cdn == "Varnish" && $0.urlTemplate == "/api/cached" })
    }

    func testCaddyIsTheProxyWhetherItStripsOrAnswersItself() throws {
        let groups = try groups("caddy-edge.pcap")
        XCTAssertEqual(Set(groups.keys), ["/strip/items/{id}", "/opts/items/{id}"])
        // `header_down -Access-Control-Allow-Origin`: two Server lines (Caddy's and the app's).
        let strip = try XCTUnwrap(groups["/strip/items/{id}"])
        XCTAssertEqual(strip.reason, "MissingAllowOriginHeader")
        XCTAssertEqual(strip.layer.layer, .proxy)
        XCTAssertEqual(strip.layer.component, "Caddy")
        XCTAssertTrue(strip.layer.reasoning.contains { $0.contains("Two Server lines, Caddy and layer-app/1") })
        XCTAssertTrue(strip.layer.reasoning.contains { $0.contains("corscope diff") })
        // `respond 204` to OPTIONS: only Caddy's Server, while the host's other answers name the app.
        let opts = try XCTUnwrap(groups["/opts/items/{id}"])
        XCTAssertEqual(opts.reason, "PreflightMissingAllowOriginHeader")
        XCTAssertEqual(opts.layer.layer, .proxy)
        XCTAssertEqual(opts.layer.component, "Caddy")
        XCTAssertTrue(opts.layer.reasoning.contains { $0.contains("Caddy answered it itself") })
        XCTAssertEqual(opts.fix.snippets.map(\.target), ["Caddy"])
        XCTAssertTrue(opts.fix.snippets[0].code.contains("respond 204"))
    }

    func testApacheAlwaysSetOnAProxiedPathDuplicatesAndItsOwn403IsTheProxy() throws {
        let groups = try groups("apache-edge.pcap")
        XCTAssertEqual(Set(groups.keys), ["/dup/items/{id}", "/deny/items/{id}"], "/fixed/ (unset, then always set) passes")
        let dup = try XCTUnwrap(groups["/dup/items/{id}"])
        XCTAssertEqual(dup.reason, "MultipleAllowOriginValues")
        XCTAssertEqual(dup.layer.layer, .multipleLayers)
        XCTAssertEqual(dup.layer.component, "Apache httpd", "named by its own answer to /deny/ on the same host")
        XCTAssertEqual(dup.fix.snippets.map(\.target), ["Apache"])
        let code = dup.fix.snippets[0].code
        let unset = try XCTUnwrap(code.range(of: "Header unset Access-Control-Allow-Origin"))
        let set = try XCTUnwrap(code.range(of: "Header always set Access-Control-Allow-Origin"))
        XCTAssertLessThan(unset.lowerBound, set.lowerBound, "the recorded fix: unset the backend's copy first")

        let deny = try XCTUnwrap(groups["/deny/items/{id}"])
        XCTAssertEqual(deny.layer.layer, .proxy)
        XCTAssertEqual(deny.layer.component, "Apache httpd")
        XCTAssertEqual(deny.layer.seen.first?.answered, true)
        XCTAssertTrue(deny.layer.reasoning.contains { $0.contains("Other answers of this host came from layer-app/1") })
    }

    func testNginxInFrontOfTheApp() throws {
        let groups = try groups("nginx-edge.pcap")
        XCTAssertEqual(Set(groups.keys), ["/dup/items/{id}", "/hide/items/{id}", "/noalways/items/{id}", "/auth/items/{id}"])
        XCTAssertEqual(groups["/dup/items/{id}"]?.layer.layer, .multipleLayers)
        XCTAssertEqual(groups["/dup/items/{id}"]?.layer.component, "nginx")
        // The app's 404 with nginx's add_header (no `always`): the classic.
        let noAlways = try XCTUnwrap(groups["/noalways/items/{id}"])
        XCTAssertEqual(noAlways.layer.component, "nginx")
        XCTAssertEqual(noAlways.layer.confidence, "high")
        XCTAssertTrue(noAlways.fix.summary.contains("`always`"))
        let cache = try XCTUnwrap(try self.groups("nginx-cache-edge.pcap")["/api/cached"])
        XCTAssertEqual(cache.layer.layer, .cdn)
        XCTAssertEqual(cache.layer.component, "nginx proxy_cache")
    }

    /// Behind the layer, the application answered once and right: the second ACAO and the
    /// missing one were the layer's doing (the material `corscope diff` works from).
    func testTheApplicationSideOfEachLayerPasses() throws {
        for capture in ["haproxy-app.pcap", "caddy-app.pcap", "apache-app.pcap", "nginx-app.pcap"] {
            let report = try Support.report(capture: "layers/" + capture)
            XCTAssertEqual(report.totals.blocked, 0, capture)
            XCTAssertGreaterThan(report.totals.passed, 2, capture)
        }
    }

    func testEveryRecordedLayerIsSeenInItsCapture() throws {
        let recorded = ["haproxy": "haproxy-edge.pcap", "varnish": "varnish-edge.pcap", "caddy": "caddy-edge.pcap", "apache": "apache-edge.pcap"]
        for (id, capture) in recorded {
            let seen = try Support.report(capture: "layers/" + capture).origins.flatMap(\.groups).flatMap(\.layer.seen).map(\.id)
            XCTAssertTrue(seen.contains(id), "\(id) not seen in \(capture): \(seen)")
        }
    }

    // MARK: From the documentation (no real input yet)

    private func group(status: Int? = nil, set: [(String, String)], remove: [String] = ["Server"], body: String? = nil,
                       preflight: Bool = false) throws -> BlockedGroup {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        var exchange = preflight
            ? try XCTUnwrap(exchanges.first { $0.request?.head.method == "OPTIONS" && $0.request?.head.target == "/api/private" })
            : try Support.exchange(exchanges, method: "GET", target: "/api/noalways/notfound")
        exchange.response!.head.headers = Support.fields(exchange.response!.head.headers, set: set, remove: remove)
        if let status { exchange.response!.head.status = status }
        if let body { exchange.response!.body.kept = Array(body.utf8) }
        return try XCTUnwrap(Support.report([exchange]).origins.flatMap(\.groups).first)
    }

    func testAPIGatewaysOwnErrorIsTheGateway() throws {
        let g = try group(status: 403, set: [("x-amzn-RequestId", "c6f3a1a0-0000-4000-8000-000000000000"),
                                             ("x-amzn-ErrorType", "MissingAuthenticationTokenException"),
                                             ("x-amz-apigw-id", "Abc123=")],
                          body: #"{"message":"Missing Authentication Token"}"#)
        XCTAssertEqual(g.layer.layer, .gateway)
        XCTAssertEqual(g.layer.component, "Amazon API Gateway")
        XCTAssertEqual(g.layer.seen.first?.answered, true)
        XCTAssertTrue(g.fix.summary.contains("DEFAULT_4XX"))
        XCTAssertEqual(g.fix.snippets.map(\.target), ["Amazon API Gateway"])
    }

    func testCloudFrontInFrontOfAnAppIsSeenButTheAppAnswered() throws {
        let g = try group(set: [("Server", "nginx"), ("Via", "1.1 0a1b2c.cloudfront.net (CloudFront)"),
                                ("X-Amz-Cf-Id", "abcDEF=="), ("X-Cache", "Error from cloudfront")], remove: [])
        XCTAssertEqual(g.layer.seen.map(\.id), ["cloudfront", "nginx"])
        XCTAssertFalse(g.layer.seen[0].answered)
        XCTAssertTrue(g.layer.reasoning.contains { $0.contains("passed through Amazon CloudFront") })
    }

    func testCloudflareAccessRedirectIsEdgeAuth() throws {
        let g = try group(status: 302, set: [("Location", "https://corp.cloudflareaccess.com/cdn-cgi/access/login/api.example?kid=0123&redirect_url=%2Fapi&token=s3cr3t-value")],
                          preflight: true)
        XCTAssertEqual(g.layer.layer, .edgeAuth)
        XCTAssertEqual(g.layer.component, "Cloudflare Access")
        XCTAssertTrue(g.fix.summary.contains("Bypass options requests to origin"))
        let evidence = g.layer.seen.flatMap(\.evidence).joined(separator: " ")
        XCTAssertTrue(evidence.contains("cloudflareaccess.com"))
        XCTAssertFalse(evidence.contains("s3cr3t-value"), "a quoted Location is redacted like a URL: \(evidence)")
    }

    func testEnvoysOwnAnswerAndKongsOwnAnswer() throws {
        let envoy = try group(status: 503, set: [("server", "envoy")], body: "no healthy upstream")
        XCTAssertEqual(envoy.layer.component, "Envoy")
        XCTAssertEqual(envoy.layer.layer, .proxy)
        let kong = try group(status: 404, set: [("Server", "kong/3.4.2"), ("X-Kong-Response-Latency", "0")],
                             body: #"{"message":"no Route matched with those values"}"#)
        XCTAssertEqual(kong.layer.component, "Kong Gateway")
        XCTAssertEqual(kong.layer.layer, .gateway)
        XCTAssertEqual(kong.fix.snippets.map(\.target), ["Kong Gateway"])
    }

    func testAnAppServerNamedInAnErrorIsNotAFrontLayerWithoutEvidence() throws {
        // nginx's own 404 page with nothing else on the host: nginx is the server, as before.
        let g = try group(status: 404, set: [("Server", "nginx/1.22.1")], body: "<hr><center>nginx/1.22.1</center>")
        XCTAssertEqual(g.layer.layer, .server)
        XCTAssertEqual(g.layer.component, "nginx")
    }
}

import CorscopeHTTP

/// The products people deploy in front of (or as) the application — CDNs, load balancers, API
/// gateways, edge authentication, proxies, meshes, hosting platforms, web servers — each with
/// what it leaves in the answers it passes on or makes itself, and where CORS is configured in it.
///
/// A clue marked `answered` shows the product *made* the answer (its own error page, its own
/// error header): then the application never saw the request, and the fix belongs in that
/// product. Other clues only show the answer passed through it.
///
/// Each fact cites its public source. "Recorded" names the committed capture that shows the clue
/// as the product really sends it (`Captures/layers/`, recorded by `Captures/record-layers.sh`);
/// products without one are listed as untested in README ("Layers").
struct KnownLayer: Sendable {
    /// Stable identifier (JSON `seen[].id`).
    let id: String
    /// How reports name it.
    let name: String
    /// Which layer of the serving path it is when it is the one at fault.
    let layer: LayerFinding.Layer
    let clues: [Clue]
    /// Where CORS is configured in it, for the fix.
    let configure: String
    /// A configuration sample, when the product has a text configuration people paste.
    let snippet: (language: String, code: String)?
    /// The capture that recorded its clues, nil when none does yet.
    let recorded: String?

    struct Clue: Sendable {
        enum Kind: Sendable {
            /// A response field with this (lower-case) name.
            case header(String)
            /// A response field whose name starts with this (lower-case) prefix.
            case headerPrefix(String)
            /// A response field with this name whose value contains this text (case-insensitive).
            case headerValue(String, String)
            /// A `Set-Cookie` for a cookie whose name starts with this text.
            case cookie(String)
            /// A `Location` containing this text (case-insensitive).
            case location(String)
            /// The kept response body contains this text (case-sensitive: error pages are fixed text).
            case body(String)
        }
        let kind: Kind
        /// The product made the answer itself.
        let answered: Bool

        static func header(_ name: String, answered: Bool = false) -> Clue { Clue(kind: .header(name), answered: answered) }
        static func prefix(_ name: String, answered: Bool = false) -> Clue { Clue(kind: .headerPrefix(name), answered: answered) }
        static func value(_ name: String, _ text: String, answered: Bool = false) -> Clue {
            Clue(kind: .headerValue(name, text.lowercased()), answered: answered)
        }
        static func cookie(_ name: String) -> Clue { Clue(kind: .cookie(name), answered: false) }
        static func location(_ text: String) -> Clue { Clue(kind: .location(text.lowercased()), answered: true) }
        static func body(_ text: String) -> Clue { Clue(kind: .body(text), answered: true) }
    }
}

enum LayerCatalogue {
    /// Every product recognised in `headers` (and the kept `body`), in catalogue order
    /// (outermost kinds first: edge auth, CDNs, gateways, balancers, proxies, servers).
    static func identify(_ headers: HTTPHeaderFields, body: [UInt8]) -> [SeenLayer] {
        var names: [String] = []
        var values: [String] = []
        for index in 0..<headers.count {
            names.append(headers.name(at: index).lowercased())
            values.append(headers.value(at: index))
        }
        let bodyText = body.isEmpty ? "" : String(decoding: body.prefix(4096), as: UTF8.self)
        var sightings: [SeenLayer] = []
        for layer in layers {
            var evidence: [String] = []
            var answered = false
            for clue in layer.clues {
                guard let quote = match(clue.kind, names: names, values: values, headers: headers, body: bodyText) else { continue }
                if !evidence.contains(quote) { evidence.append(quote) }
                if clue.answered { answered = true }
            }
            if !evidence.isEmpty {
                sightings.append(SeenLayer(id: layer.id, name: layer.name, evidence: evidence, answered: answered))
            }
        }
        return sightings
    }

    static func layer(id: String) -> KnownLayer? { layers.first { $0.id == id } }

    static func layer(named name: String) -> KnownLayer? { layers.first { $0.name == name } }

    /// The product whose Server product token is `server` ("Caddy", "Apache/2.4.71 (Debian)"),
    /// when the catalogue knows it by its Server header.
    static func layer(serverHeader server: String) -> KnownLayer? {
        let lower = server.lowercased()
        return layers.first { layer in
            layer.clues.contains { clue in
                if case .headerValue("server", let text) = clue.kind { return lower.contains(text) }
                return false
            }
        }
    }

    private static func match(_ kind: KnownLayer.Clue.Kind, names: [String], values: [String],
                              headers: HTTPHeaderFields, body: String) -> String? {
        func quote(_ index: Int) -> String {
            let value = values[index]
            return headers.name(at: index) + ": " + (value.count > 80 ? String(value.prefix(77)) + "…" : value)
        }
        switch kind {
        case .header(let name):
            return names.firstIndex(of: name).map { headers.name(at: $0) }
        case .headerPrefix(let prefix):
            return names.firstIndex { $0.hasPrefix(prefix) }.map { headers.name(at: $0) }
        case .headerValue(let name, let text):
            return names.indices.first { names[$0] == name && values[$0].lowercased().contains(text) }.map(quote)
        case .cookie(let cookie):
            return names.indices.first { names[$0] == "set-cookie" && values[$0].hasPrefix(cookie) }
                .map { _ in "Set-Cookie: \(cookie)…" }
        case .location(let text):
            return names.indices.first { names[$0] == "location" && values[$0].lowercased().contains(text) }.map(quote)
        case .body(let text):
            return body.contains(text) ? "its error page ('\(text)')" : nil
        }
    }

    // MARK: The catalogue

    static let layers: [KnownLayer] = [
        // MARK: Edge authentication
        KnownLayer(
            id: "cloudflare-access", name: "Cloudflare Access", layer: .edgeAuth,
            clues: [
                // Unauthenticated requests go to the team domain <team>.cloudflareaccess.com (the login path
                // /cdn-cgi/access/login/… is as observed; no public source found); the session is the
                // CF_Authorization cookie; a preflight to a protected host gets 403 (no cookies on OPTIONS).
                // https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/
                // https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/cors/
                .location(".cloudflareaccess.com"),
                .location("/cdn-cgi/access/login"),
                .cookie("CF_Authorization"),
            ],
            configure: "In the Access application's CORS settings, turn on \"Bypass options requests to origin\" (or let Access answer OPTIONS with the allowed origins), so preflights, which never carry the CF_Authorization cookie, are not refused (403) or sent to the login page.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "google-iap", name: "Google Cloud Identity-Aware Proxy", layer: .edgeAuth,
            clues: [
                // IAP marks the answers it makes itself (X-Goog-IAP-Generated-Response); AJAX requests without a
                // session get 401, others a redirect to Google's login. The cookie names are as observed (no
                // public source found).
                // https://cloud.google.com/iap/docs/special-urls-and-headers-howto
                // https://cloud.google.com/iap/docs/sessions-howto
                .value("x-goog-iap-generated-response", "true", answered: true),
                .cookie("GCP_IAP_UID"),
                .cookie("GCP_IAAP_AUTH_TOKEN"),
            ],
            configure: "Allow preflights through IAP: set `accessSettings.corsSettings.allowHttpOptions: true` in the IAP settings of the backend service (gcloud iap settings set), so OPTIONS reaches the application unauthenticated.",
            snippet: ("yaml", """
                # gcloud iap settings set settings.yaml --project=PROJECT --resource-type=backend-services --service=SERVICE
                accessSettings:
                  corsSettings:
                    allowHttpOptions: true
                """), recorded: nil),

        // MARK: CDNs and edge networks
        KnownLayer(
            id: "cloudflare", name: "Cloudflare", layer: .cdn,
            clues: [
                // CF-Ray on every proxied answer; CF-Cache-Status for the cache; Server: cloudflare (as observed,
                // no public source found).
                // https://support.cloudflare.com/hc/en-us/articles/200170986-How-does-Cloudflare-handle-HTTP-Request-headers-
                // https://developers.cloudflare.com/cache/concepts/cache-responses
                .header("cf-ray"),
                .header("cf-cache-status"),
                .value("server", "cloudflare"),
                // Bot management cookie. https://developers.cloudflare.com/fundamentals/get-started/cloudflare-cookies/
                .cookie("__cf_bm"),
                // Cloudflare's own block pages ("Error 1020" etc.) carry the cf-error-details block (as observed;
                // https://isitdown.io/blog/cloudflare-error-1020-access-denied describes the page).
                .body("cf-error-details"),
            ],
            configure: "Add the CORS headers with a Transform Rule (Rules → Transform Rules → Modify Response Header) or leave them to the origin; put Origin in the cache key (Cache Rules → Cache key) or keep the origin's Vary: Origin; make sure WAF or Bot rules do not challenge OPTIONS.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "cloudfront", name: "Amazon CloudFront", layer: .cdn,
            clues: [
                // X-Amz-Cf-Id and X-Amz-Cf-Pop on every answer, Via "… .cloudfront.net (CloudFront)",
                // X-Cache "Hit/Miss/RefreshHit/Error from cloudfront".
                // https://docs.amazonaws.cn/en_us/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html
                // https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/76861544/possible-x-cache-values-from-cloudfront
                .header("x-amz-cf-id"),
                .header("x-amz-cf-pop"),
                .value("via", "cloudfront"),
                .value("x-cache", "cloudfront"),
                // CloudFront's own error pages end with "Generated by cloudfront (CloudFront)" (as observed; no
                // public source found).
                .body("Generated by cloudfront (CloudFront)"),
            ],
            configure: "Attach a response headers policy with a CORS configuration (or the managed CORS-With-Preflight policy) to the cache behavior, allow OPTIONS in the behavior's allowed methods, and forward or key on Origin (origin request policy CORS-CustomOrigin / CORS-S3Origin, or Origin in the cache policy) so one origin's answer is not served to another.",
            snippet: ("text", """
                CloudFront → Distribution → Behaviors → Edit:
                  Allowed HTTP methods: GET, HEAD, OPTIONS (cache OPTIONS only with Origin and Access-Control-Request-* in the cache key)
                  Cache policy: include the Origin header in the cache key
                  Origin request policy: CORS-CustomOrigin (or CORS-S3Origin)
                  Response headers policy: CORS-With-Preflight, or a custom one with your origins
                """), recorded: nil),
        KnownLayer(
            id: "azure-front-door", name: "Azure Front Door", layer: .cdn,
            clues: [
                // X-Azure-Ref on every answer to the client; X-FD-HealthProbe toward the backend.
                // https://docs.azure.cn/en-us/frontdoor/front-door-http-headers-protocol
                // https://learn.microsoft.com/en-us/azure/frontdoor/cross-origin-resource-sharing
                .header("x-azure-ref"),
                .header("x-fd-healthprobe"),
            ],
            configure: "Add the CORS headers with a Rule set action (Modify response header) on the route, or leave them to the origin; cache only answers that do not depend on Origin, or turn caching off for the route.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "fastly", name: "Fastly", layer: .cdn,
            clues: [
                // X-Served-By "cache-<pop>", X-Timer, Fastly-Debug-*; "Fastly error: unknown domain" (as observed).
                // https://docs.fastly.com/documentation/reference/http/http-headers/X-Varnish/ (and its sibling pages)
                .value("x-served-by", "cache-"),
                .header("x-fastly-request-id"),
                .prefix("fastly-"),
                .body("Fastly error: unknown domain"),
            ],
            configure: "Keep the backend's Vary: Origin, or add Origin to the cache key in vcl_hash; set CORS headers in vcl_deliver only when the backend does not.",
            snippet: ("vcl", """
                sub vcl_hash {
                  set req.hash += req.http.Origin;
                }
                """), recorded: nil),
        KnownLayer(
            id: "akamai", name: "Akamai", layer: .cdn,
            clues: [
                // Server: AkamaiGHost on the edge's own answers and the Akamai-GRN reference (as observed; no public
                // source found); the CORS behavior: https://techdocs.akamai.com/property-mgr/docs/cors-support
                .value("server", "akamaighost", answered: true),
                .header("akamai-grn"),
                .prefix("x-akamai"),
                .prefix("akamai-"),
            ],
            configure: "Use the CORS Support behavior in Property Manager (or Modify Outgoing Response Header), and do not apply \"Remove Vary Header\" where the answer depends on Origin.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "vercel", name: "Vercel", layer: .cdn,
            clues: [
                // server: Vercel, x-vercel-id, x-vercel-cache on every answer; x-vercel-error on the platform's own
                // errors. https://vercel.com/docs/headers/response-headers  https://vercel.com/docs/caching/cache-status
                .header("x-vercel-id"),
                .header("x-vercel-cache"),
                .header("x-vercel-error", answered: true),
                .value("server", "vercel"),
            ],
            configure: "Set the CORS headers in vercel.json `headers` for the path (and answer OPTIONS in the function), or in the framework's middleware.",
            snippet: ("json", """
                { "headers": [ { "source": "/api/(.*)", "headers": [
                  { "key": "Access-Control-Allow-Origin", "value": "https://app.example" },
                  { "key": "Access-Control-Allow-Methods", "value": "GET, POST, OPTIONS" },
                  { "key": "Access-Control-Allow-Headers", "value": "Content-Type" },
                  { "key": "Vary", "value": "Origin" } ] } ] }
                """), recorded: nil),
        KnownLayer(
            id: "netlify", name: "Netlify", layer: .cdn,
            clues: [
                // Server: Netlify and x-nf-request-id (as observed; no public source found); CORS in _headers:
                // https://docs.netlify.com/routing/headers/
                .value("server", "netlify"),
                .header("x-nf-request-id"),
            ],
            configure: "Set the CORS headers in the `_headers` file or `[[headers]]` in netlify.toml for the path; functions must answer OPTIONS themselves.",
            snippet: ("toml", """
                [[headers]]
                  for = "/api/*"
                  [headers.values]
                    Access-Control-Allow-Origin = "https://app.example"
                    Vary = "Origin"
                """), recorded: nil),
        KnownLayer(
            id: "varnish", name: "Varnish", layer: .cdn,
            clues: [
                // X-Varnish (two ids on a hit), Via "1.1 varnish (Varnish/7.1)", Age; "Guru Meditation" on its own
                // errors. Recorded: Captures/layers/varnish-edge.pcap.
                // https://docs.fastly.com/documentation/reference/http/http-headers/X-Varnish/
                // https://github.com/varnish/Varnish-Cache/blob/master/bin/varnishd/builtin.vcl
                .header("x-varnish"),
                .value("via", "varnish"),
                .body("Guru Meditation"),
            ],
            configure: "Put Origin in the cache key (`hash_data(req.http.Origin)` in vcl_hash), or keep the backend's Vary: Origin; a backend answer that reflects Origin must never be stored for every origin.",
            snippet: ("vcl", """
                sub vcl_hash {
                    # The default key is URL + Host; answers that depend on Origin need it too.
                    hash_data(req.http.Origin);
                }
                """), recorded: "varnish-edge.pcap"),

        // MARK: API gateways and load balancers
        KnownLayer(
            id: "aws-api-gateway", name: "Amazon API Gateway", layer: .gateway,
            clues: [
                // REST APIs: x-amzn-RequestId and x-amz-apigw-id; {"message":"Missing Authentication Token"} when no
                // resource matched. HTTP APIs' apigw-requestid and x-amzn-ErrorType on the gateway's own errors
                // are as observed (no public source found).
                // https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/72722477/x-amz-apigw-id-in-api-gateway-response-headers
                // https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
                // https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html
                // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
                .header("x-amz-apigw-id"),
                .header("apigw-requestid"),
                .header("x-amzn-errortype", answered: true),
                .body("Missing Authentication Token"),
            ],
            configure: "REST API: \"Enable CORS\" on the resource (a mock OPTIONS method), and add Access-Control-Allow-Origin to the DEFAULT_4XX and DEFAULT_5XX gateway responses so the gateway's own errors carry it; with a Lambda or HTTP proxy integration the backend must send the headers itself. HTTP API: set `corsConfiguration` (it answers preflights and replaces the backend's CORS headers).",
            snippet: ("text", """
                aws apigateway put-gateway-response --rest-api-id API --response-type DEFAULT_4XX \\
                  --response-parameters '{"gatewayresponse.header.Access-Control-Allow-Origin":"'"'"'https://app.example'"'"'"}'
                # HTTP API:
                aws apigatewayv2 update-api --api-id API --cors-configuration AllowOrigins=https://app.example,AllowMethods=GET,POST,AllowHeaders=content-type
                """), recorded: nil),
        KnownLayer(
            id: "aws-alb", name: "AWS Application Load Balancer", layer: .proxy,
            clues: [
                // Stickiness cookies AWSALB…, authentication session AWSELBAuthSessionCookie; ALB's own answers
                // (5xx, fixed-response, authenticate redirects) say Server: awselb/2.0 (as observed; no public
                // source found); header modification can add CORS headers (Nov 2024).
                // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/sticky-sessions.html
                // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
                // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html
                .value("server", "awselb", answered: true),
                .cookie("AWSALB"),
                .cookie("AWSELBAuthSessionCookie"),
            ],
            configure: "ALB passes CORS headers through from the targets; its own answers (5xx, fixed-response, authenticate-oidc redirects) carry none unless the listener's header modification adds them. Route OPTIONS past the authenticate action (a rule for OPTIONS that forwards without authentication).",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "kong", name: "Kong Gateway", layer: .gateway,
            clues: [
                // Via kong/<version>, X-Kong-Upstream-Latency and X-Kong-Proxy-Latency on proxied answers,
                // Server kong/<version> on Kong's own; {"message":"no Route matched with those values"}.
                // X-Kong-Response-Latency on Kong's own answers is as observed (no public source found).
                // https://blog.csdn.net/weixin_43107388/article/details/125969743
                // https://github.com/Kong/kong/issues/12083
                // https://developer.konghq.com/plugins/cors/examples/
                .value("via", "kong/"),
                .value("server", "kong/", answered: true),
                .header("x-kong-upstream-latency"),
                .header("x-kong-proxy-latency"),
                .header("x-kong-response-latency", answered: true),
                .body("no Route matched with those values"),
            ],
            configure: "Enable the `cors` plugin on the route or service (origins, methods, headers, credentials); it answers preflights before authentication plugins run.",
            snippet: ("yaml", """
                plugins:
                  - name: cors
                    config:
                      origins: ["https://app.example"]
                      methods: ["GET", "POST", "OPTIONS"]
                      headers: ["Content-Type"]
                      credentials: true
                """), recorded: nil),

        // MARK: Proxies and meshes
        KnownLayer(
            id: "google-front-end", name: "Google Front End (Cloud Run, App Engine, Cloud Load Balancing)", layer: .proxy,
            clues: [
                // Server: Google Frontend, Via: 1.1 google, X-Cloud-Trace-Context and the 404 page's "That’s an
                // error." are as observed (no public source found: the load balancer "adds certain headers by
                // default"); Cloud Run adds no CORS headers.
                // https://cloud.google.com/load-balancing/docs/https/custom-headers-global
                // https://meiert.com/en/blog/the-google-error-page/
                .value("server", "google frontend"),
                .value("via", "1.1 google"),
                .header("x-cloud-trace-context"),
                .body("That’s an error."),
            ],
            configure: "Google's front end does not add CORS headers: the service behind it must answer OPTIONS and add them (Cloud Run: in the container; a load balancer: custom response headers in the backend service).",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "istio", name: "Istio (Envoy sidecar)", layer: .proxy,
            clues: [
                // Istio's gateways and sidecars say server: istio-envoy (as observed; no public source found).
                // https://istio.io/latest/docs/reference/config/networking/virtual-service/#CorsPolicy
                .value("server", "istio-envoy"),
            ],
            configure: "Set `corsPolicy` on the VirtualService route (allowOrigins, allowMethods, allowHeaders, allowCredentials), or let the application answer; never both.",
            snippet: ("yaml", """
                apiVersion: networking.istio.io/v1beta1
                kind: VirtualService
                spec:
                  http:
                  - corsPolicy:
                      allowOrigins:
                      - exact: https://app.example
                      allowMethods: [GET, POST]
                      allowHeaders: [content-type]
                """), recorded: nil),
        KnownLayer(
            id: "envoy", name: "Envoy", layer: .proxy,
            clues: [
                // server: envoy, x-envoy-upstream-service-time on proxied answers; "upstream connect error or
                // disconnect/reset before headers" and "no healthy upstream" (as observed) are Envoy's own 503s.
                // https://github.com/envoyproxy/envoy/blob/main/docs/root/configuration/http/http_conn_man/headers.rst
                // https://github.com/istio/istio/issues/9906
                // https://www.envoyproxy.io/docs/envoy/v1.17.2/_sources/configuration/http/http_filters/cors_filter.rst.txt
                .value("server", "envoy"),
                .header("x-envoy-upstream-service-time"),
                .prefix("x-envoy-"),
                .body("no healthy upstream"),
                .body("upstream connect error or disconnect/reset before headers"),
            ],
            configure: "Add the `envoy.filters.http.cors` filter to the HTTP connection manager and a `cors` policy (typed_per_filter_config) on the route or virtual host.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "linkerd", name: "Linkerd", layer: .proxy,
            clues: [
                // l5d-proxy-error on the proxy's own answers, l5d-* (l5d-remote-ip…) on others.
                // https://github.com/linkerd/linkerd2-proxy/pull/2694
                // https://github.com/linkerd/linkerd2-proxy/commit/6d10dd6
                .header("l5d-proxy-error", answered: true),
                .prefix("l5d-"),
            ],
            configure: "Linkerd does not handle CORS: the application behind it must; an l5d-proxy-error answer means the proxy could not reach it.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "haproxy", name: "HAProxy", layer: .proxy,
            clues: [
                // HAProxy adds no header of its own; its built-in error pages are fixed text (src/http.c,
                // http_err_msgs): the 403 and 503 are recorded in Captures/layers/haproxy-edge.pcap.
                // https://github.com/haproxy/haproxy/blob/master/src/http.c
                // https://haproxy.com/documentation/haproxy-configuration-tutorials/alerts-and-monitoring/error-pages
                .body("No server is available to handle this request."),
                .body("Request forbidden by administrative rules."),
                .body("The server didn't respond in time."),
                .body("Your browser sent an invalid request."),
            ],
            configure: "Answer preflights in the frontend before any deny or auth rule, use `http-response set-header` (not add-header: that appends a second Access-Control-Allow-Origin to the backend's), and `http-after-response` for HAProxy's own error answers, which `http-response` rules never reach.",
            snippet: ("haproxy", """
                frontend web
                    # Preflights first, before deny/auth rules.
                    http-request return status 204 hdr Access-Control-Allow-Origin "https://app.example" hdr Access-Control-Allow-Methods "GET, POST, PUT" hdr Access-Control-Allow-Headers "Content-Type" hdr Vary "Origin" if METH_OPTIONS
                    # set-header replaces the backend's copy; add-header would send two.
                    http-response set-header Access-Control-Allow-Origin "https://app.example"
                    http-response set-header Vary "Origin"
                    # HAProxy's own 403/503 pages pass only through http-after-response.
                    http-after-response set-header Access-Control-Allow-Origin "https://app.example"
                """), recorded: "haproxy-edge.pcap"),
        KnownLayer(
            id: "traefik", name: "Traefik", layer: .proxy,
            clues: [],   // no header of its own; "404 page not found" is Go's, not Traefik's alone.
            configure: "Use a `headers` middleware with accessControlAllowOriginList, accessControlAllowMethods, accessControlAllowHeaders and addVaryHeader on the router.",
            snippet: ("yaml", """
                http:
                  middlewares:
                    cors:
                      headers:
                        accessControlAllowOriginList: ["https://app.example"]
                        accessControlAllowMethods: ["GET", "POST", "OPTIONS"]
                        accessControlAllowHeaders: ["Content-Type"]
                        addVaryHeader: true
                """), recorded: nil),
        KnownLayer(
            id: "caddy", name: "Caddy", layer: .proxy,
            clues: [
                // Caddy sends Server: Caddy on every answer, beside the upstream's own Server when it proxies
                // (recorded: Captures/layers/caddy-edge.pcap).
                // https://futurestud.io/tutorials/caddy-remove-the-server-response-header
                .value("server", "caddy"),
            ],
            configure: "Let one side own CORS: either the upstream (then no `header`/`header_down` touching Access-Control-*), or Caddy with `header_down` replacing the upstream's value and a matcher answering OPTIONS with the CORS headers, not a bare `respond 204`.",
            snippet: ("caddy", """
                @preflight method OPTIONS
                handle @preflight {
                    header Access-Control-Allow-Origin "https://app.example"
                    header Access-Control-Allow-Methods "GET, POST, PUT"
                    header Access-Control-Allow-Headers "Content-Type"
                    header Vary "Origin"
                    respond 204
                }
                reverse_proxy 127.0.0.1:8080 {
                    # Replaces the upstream's value (one copy), instead of deleting it.
                    header_down Access-Control-Allow-Origin "https://app.example"
                }
                """), recorded: "caddy-edge.pcap"),

        // MARK: Hosting platforms and servers
        KnownLayer(
            id: "azure-app-service", name: "Azure App Service", layer: .server,
            clues: [
                // ARR affinity cookies; platform CORS takes precedence over the application's.
                // https://azure.github.io/AppService/2016/05/16/Disable-Session-affinity-cookie-(ARR-cookie)-for-Azure-web-apps.html
                // https://learn.microsoft.com/en-us/azure/app-service/app-service-web-tutorial-rest-api
                .cookie("ARRAffinity"),
            ],
            configure: "App Service's platform CORS (az webapp cors add) replaces the application's CORS headers: use either it or the application's, not both.",
            snippet: nil, recorded: nil),
        KnownLayer(
            id: "amazon-s3", name: "Amazon S3", layer: .server,
            clues: [
                // Server: AmazonS3, x-amz-request-id, x-amz-id-2; "CORSResponse" on refused preflights.
                // https://docs.aws.Amazon.com/en_us/AmazonS3/latest/API/RESTCommonResponseHeaders.html
                // https://docs.amazonaws.cn/en%5Fus/AmazonS3/latest/userguide/cors-troubleshooting.md
                .value("server", "amazons3", answered: true),
                .header("x-amz-id-2"),
                .body("CORSResponse"),
            ],
            configure: "Set the bucket's CORS configuration (AllowedOrigins, AllowedMethods, AllowedHeaders, ExposeHeaders, MaxAgeSeconds); S3 answers a preflight 403 when no rule matches its origin, method and headers.",
            snippet: ("json", """
                [ { "AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["Content-Type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600 } ]
                """), recorded: nil),
        KnownLayer(
            id: "apache", name: "Apache httpd", layer: .server,
            clues: [
                // Server: Apache/<version> (ServerTokens); its own error pages ("You don't have permission…"),
                // recorded in Captures/layers/apache-edge.pcap; `onsuccess` and `always` are two tables.
                // https://www.oreilly.com/library/view/webmaster-in-a/0596003579/re512.html
                // https://gist.github.com/brianlmoon/2291111c5c69252c85f4
                .value("server", "apache"),
                .body("You don't have permission to access this resource."),
            ],
            configure: "With mod_headers: `Header always set` for the CORS headers, after `Header unset` of the same name when the path is proxied (`always` writes a second table; the upstream's copy stays in the other one and both leave); answer OPTIONS before authentication.",
            snippet: nil, recorded: "apache-edge.pcap"),
        KnownLayer(
            id: "nginx", name: "nginx", layer: .server,
            clues: [
                // Server: nginx / openresty; its own error pages end in "<center>nginx…</center>".
                // https://github.com/nginx/nginx/blob/master/src/http/ngx_http_special_response.c
                .value("server", "nginx"),
                .value("server", "openresty"),
                .body("<center>nginx"),
            ],
            configure: "`add_header … always` in the location (without `always` error answers lose them), `proxy_hide_header` for the upstream's copy when nginx sets them itself, and preflights answered before `auth_request`.",
            snippet: nil, recorded: nil),
    ]
}

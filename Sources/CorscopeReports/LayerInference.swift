import CorscopeRedaction
import BrowserRules

/// Guesses which layer of the serving path (application, web server, proxy, CDN, auth gateway)
/// produced a failing answer, from the headers each layer leaves behind, and says why.
///
/// The guess runs once per blocked group at the end of the analysis, on the group's example
/// and a few facts remembered per host (so "ACAO on 2xx, none on 4xx" can be seen even when
/// the 2xx came later in the capture).
enum LayerInference {
    struct Inputs {
        var failure: CORSFailure
        /// The response the browser rejected (the OPTIONS answer for preflight failures).
        var response: ResponseFacts?
        /// Whether the host answered a 2xx with ACAO from nginx somewhere in the capture.
        var hostSentACAOOn2xxFromNginx: Bool
        /// A 2xx path template of that host with ACAO, for the reasoning text.
        var hostACAOExamplePath: String?
        var redactor: Redactor
    }

    static func infer(_ inputs: Inputs) -> LayerFinding {
        let failure = inputs.failure
        guard let response = inputs.response else {
            return LayerFinding(layer: .unknown, component: nil, confidence: "low",
                                reasoning: ["The failing response was not captured, so no layer left evidence."])
        }
        var reasoning: [String] = []
        let server = serverComponent(response)
        let cdn = response.cdnHint
        if let serverHeader = response.value(response.serverIndex) {
            reasoning.append("Server: \(inputs.redactor.header(name: "Server", value: serverHeader)) identifies \(server ?? "the web server").")
        }
        if let powered = response.value(response.poweredByIndex) {
            reasoning.append("X-Powered-By: \(inputs.redactor.header(name: "X-Powered-By", value: powered)) names the application framework.")
        }
        if let via = response.value(response.viaIndex) {
            reasoning.append("Via: \(inputs.redactor.header(name: "Via", value: via)) shows a proxy between the client and the application.")
        }
        if let cdn { reasoning.append("Headers typical of \(cdn) (\(cdnEvidence(response))) show the answer passed through it.") }

        // An auth gateway answers OPTIONS with a redirect to its login page: browsers never send
        // credentials on a preflight, so every preflight through it fails.
        if failure.stage == .preflight || failure.error == .preflightDisallowedRedirect {
            if (300..<400).contains(response.status), let location = response.value(response.locationIndex),
               looksLikeLogin(location) {
                reasoning.append("The preflight (OPTIONS) was answered \(response.status) with Location: \(inputs.redactor.url(location)), a login/SSO address: an authentication layer answered before the CORS handling.")
                reasoning.append("Preflights never carry cookies or Authorization, so an authentication check in front of OPTIONS rejects every one of them.")
                return LayerFinding(layer: .edgeAuth, component: server, confidence: "high", reasoning: reasoning)
            }
            if response.status == 401 || response.status == 403 {
                reasoning.append("The preflight (OPTIONS) was answered \(response.status): authentication or authorization rejected it before CORS handling; preflights never carry credentials.")
                return LayerFinding(layer: .edgeAuth, component: server, confidence: "medium", reasoning: reasoning)
            }
        }

        // Two Access-Control-Allow-Origin lines: each layer added its own.
        if response.allowOriginIndexes.count > 1
            || failure.error == .multipleAllowOriginValues || failure.error == .preflightMultipleAllowOriginValues {
            let values = response.allowOriginIndexes.map { "'\(response.headers.value(at: $0))'" }.joined(separator: " and ")
            reasoning.append("The response carries \(response.allowOriginIndexes.count) Access-Control-Allow-Origin lines (\(values)): two layers each add the header, typically a proxy\(server.map { " (\($0))" } ?? "") in front of an application that already sets CORS.")
            reasoning.append("Keep the header in one layer only: hide the upstream's copy at the proxy, or remove the proxy's add_header.")
            return LayerFinding(layer: .multipleLayers, component: server, confidence: "high", reasoning: reasoning)
        }

        let missing = failure.error == .missingAllowOriginHeader || failure.error == .preflightMissingAllowOriginHeader
        if missing, response.status >= 400, server == "nginx" {
            if inputs.hostSentACAOOn2xxFromNginx {
                let example = inputs.hostACAOExamplePath.map { " (e.g. \($0))" } ?? ""
                reasoning.append("The same host sent Access-Control-Allow-Origin on 2xx answers\(example) but none on this \(response.status): nginx's add_header applies only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 unless it ends in `always`.")
                return LayerFinding(layer: .server, component: "nginx", confidence: "high", reasoning: reasoning)
            }
            reasoning.append("nginx answered \(response.status) without Access-Control-Allow-Origin; if CORS headers come from add_header, they are dropped on error statuses unless the directive ends in `always`.")
            return LayerFinding(layer: .server, component: "nginx", confidence: "medium", reasoning: reasoning)
        }

        if let hit = response.cacheHitSignal, cdn != nil || response.viaIndex != nil || response.xCacheIndex != nil {
            reasoning.append("\(hit) says a cache answered, not the application: the cached answer was stored for another request.")
            return LayerFinding(layer: .cdn, component: cdn, confidence: "medium", reasoning: reasoning)
        }
        if let cdn, server.map(isCDNName) == true {
            reasoning.append("The answer came from \(cdn) itself (its Server header), not from the application.")
            return LayerFinding(layer: .cdn, component: cdn, confidence: "medium", reasoning: reasoning)
        }

        switch failure.error {
        case .methodDisallowedByPreflightResponse, .headerDisallowedByPreflightResponse:
            reasoning.append("The server's preflight answer works but its allow-list does not include '\(failure.failedParameter)', which the page sends: extend the allow-list (or stop sending it).")
            return LayerFinding(layer: .server, component: server, confidence: server == nil ? "low" : "medium", reasoning: reasoning)
        case .preflightInvalidStatus:
            reasoning.append("OPTIONS got \(response.status): the route does not handle OPTIONS\(server.map { " (\($0) answered itself)" } ?? "").")
            return LayerFinding(layer: response.viaIndex != nil ? .proxy : .server, component: server, confidence: "medium", reasoning: reasoning)
        default:
            break
        }
        if response.viaIndex != nil && server == nil {
            reasoning.append("Only the proxy identified itself; the answer may come from it or from the application behind it.")
            return LayerFinding(layer: .proxy, component: nil, confidence: "low", reasoning: reasoning)
        }
        if server == nil { reasoning.append("No Server or X-Powered-By header names the software; the application's CORS configuration is the first place to look.") }
        else { reasoning.append("Nothing points at an intermediary; the CORS configuration of \(server!) is the first place to look.") }
        return LayerFinding(layer: .server, component: server, confidence: server == nil ? "low" : "medium", reasoning: reasoning)
    }

    /// Which product the Server / X-Powered-By headers name.
    static func serverComponent(_ response: ResponseFacts) -> String? {
        if response.headerContains(response.poweredByIndex, "express") { return "Express" }
        if response.serverContains("kestrel") { return "ASP.NET Core (Kestrel)" }
        if response.serverContains("microsoft-iis") || response.headerContains(response.poweredByIndex, "asp.net") { return "ASP.NET (IIS)" }
        if response.serverContains("nginx") || response.serverContains("openresty") { return "nginx" }
        if response.serverContains("apache") || response.serverContains("httpd") { return "Apache" }
        if response.serverContains("cloudflare") { return "Cloudflare" }
        if response.serverContains("akamaighost") { return "Akamai" }
        if response.serverContains("amazons3") { return "Amazon S3" }
        if response.serverContains("envoy") { return "Envoy" }
        if response.serverContains("caddy") { return "Caddy" }
        if response.serverContains("jetty") || response.serverContains("tomcat") { return "Java servlet container (Spring?)" }
        if let index = response.serverIndex { return response.headers.value(at: index) }
        return nil
    }

    private static func isCDNName(_ name: String) -> Bool {
        name == "Cloudflare" || name == "Akamai"
    }

    private static func cdnEvidence(_ r: ResponseFacts) -> String {
        var names: [String] = []
        if r.cfRay { names.append("CF-Ray") }
        if r.cfCacheStatusIndex != nil { names.append("CF-Cache-Status") }
        if r.amzCfID { names.append("X-Amz-Cf-Id") }
        if r.azureRef { names.append("X-Azure-Ref") }
        if r.servedByIndex != nil { names.append("X-Served-By") }
        if r.fastlyHeader { names.append("Fastly-*") }
        if r.akamaiHeader { names.append("Akamai headers") }
        if r.varnishHeader { names.append("Varnish") }
        if r.xCacheIndex != nil { names.append("X-Cache") }
        if r.xCacheStatusIndex != nil { names.append("X-Cache-Status") }
        if r.viaIndex != nil { names.append("Via") }
        return names.joined(separator: ", ")
    }

    /// `/login`, `/oauth`, `/sso`, `/auth`, `/signin` in the path, or a `login.`/`accounts.`/`sso.`/`auth.` host.
    static func looksLikeLogin(_ location: String) -> Bool {
        let lower = location.lowercased()
        for marker in ["/login", "/oauth", "/sso", "/signin", "/sign-in", "/auth", "/saml", "/adfs", "/cas/", "/openid"]
        where lower.contains(marker) { return true }
        var host = Substring(lower)
        if let scheme = host.firstRange(of: "://") { host = host[scheme.upperBound...] }
        for prefix in ["login.", "accounts.", "sso.", "auth.", "signin.", "idp."] where host.hasPrefix(prefix) { return true }
        return false
    }
}

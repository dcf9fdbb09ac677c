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
        /// The kept bytes of its body (error pages name the product that made them).
        var body: [UInt8] = []
        /// Whether the host answered a 2xx with ACAO from nginx somewhere in the capture.
        var hostSentACAOOn2xxFromNginx: Bool
        /// A 2xx path template of that host with ACAO, for the reasoning text.
        var hostACAOExamplePath: String?
        /// The Server values the host's answers carried anywhere in the capture, each with the
        /// path template of its first answer.
        var hostServers: [(server: String, path: String)] = []
        /// A path template of the host whose answer carried ACAO (any server).
        var hostACAOPath: String?
        var redactor: Redactor
    }

    static func infer(_ inputs: Inputs) -> LayerFinding {
        let seen = inputs.response.map { LayerCatalogue.identify($0.headers, body: inputs.body) } ?? []
        var finding = inferLayer(inputs, seen: seen)
        if inputs.response != nil {
            finding.seen = seen.map { sighting in
                var shown = sighting
                shown.evidence = sighting.evidence.map { redacted($0, inputs.redactor) }
                return shown
            }
        }
        return finding
    }

    /// `seen`: the catalogue's products in the failing response (identified once, by `infer`).
    private static func inferLayer(_ inputs: Inputs, seen: [SeenLayer]) -> LayerFinding {
        let failure = inputs.failure
        guard let response = inputs.response else {
            return LayerFinding(layer: .unknown, component: nil, confidence: "low",
                                reasoning: ["The failing response was not captured, so no layer left evidence."])
        }
        var reasoning: [String] = []
        let server = serverComponent(response)
        let cdn = seen.first { LayerCatalogue.layer(id: $0.id)?.layer == .cdn }?.name ?? response.cdnHint
        let redactor = inputs.redactor
        // A proxy that sends its own Server beside the upstream's (Caddy): the first is the proxy's.
        let frontServer: String? = response.firstServerIndex != response.serverIndex ? response.value(response.firstServerIndex) : nil
        if let first = frontServer, let last = response.value(response.serverIndex) {
            reasoning.append("Two Server lines, \(redactor.header(name: "Server", value: first)) and \(redactor.header(name: "Server", value: last)): the first layer passed on the answer of the second.")
        } else if let serverHeader = response.value(response.serverIndex) {
            reasoning.append("Server: \(redactor.header(name: "Server", value: serverHeader)) identifies \(server ?? "the web server").")
        }
        if let powered = response.value(response.poweredByIndex) {
            reasoning.append("X-Powered-By: \(redactor.header(name: "X-Powered-By", value: powered)) names the application framework.")
        }
        if let via = response.value(response.viaIndex) {
            reasoning.append("Via: \(redactor.header(name: "Via", value: via)) shows a proxy between the client and the application.")
        }
        for sighting in seen where !sighting.answered && sighting.evidence.contains(where: { !$0.hasPrefix("Server:") }) {
            reasoning.append("\(quoted(sighting, redactor)) \(sighting.evidence.count == 1 ? "shows" : "show") the answer passed through \(sighting.name).")
        }
        if seen.isEmpty, let cdn { reasoning.append("Headers typical of \(cdn) (\(cdnEvidence(response))) show the answer passed through it.") }

        // An auth gateway answers OPTIONS with a redirect to its login page: browsers never send
        // credentials on a preflight, so every preflight through it fails.
        let edgeAuth = seen.first { LayerCatalogue.layer(id: $0.id)?.layer == .edgeAuth }
        if failure.stage == .preflight || failure.error == .preflightDisallowedRedirect {
            if (300..<400).contains(response.status), let location = response.value(response.locationIndex),
               looksLikeLogin(location) || edgeAuth != nil {
                reasoning.append("The preflight (OPTIONS) was answered \(response.status) with Location: \(redactor.url(location)), a login/SSO address: an authentication layer\(edgeAuth.map { " (\($0.name))" } ?? "") answered before the CORS handling.")
                reasoning.append("Preflights never carry cookies or Authorization, so an authentication check in front of OPTIONS rejects every one of them.")
                return LayerFinding(layer: .edgeAuth, component: edgeAuth?.name ?? server, confidence: "high", reasoning: reasoning)
            }
        }

        // A product's own answer (its error page or error header): the application never saw the
        // request, whatever its CORS configuration says.
        // A web server's own error page is the application's server speaking unless the host's other
        // answers came from another server behind it: then the steps below (nginx `always`…) decide.
        let behind = otherServer(than: response, inputs.hostServers)
        if let maker = seen.first(where: \.answered), let known = LayerCatalogue.layer(id: maker.id),
           known.layer != .server || behind != nil || known.id == "amazon-s3" {
            let what = failure.stage == .preflight ? "the preflight (OPTIONS)" : "the request"
            reasoning.append("\(quoted(maker, redactor)) \(maker.evidence.count == 1 ? "shows" : "show") \(maker.name) made this \(response.status) answer to \(what) itself: the request never reached the application, so the application's CORS handling never ran.")
            var layer = known.layer
            if layer == .server, known.id != "amazon-s3", let behind {
                // Apache or nginx answering itself while the host's other answers came from another server.
                reasoning.append("Other answers of this host came from \(redactor.header(name: "Server", value: behind.server)) (e.g. \(behind.path)): \(maker.name) is a layer in front of it.")
                layer = .proxy
            }
            if failure.stage == .preflight, response.status == 401 || response.status == 403 {
                reasoning.append("Preflights never carry credentials: a deny, authentication or access rule in \(maker.name) that covers OPTIONS rejects every one of them.")
            }
            return LayerFinding(layer: layer, component: maker.name, confidence: "high", reasoning: reasoning)
        }

        // Only the front product's Server line, while the same host's other answers name another
        // server: the front product answered this one itself (Caddy's `respond 204` to OPTIONS).
        if frontServer == nil, let own = response.value(response.serverIndex), let known = LayerCatalogue.layer(serverHeader: own),
           known.layer != .server, let behind = otherServer(than: response, inputs.hostServers) {
            reasoning.append("Other answers of this host came from \(redactor.header(name: "Server", value: behind.server)) (e.g. \(behind.path)); this \(response.status) names only \(known.name): \(known.name) answered it itself, before the application.")
            return LayerFinding(layer: known.layer, component: known.name, confidence: "medium", reasoning: reasoning)
        }

        if failure.stage == .preflight || failure.error == .preflightDisallowedRedirect {
            if response.status == 401 || response.status == 403 {
                reasoning.append("The preflight (OPTIONS) was answered \(response.status): authentication or authorization rejected it before CORS handling; preflights never carry credentials.")
                return LayerFinding(layer: .edgeAuth, component: edgeAuth?.name ?? server, confidence: "medium", reasoning: reasoning)
            }
        }

        // Two Access-Control-Allow-Origin lines: each layer added its own.
        if response.allowOriginIndexes.count > 1
            || failure.error == .multipleAllowOriginValues || failure.error == .preflightMultipleAllowOriginValues {
            let values = response.allowOriginIndexes.map { "'\(response.headers.value(at: $0))'" }.joined(separator: " and ")
            let front = frontLayer(response: response, seen: seen, frontServer: frontServer, hostServers: inputs.hostServers)
            // The answer's own Server names the application unless it is the front layer's (nginx
            // replaces the upstream's Server with its own).
            let app = frontServer != nil ? response.value(response.serverIndex)
                : front?.fromServerLine == true ? nil : server
            var text = "The response carries \(response.allowOriginIndexes.count) Access-Control-Allow-Origin lines (\(values)): two layers each add the header"
            if let front {
                text += ", \(front.name)\(front.because) in front of \(app.map { "the application (\($0))" } ?? "an application") that already sets CORS."
            } else {
                text += ", typically a proxy in front of \(app.map { "the application (\($0))" } ?? "an application") that already sets CORS; no product in front left a fingerprint."
            }
            reasoning.append(text)
            reasoning.append("Keep the header in one layer only: hide the upstream's copy at the proxy (or replace it instead of adding a second), or remove the proxy's own.")
            // The Server of the answer is the front layer's only when it is a product that proxies (nginx
            // replaces the upstream's Server); an application's own name is not the layer at fault.
            let named = front?.name ?? server.flatMap { LayerCatalogue.layer(serverHeader: $0) != nil ? $0 : nil }
            return LayerFinding(layer: .multipleLayers, component: named, confidence: "high", reasoning: reasoning)
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

        // The answer passed through a proxy that names itself, and the host's other answers carried
        // ACAO: this one lost it on the way or at the application's route; only a capture behind
        // the proxy (corscope diff) tells which.
        if missing, let front = frontServer ?? seen.first(where: { LayerCatalogue.layer(id: $0.id).map { $0.layer == .proxy || $0.layer == .gateway } == true })?.name,
           let path = inputs.hostACAOPath {
            let name = LayerCatalogue.layer(serverHeader: front)?.name ?? front
            reasoning.append("Other answers of this host (e.g. \(path)) carried Access-Control-Allow-Origin through the same path; this one, passed on by \(name), has none: a header rule at \(name) (a delete, or a replacement that missed) or the application's route dropped it. A capture on the application's side of \(name) (corscope diff) tells which.")
            return LayerFinding(layer: .proxy, component: name, confidence: "medium", reasoning: reasoning)
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

    /// "X-Varnish, Via: 1.1 varnish (Varnish/7.1)" (header values redacted).
    private static func quoted(_ sighting: SeenLayer, _ redactor: Redactor) -> String {
        sighting.evidence.map { redacted($0, redactor) }.joined(separator: ", ")
    }

    /// One piece of catalogue evidence with a quoted header value redacted like the header itself
    /// (a Location URL like a URL).
    private static func redacted(_ evidence: String, _ redactor: Redactor) -> String {
        guard let colon = evidence.firstIndex(of: ":"), !evidence.hasPrefix("its ") else { return evidence }
        let name = String(evidence[..<colon])
        let value = String(evidence[evidence.index(after: colon)...].drop { $0 == " " })
        return name + ": " + (name.lowercased() == "location" ? redactor.url(value) : redactor.header(name: name, value: value))
    }

    /// A Server value the host's other answers carried that differs from this answer's.
    private static func otherServer(than response: ResponseFacts, _ hostServers: [(server: String, path: String)]) -> (server: String, path: String)? {
        let own = response.value(response.serverIndex)
        return hostServers.first { $0.server != own }
    }

    /// The product in front of the application, by the strongest evidence: a catalogue product
    /// (other than a web server) in the headers, a proxy's own Server line beside the upstream's,
    /// or a front product that answered other requests of the same host itself.
    private static func frontLayer(response: ResponseFacts, seen: [SeenLayer], frontServer: String?,
                                   hostServers: [(server: String, path: String)]) -> (name: String, because: String, fromServerLine: Bool)? {
        if let product = seen.first(where: { LayerCatalogue.layer(id: $0.id).map { $0.layer != .server } == true }) {
            return (product.name, " (\(product.evidence.joined(separator: ", ")))", false)
        }
        if let frontServer {
            return (LayerCatalogue.layer(serverHeader: frontServer)?.name ?? frontServer, " (its own Server line)", false)
        }
        let own = response.value(response.serverIndex)
        for other in hostServers where other.server != own {
            if let known = LayerCatalogue.layer(serverHeader: other.server) {
                return (known.name, " (which answered \(other.path) on this host itself as \(other.server))", false)
            }
        }
        if let own, let known = LayerCatalogue.layer(serverHeader: own) {
            return (known.name, " (its Server line: a proxying \(known.name) sends its own)", true)
        }
        return nil
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

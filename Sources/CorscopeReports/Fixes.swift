import BrowserRules

/// Turns a diagnosis into configuration people can paste: the server the evidence named first,
/// or every common server when none was named, plus the CDN cache key when a cache is involved.
enum Fixes {
    /// What the snippets must allow, taken from the failing exchange.
    struct Context {
        var origin: String
        var credentialed: Bool
        var method: String
        /// Non-safelisted request headers the page sent (or asked for in the preflight).
        var requestHeaders: [String]
        var pathTemplate: String
    }

    static func advice(for failure: CORSFailure, verdictFix: String?, layer: LayerFinding, context: Context) -> FixAdvice {
        var summary = verdictFix ?? "Make the server answer this request with CORS headers that allow \(context.origin)."
        switch layer.layer {
        case .edgeAuth:
            summary += " Let OPTIONS through the authentication layer (answer it with 204 and the CORS headers before any login redirect or 401)."
        case .multipleLayers:
            summary += " Send Access-Control-Allow-Origin from exactly one layer."
        case .server where layer.component == "nginx" && failure.error == .missingAllowOriginHeader:
            summary += " In nginx, end every CORS add_header with `always` so error answers carry it too."
        case .cdn:
            summary += " Make the cache key include Origin (or honour Vary: Origin)."
        default:
            break
        }
        // A product of the serving path named by the evidence (HAProxy, Varnish, CloudFront…): the fix
        // is configured there, in its own terms.
        if let component = layer.component, let product = LayerCatalogue.layer(named: component),
           serverFocus(component) == nil {
            summary += " " + product.configure
            if let sample = product.snippet {
                var snippets = [ConfigSnippet(target: product.name, language: sample.language, code: sample.code)]
                if layer.layer == .cdn && product.layer != .cdn { snippets.append(cdnCacheKey(cdn: layer.component)) }
                return FixAdvice(summary: summary, snippets: snippets)
            }
        }
        let focus = serverFocus(layer.component)
        var snippets: [ConfigSnippet] = []
        let all: [(String, () -> ConfigSnippet)] = [
            ("nginx", { nginx(context, failure: failure, layer: layer) }),
            ("Apache", { apache(context, failure: failure) }),
            ("Express", { express(context) }),
            ("Spring", { spring(context) }),
            ("ASP.NET Core", { aspNetCore(context) }),
        ]
        if let focus, let match = all.first(where: { $0.0 == focus }) {
            snippets.append(match.1())
        } else {
            snippets = all.map { $0.1() }
        }
        if layer.layer == .cdn { snippets.append(cdnCacheKey(cdn: layer.component)) }
        return FixAdvice(summary: summary, snippets: snippets)
    }

    private static func serverFocus(_ component: String?) -> String? {
        guard let component else { return nil }
        if component == "nginx" { return "nginx" }
        if component == "Apache" || component == "Apache httpd" { return "Apache" }
        if component == "Express" { return "Express" }
        if component.hasPrefix("ASP.NET") { return "ASP.NET Core" }
        if component.contains("Spring") { return "Spring" }
        return nil
    }

    private static func methods(_ c: Context) -> [String] {
        var list = ["GET", "POST"]
        if !list.contains(c.method) && c.method != "OPTIONS" { list.append(c.method) }
        return list
    }

    private static func headers(_ c: Context) -> [String] {
        c.requestHeaders.isEmpty ? ["Content-Type"] : c.requestHeaders
    }

    private static func locationPrefix(_ c: Context) -> String {
        // The first path segment is the usual unit of CORS configuration (`/api/`).
        let parts = c.pathTemplate.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, parts.count > 1 else { return "/" }
        return "/" + first + "/"
    }

    static func nginx(_ c: Context, failure: CORSFailure, layer: LayerFinding) -> ConfigSnippet {
        var lines = ["location \(locationPrefix(c)) {",
                     "    # `always`: without it nginx drops these headers from 4xx/5xx answers.",
                     "    add_header Access-Control-Allow-Origin \"\(c.origin)\" always;"]
        if c.credentialed { lines.append("    add_header Access-Control-Allow-Credentials \"true\" always;") }
        lines += ["    add_header Access-Control-Allow-Methods \"\(methods(c).joined(separator: ", "))\" always;",
                  "    add_header Access-Control-Allow-Headers \"\(headers(c).joined(separator: ", "))\" always;",
                  "    add_header Vary \"Origin\" always;",
                  "    # Answer preflights here, before any auth_request or login redirect. Put no add_header",
                  "    # inside this `if`: one there replaces every add_header of the location.",
                  "    if ($request_method = OPTIONS) {",
                  "        return 204;",
                  "    }"]
        if layer.layer == .multipleLayers {
            lines += ["    # The upstream sets CORS too: keep only one copy.",
                      "    proxy_hide_header Access-Control-Allow-Origin;",
                      "    proxy_hide_header Access-Control-Allow-Credentials;"]
        }
        lines += ["    proxy_pass http://app;", "}"]
        return ConfigSnippet(target: "nginx", language: "nginx", code: lines.joined(separator: "\n"))
    }

    static func apache(_ c: Context, failure: CORSFailure) -> ConfigSnippet {
        var lines = ["<Location \"\(locationPrefix(c))\">",
                     "    # `always` covers error answers. It writes its own table: on a proxied path the",
                     "    # backend's copy stays in the other one and both leave, unless it is unset first.",
                     "    Header unset Access-Control-Allow-Origin",
                     "    Header always set Access-Control-Allow-Origin \"\(c.origin)\""]
        if c.credentialed {
            lines += ["    Header unset Access-Control-Allow-Credentials",
                      "    Header always set Access-Control-Allow-Credentials \"true\""]
        }
        lines += ["    Header always set Access-Control-Allow-Methods \"\(methods(c).joined(separator: ", "))\"",
                  "    Header always set Access-Control-Allow-Headers \"\(headers(c).joined(separator: ", "))\"",
                  "    Header always merge Vary \"Origin\"",
                  "    # Answer preflights before authentication.",
                  "    RewriteEngine On",
                  "    RewriteCond %{REQUEST_METHOD} OPTIONS",
                  "    RewriteRule ^ - [R=204,L]",
                  "</Location>"]
        return ConfigSnippet(target: "Apache", language: "apache", code: lines.joined(separator: "\n"))
    }

    static func express(_ c: Context) -> ConfigSnippet {
        let quotedHeaders = headers(c).map { "'\($0)'" }.joined(separator: ", ")
        let quotedMethods = methods(c).map { "'\($0)'" }.joined(separator: ", ")
        let code = """
            const cors = require('cors');
            const corsOptions = {
              origin: ['\(c.origin)'],        // a list, not `true`: `true` reflects any origin
              credentials: \(c.credentialed),
              methods: [\(quotedMethods)],
              allowedHeaders: [\(quotedHeaders)],
              maxAge: 600,
            };
            // Before authentication and routes, so preflights and error answers get the headers too.
            app.options('*', cors(corsOptions));
            app.use(cors(corsOptions));
            """
        return ConfigSnippet(target: "Express", language: "js", code: code)
    }

    static func spring(_ c: Context) -> ConfigSnippet {
        let quotedHeaders = headers(c).map { "\"\($0)\"" }.joined(separator: ", ")
        let quotedMethods = methods(c).map { "\"\($0)\"" }.joined(separator: ", ")
        let code = """
            @Bean
            CorsConfigurationSource corsConfigurationSource() {
                CorsConfiguration config = new CorsConfiguration();
                config.setAllowedOrigins(List.of("\(c.origin)"));
                config.setAllowCredentials(\(c.credentialed));
                config.setAllowedMethods(List.of(\(quotedMethods)));
                config.setAllowedHeaders(List.of(\(quotedHeaders)));
                UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
                source.registerCorsConfiguration("\(locationPrefix(c))**", config);
                return source;
            }
            // With Spring Security add http.cors(Customizer.withDefaults()) so preflights pass before authentication.
            // For one controller instead: @CrossOrigin(origins = "\(c.origin)", allowCredentials = "\(c.credentialed)")
            """
        return ConfigSnippet(target: "Spring", language: "java", code: code)
    }

    static func aspNetCore(_ c: Context) -> ConfigSnippet {
        let quotedHeaders = headers(c).map { "\"\($0)\"" }.joined(separator: ", ")
        let quotedMethods = methods(c).map { "\"\($0)\"" }.joined(separator: ", ")
        let code = """
            builder.Services.AddCors(options => options.AddPolicy("frontend", policy => policy
                .WithOrigins("\(c.origin)")\(c.credentialed ? "\n    .AllowCredentials()" : "")
                .WithMethods(\(quotedMethods))
                .WithHeaders(\(quotedHeaders))));
            // Order matters: UseCors after UseRouting and before UseAuthentication/UseAuthorization,
            // or auth rejects preflights and error answers leave without CORS headers.
            app.UseRouting();
            app.UseCors("frontend");
            app.UseAuthentication();
            app.UseAuthorization();
            """
        return ConfigSnippet(target: "ASP.NET Core", language: "csharp", code: code)
    }

    static func cdnCacheKey(cdn: String?) -> ConfigSnippet {
        var lines = ["# The origin server: send `Vary: Origin` on every answer whose CORS headers depend on Origin",
                     "# (also on answers without them), and keep it through every layer."]
        let all: [(String, String)] = [
            ("Cloudflare", "Cloudflare: Cache Rules → Cache key → Headers: include `Origin` (or set the Vary action to pass Origin through)."),
            ("CloudFront", "CloudFront: in the cache policy add the `Origin` header to the cache key (and Access-Control-Request-Method/-Headers if OPTIONS is cached)."),
            ("Fastly", "Fastly: keep the backend's `Vary: Origin`, or add `set req.hash += req.http.Origin;` in vcl_hash."),
            ("Akamai", "Akamai: do not apply \"Remove Vary Header\" to this path; add Origin to the cache key."),
            ("Azure Front Door", "Azure Front Door: cache only origin-independent answers, or disable caching for this route."),
            ("Varnish", "Varnish: `hash_data(req.http.Origin);` in vcl_hash, or keep `Vary: Origin`."),
            ("nginx proxy_cache", "nginx proxy_cache: `proxy_cache_key \"$scheme$host$request_uri$http_origin\";`."),
        ]
        if let cdn, let match = all.first(where: { $0.0 == cdn }) {
            lines.append(match.1)
        } else {
            lines += all.map(\.1)
        }
        return ConfigSnippet(target: "CDN", language: "text", code: lines.joined(separator: "\n"))
    }
}

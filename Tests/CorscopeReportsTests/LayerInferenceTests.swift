import CorscopeHTTP
import CorscopeReports
import XCTest

/// The captured 404 without ACAO, as other servers and edges would have sent it: the layer and
/// the fix follow the evidence.
final class LayerInferenceTests: XCTestCase {
    func group(server set: [(String, String)], remove: [String] = [], status: Int? = nil) throws -> BlockedGroup {
        let exchanges = try Support.exchanges("nginx-cors.pcap")
        var exchange = try Support.exchange(exchanges, method: "GET", target: "/api/noalways/notfound")
        exchange.response!.head.headers = Support.fields(exchange.response!.head.headers, set: set, remove: remove)
        if let status { exchange.response!.head.status = status }
        let groups = Support.report([exchange]).origins.flatMap(\.groups)
        XCTAssertEqual(groups.count, 1)
        return try XCTUnwrap(groups.first)
    }

    func testKestrelGetsTheASPNETCoreFix() throws {
        let g = try group(server: [("Server", "Kestrel")])
        XCTAssertEqual(g.layer.component, "ASP.NET Core (Kestrel)")
        XCTAssertEqual(g.fix.snippets.map(\.target), ["ASP.NET Core"])
        XCTAssertTrue(g.fix.snippets[0].code.contains("app.UseCors(\"frontend\");"))
        XCTAssertTrue(g.fix.snippets[0].code.contains("before UseAuthentication"))
    }

    func testExpressIsNamedByXPoweredBy() throws {
        let g = try group(server: [("X-Powered-By", "Express")], remove: ["Server"])
        XCTAssertEqual(g.layer.component, "Express")
        XCTAssertTrue(g.layer.reasoning.contains { $0.contains("X-Powered-By: Express") })
        XCTAssertEqual(g.fix.snippets.map(\.target), ["Express"])
        XCTAssertTrue(g.fix.snippets[0].code.contains("app.use(cors(corsOptions));"))
    }

    func testApacheGetsHeaderAlwaysSet() throws {
        let g = try group(server: [("Server", "Apache/2.4.62 (Debian)")])
        XCTAssertEqual(g.layer.component, "Apache")
        XCTAssertTrue(g.fix.snippets[0].code.contains("Header always set Access-Control-Allow-Origin \"http://127.0.0.1:24482\""))
    }

    func testUnknownServerGetsEveryServersFix() throws {
        let g = try group(server: [], remove: ["Server"])
        XCTAssertEqual(g.layer.layer, .server)
        XCTAssertEqual(g.layer.confidence, "low")
        XCTAssertEqual(g.fix.snippets.map(\.target), ["nginx", "Apache", "Express", "Spring", "ASP.NET Core"])
        XCTAssertTrue(g.fix.snippets[3].code.contains("CorsConfigurationSource"))
        XCTAssertTrue(g.fix.snippets[3].code.contains("@CrossOrigin"))
    }

    func testCloudflareAnsweringItselfIsTheCDN() throws {
        let g = try group(server: [("Server", "cloudflare"), ("CF-Ray", "8a1b2c3d4e5f6a7b-FRA")], status: 403)
        XCTAssertEqual(g.layer.layer, .cdn)
        XCTAssertEqual(g.layer.component, "Cloudflare")
        XCTAssertTrue(g.layer.reasoning.contains { $0.contains("CF-Ray") })
        XCTAssertTrue(g.fix.snippets.contains { $0.target == "CDN" && $0.code.contains("Cloudflare") })
    }

    func testLoginDetection() {
        let exchanges = try? Support.exchanges("nginx-cors.pcap")
        XCTAssertNotNil(exchanges)
        for location in ["https://login.example.com/?x", "https://accounts.example.com/o/oauth2/auth", "/sso/start", "/oauth/authorize"] {
            var preflight = exchanges!.first { $0.request?.head.method == "OPTIONS" && $0.request?.head.target == "/api/private" }!
            preflight.response!.head.headers = Support.fields(preflight.response!.head.headers, set: [("Location", location)])
            let group = Support.report([preflight]).origins.flatMap(\.groups).first
            XCTAssertEqual(group?.layer.layer, .edgeAuth, location)
        }
    }
}

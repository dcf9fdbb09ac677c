import CorscopeTestSupport
import Foundation
import XCTest

/// `corscope` end to end, as a user runs it: the built binary on the bundled captures.
final class CommandLineTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// How a run ended: status, stdout, stderr (see `ChildOutcome`).
    typealias Run = ChildOutcome

    struct BinaryNotBuilt: Error, CustomStringConvertible {
        var looked: [String]
        var description: String { "corscope is not built beside the tests (looked in \(looked)): `make test` builds it" }
    }

    /// The `corscope` built beside this test bundle (`swift build --build-tests` builds both).
    static func binary() throws -> URL {
        let bundle = Bundle(for: CommandLineTests.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("corscope") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw BinaryNotBuilt(looked: candidates.map(\.path))
        }
        return found
    }

    func run(_ arguments: [String]) throws -> Run { try Self.run(arguments) }

    /// Runs the binary from the package root to its end. One still running after `timeout`
    /// seconds is killed and reaped, and the call throws saying so (as it does for a crash).
    static func run(_ arguments: [String], timeout: Double = 120) throws -> Run {
        try ChildProcess.run(try binary().path, arguments, currentDirectory: packageRoot, timeout: timeout).requireExit()
    }

    func testJSONHasOneObjectPerExchangeWithTheDocumentedShape() throws {
        let result = try run(["exchanges", "--json", "Captures/nginx-cors.pcap"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 27, "tshark counts 27 requests in this capture")
        for line in result.lines {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertNotNil(object["client"] as? String)
            XCTAssertNotNil(object["server"] as? String)
            let request = try XCTUnwrap(object["request"] as? [String: Any])
            XCTAssertNotNil(request["method"] as? String)
            XCTAssertNotNil(request["target"] as? String)
            let headers = try XCTUnwrap(request["headers"] as? [[String]])
            XCTAssertTrue(headers.allSatisfy { $0.count == 2 })
            let cors = try XCTUnwrap(object["cors"] as? [String: Any])
            XCTAssertTrue(["not-cors", "passed", "blocked", "undecidable"].contains(cors["verdict"] as? String ?? ""))
            XCTAssertTrue(cors.keys.contains("corsError") && cors.keys.contains("failedParameter")
                          && cors.keys.contains("message") && cors.keys.contains("preflight"))
        }
    }

    func testDuplicateAllowOriginStaysTwoFieldsAndIsJudgedAsChromiumDoes() throws {
        let result = try run(["exchanges", "--json", "Captures/nginx-cors.pcap"])
        let proxied = try XCTUnwrap(result.lines.first { $0.contains("\"target\":\"/proxy/cors\"") })
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(proxied.utf8)) as? [String: Any])
        let response = try XCTUnwrap(object["response"] as? [String: Any])
        let allowOrigin = (response["headers"] as! [[String]]).filter { $0[0].lowercased() == "access-control-allow-origin" }
        XCTAssertEqual(allowOrigin.count, 2, "nginx and its upstream each added one")
        let cors = try XCTUnwrap(object["cors"] as? [String: Any])
        XCTAssertEqual(cors["verdict"] as? String, "blocked")
        XCTAssertEqual(cors["corsError"] as? String, "MultipleAllowOriginValues")
        let message = try XCTUnwrap(cors["message"] as? String)
        XCTAssertTrue(message.hasPrefix("Access to fetch at 'http://127.0.0.1:"), message)
        XCTAssertTrue(message.contains("has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header contains multiple values"), message)
        XCTAssertEqual(cors["firefoxReason"] as? String, "CORSMultipleAllowOriginNotAllowed", "two ACAO lines, in Firefox's words")
    }

    /// Chromium's recording carries a session cookie (s3cr3t) and bearer tokens (t0k3n): no
    /// output of `exchanges` shows them unless --no-redact.
    func testExchangesRedactSecretsUnlessAsked() throws {
        for input in ["Captures/chromium/chromium-cors.pcapng", "Captures/chromium/chromium-cors.har"] {
            for arguments in [["exchanges", "--json", input], ["exchanges", "--json", "--no-cors", input], ["exchanges", input]] {
                let result = try run(arguments)
                XCTAssertEqual(result.status, 0, result.stderr)
                XCTAssertFalse(result.stdout.contains("s3cr3t"), "\(arguments): the session cookie leaked")
                XCTAssertFalse(result.stdout.contains("t0k3n"), "\(arguments): the bearer token leaked")
                if arguments.contains("--json") { XCTAssertTrue(result.stdout.contains("session=[redacted]"), "\(arguments)") }
            }
            let shown = try run(["exchanges", "--json", "--no-redact", input])
            XCTAssertTrue(shown.stdout.contains("session=s3cr3t"), "--no-redact shows the capture as it is")
        }
    }

    func testFirefoxProfileSpeaksFirefoxAndStatesItsAssumptions() throws {
        let result = try run(["exchanges", "--json", "--browser", "firefox", "Captures/nginx-cors.pcap"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let objects = try result.lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        func cors(_ target: String) throws -> [String: Any] {
            let object = try XCTUnwrap(objects.first { ($0["request"] as? [String: Any])?["target"] as? String == target })
            return try XCTUnwrap(object["cors"] as? [String: Any])
        }
        let missing = try cors("/api/noalways/notfound")
        XCTAssertEqual(missing["firefoxReason"] as? String, "CORSMissingAllowOrigin")
        XCTAssertTrue((missing["message"] as? String)?.hasPrefix("Cross-Origin Request Blocked:") ?? false, "\(missing)")
        // No Cookie: decided under the default mode, the assumption and the other outcome stated.
        let plain = try cors("/api/noalways/ok")
        XCTAssertEqual(plain["verdict"] as? String, "passed")
        let assumed = try XCTUnwrap(plain["assumed"] as? [String: Any])
        XCTAssertEqual(assumed["credentials"] as? String, "omit")
        XCTAssertTrue((assumed["because"] as? String)?.contains("no Cookie was sent") ?? false)
        let outcomes = try XCTUnwrap(plain["outcomesByCredentials"] as? [[String: Any]])
        XCTAssertEqual(outcomes.map { $0["credentials"] as? String }, ["include", "omit"])
        XCTAssertEqual(outcomes.first?["verdict"] as? String, "blocked")
        XCTAssertNil(objects.first { ($0["cors"] as? [String: Any])?["verdict"] as? String == "undecidable" }, "nothing left undecided")
    }

    func testPreflightPairing() throws {
        let result = try run(["exchanges", "--json", "Captures/chromium/chromium-cors.pcapng"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let objects = try result.lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let ids = Set(objects.compactMap { $0["id"] as? String })
        let paired = objects.filter { (($0["cors"] as? [String: Any])?["preflight"] as? String) != nil }
        XCTAssertFalse(paired.isEmpty, "Chromium's preflighted requests are paired with their OPTIONS")
        for object in paired {
            let preflightID = (object["cors"] as! [String: Any])["preflight"] as! String
            XCTAssertTrue(ids.contains(preflightID))
            let preflight = objects.first { $0["id"] as? String == preflightID }!
            XCTAssertEqual((preflight["request"] as! [String: Any])["method"] as? String, "OPTIONS")
            XCTAssertEqual((preflight["cors"] as! [String: Any])["role"] as? String, "preflight")
        }
    }

    func testStatsCountsTheWholePipeline() throws {
        let result = try run(["exchanges", "--stats", "Captures/edge-http1.pcap"])
        XCTAssertEqual(result.status, 0, result.stderr)
        var counts: [String: Int] = [:]
        for line in result.lines {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let value = Int(parts[1].trimmingCharacters(in: .whitespaces)) { counts[String(parts[0])] = value }
        }
        // 32 requests were sent; the one inside the CONNECT tunnel is not parsed (the tunnel is not HTTP/1 to corscope).
        XCTAssertEqual(counts["exchanges"], 31)
        XCTAssertGreaterThan(counts["header_fields"] ?? 0, 100)
        XCTAssertGreaterThan(counts["anomaly.obs_fold"] ?? 0, 0)
        XCTAssertGreaterThan(counts["anomaly.bare_lf"] ?? 0, 0)
        XCTAssertTrue(result.stderr.contains("exchanges"), "a summary line on stderr")
        let json = try run(["exchanges", "--stats", "--json", "Captures/edge-http1.pcap"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Int])
        XCTAssertEqual(object["exchanges"], 31)
    }

    func testGzipCaptureGivesTheSameExchanges() throws {
        let plain = try run(["exchanges", "--json", "Captures/nginx-cors.pcap"])
        let gzipped = try run(["exchanges", "--json", "Captures/nginx-cors.pcap.gz"])
        XCTAssertEqual(gzipped.status, 0, gzipped.stderr)
        XCTAssertEqual(plain.stdout, gzipped.stdout)
    }

    func testTruncatedCaptureWarnsAndKeepsWhatWasRead() throws {
        let result = try run(["exchanges", "Captures/variants/truncated-mid-packet.pcap"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("warning:") && result.stderr.contains("truncated"), result.stderr)
        XCTAssertGreaterThan(result.lines.count, 5)
    }

    func testNotACaptureIsAOneLineErrorAndTheOtherFilesAreStillRead() throws {
        let result = try run(["exchanges", "README.md", "Captures/nginx-cors.pcap", "no/such/file.pcap"])
        XCTAssertEqual(result.status, 2, "an unreadable input is an error (exit status 2, like grep)")
        let errors = result.stderr.split(separator: "\n").filter { $0.contains("error:") }
        XCTAssertEqual(errors.count, 2, result.stderr)
        XCTAssertTrue(errors[0].contains("README.md") && errors[0].contains("not a readable pcap/pcapng capture"))
        XCTAssertTrue(errors[1].contains("no/such/file.pcap") && errors[1].contains("cannot open"))
        for line in errors {
            XCTAssertEqual(line.components(separatedBy: "no/such/file.pcap").count + line.components(separatedBy: "README.md").count, 3,
                           "the path is named once: \(line)")
        }
        XCTAssertEqual(result.lines.count, 27)
    }

    func testSeveralFilesKeepConnectionIDsDistinct() throws {
        let result = try run(["exchanges", "--json", "Captures/nginx-cors.pcap", "Captures/edge-http1.pcap"])
        let ids = result.lines.compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        XCTAssertEqual(ids.count, 27 + 31)
        XCTAssertEqual(Set(ids).count, ids.count)
    }

    func testHelpReadsLikeTheCommand() throws {
        let result = try run(["exchanges", "--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("--json") && result.stdout.contains("--stats") && result.stdout.contains("--browser"))
    }
}

/// Reports/ holds what `corscope analyze` writes for the bundled captures; it must be current.
final class ReportsAreCurrentTests: XCTestCase {
    func testCommittedReportsEqualFreshOnes() throws {
        let root = CommandLineTests.packageRoot
        let inputs = try String(contentsOf: root.appendingPathComponent("Reports/inputs.txt"), encoding: .utf8)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-reports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var stale: [String] = []
        var compared = 0
        for line in inputs.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 2 else { continue }
            for (format, ext) in [("markdown", "md"), ("html", "html"), ("json", "json"), ("sarif", "sarif"), ("junit", "junit.xml")] {
                let fresh = scratch.appendingPathComponent("\(parts[1]).\(ext)")
                let result = try CommandLineTests.run(["analyze", "--format", format, "--fail-on", "never",
                                                          "--output", fresh.path, parts[0]])
                XCTAssertEqual(result.status, 0, result.stderr)
                let committed = root.appendingPathComponent("Reports/\(parts[1]).\(ext)")
                if (try? Data(contentsOf: committed)) != (try? Data(contentsOf: fresh)) { stale.append(committed.lastPathComponent) }
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 25)
        XCTAssertTrue(stale.isEmpty, "Reports/ is stale (run `make reports`): \(stale)")
    }
}

extension CommandLineTests {
    func testNoCorsExportsTheExchangesAlone() throws {
        let plain = try run(["exchanges", "--json", "--no-cors", "Captures/nginx-cors.pcap"])
        let judged = try run(["exchanges", "--json", "Captures/nginx-cors.pcap"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.lines.count, judged.lines.count)
        // Judging may hold a preflight until its request arrives, so compare by id, not by line.
        let byID = try Dictionary(uniqueKeysWithValues: judged.lines.map { line -> (String, [String: Any]) in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (object["id"] as! String, object)
        })
        for bare in plain.lines {
            let bareObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bare.utf8)) as? [String: Any])
            var fullObject = try XCTUnwrap(byID[bareObject["id"] as! String])
            XCTAssertNil(bareObject["cors"])
            XCTAssertNotNil(fullObject.removeValue(forKey: "cors"))
            XCTAssertEqual(NSDictionary(dictionary: bareObject), NSDictionary(dictionary: fullObject), "the same exchange, without its verdict")
        }
    }
}

extension ChildOutcome {
    /// Standard output's lines.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

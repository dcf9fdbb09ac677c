import CorscopeCapture
import CorscopeHAR
import CorscopeHTTP
import Foundation
import XCTest

/// Synthetic and damaged HARs: errors with positions, truncation, odd shapes, fuzzing.
final class HARReaderRobustnessTests: XCTestCase {
    override class func tearDown() {
        TemporaryFiles.removeAll()
        super.tearDown()
    }

    private func har(entries: [String], extraLog: String = "") -> String {
        """
        {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},\(extraLog)
        "entries": [
        \(entries.joined(separator: ",\n"))
        ]}}
        """
    }

    private func entry(method: String = "GET", url: String = "https://api.example/x", status: Int = 200,
                       requestHeaders: String = "[]", responseHeaders: String = "[]", extra: String = "") -> String {
        """
        {"startedDateTime": "2024-01-02T03:04:05.5Z", "time": 10, \(extra)
         "request": {"method": "\(method)", "url": "\(url)", "httpVersion": "HTTP/1.1", "headers": \(requestHeaders), "cookies": [], "bodySize": 0},
         "response": {"status": \(status), "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": \(responseHeaders), "content": {"size": 5}, "bodySize": 5},
         "timings": {"blocked": 1, "dns": -1, "connect": -1, "send": 1, "wait": 5, "receive": 3}}
        """
    }

    // MARK: - Errors with positions

    func testMalformedJSONNamesFileLineAndColumn() throws {
        let text = """
        {
          "log": {
            "version": "1.2",
            "entries": [
              {"request": {"method": "GET", "url": "https://a.example/"} "response": {"status": 200}}
            ]
          }
        }
        """
        let path = try temporaryFile(text, name: "x.har")
        let read = try readHAR(path)
        let line5 = text.split(separator: "\n", omittingEmptySubsequences: false)[4]
        let column = line5.distance(from: line5.startIndex, to: line5.firstRange(of: "\"response\"")!.lowerBound) + 1
        XCTAssertEqual(read.outcome, .failed(.malformedJSON(path: path, line: 5, column: column, expected: "expected ',' or '}' after object member"), entriesRead: 0))
        XCTAssertEqual(read.outcome.message, "\(path):5:\(column): expected ',' or '}' after object member")
        XCTAssertThrowsError(try read.outcome.checked())
    }

    func testMalformedOuterStructure() throws {
        let path = try temporaryFile(#"{"log": {"version" "1.2"}}"#)
        let read = try readHAR(path)
        XCTAssertEqual(read.outcome.message, "\(path):1:20: expected ':' after object key")
    }

    func testMalformedEntriesSeparator() throws {
        let path = try temporaryFile(har(entries: [entry(), entry()]).replacingOccurrences(of: "},\n{", with: "} ;\n{"))
        let read = try readHAR(path)
        XCTAssertEqual(read.exchanges.count, 1, "the entry before the error is delivered")
        guard case .failed(.malformedJSON(_, _, _, let expected), 1) = read.outcome else { return XCTFail("\(read.outcome)") }
        XCTAssertEqual(expected, "expected ',' or ']' after an entry of log.entries")
    }

    /// Python's json module reports the same line and column for the same damage in a real HAR.
    func testErrorPositionAgreesWithPythonOnARealHAR() throws {
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: try PublicHARs.path("pagexray__chrome-preflights-verizon.har"))))
        // Remove the colon after the 50th "url" key.
        let key = Array(#""url":"#.utf8)
        var found = 0
        var damaged = original
        for i in 0..<(original.count - key.count) where original[i..<(i + key.count)].elementsEqual(key) {
            found += 1
            if found == 50 { damaged.remove(at: i + key.count - 1); break }
        }
        let path = try temporaryFile(damaged)
        let expected = try python("""
        import json, sys
        try:
            json.load(open(sys.argv[1], encoding='utf-8'))
        except json.JSONDecodeError as e:
            print(e.lineno, e.colno)
        """, [path]).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let read = try readHAR(path)
        guard case .failed(.malformedJSON(_, let line, let column, let what), let entriesRead) = read.outcome else { return XCTFail("\(read.outcome)") }
        XCTAssertEqual([line, column], expected)
        XCTAssertEqual(what, "expected ':' after object key")
        XCTAssertEqual(entriesRead, 49)
        XCTAssertEqual(read.exchanges.count, 49)
    }

    // MARK: - Truncation

    func testTruncatedRealHARYieldsEveryCompleteEntryBeforeTheCut() throws {
        let source = try PublicHARs.path("pagexray__chrome-preflights-verizon.har")
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: source)))
        for cut in [original.count / 3, original.count / 2, original.count - 40] {
            let prefix = Array(original[..<cut])
            let path = try temporaryFile(prefix)
            // Python counts the entries that end before the cut.
            let complete = try python("""
            import json, sys
            text = open(sys.argv[1], encoding='latin-1').read()
            cut = int(sys.argv[2])
            decoder = json.JSONDecoder()
            i = text.index('[', text.index('"entries"')) + 1
            n = 0
            while True:
                while text[i] in ' \\t\\r\\n,': i += 1
                if text[i] == ']': break
                _, end = decoder.raw_decode(text, i)
                if end > cut: break
                n += 1
                i = end
            print(n)
            """, [source, String(cut)]).trimmingCharacters(in: .whitespacesAndNewlines)
            let read = try readHAR(path)
            let lines = prefix.split(separator: 0x0A, omittingEmptySubsequences: false)
            let lastLine = lines.last ?? []
            let column = String(decoding: lastLine, as: UTF8.self).count + 1
            XCTAssertEqual(read.outcome, .truncated(line: lines.count, column: column, entriesRead: Int(complete) ?? -1), "cut at \(cut)")
            XCTAssertEqual(read.exchanges.count, Int(complete), "cut at \(cut)")
            XCTAssertTrue(read.outcome.message?.contains("truncated HAR") == true)
            XCTAssertTrue(read.outcome.message?.contains("\(complete) complete entries") == true)
            // The delivered entries are the same as in the whole file.
            let whole = try readHAR(source)
            XCTAssertEqual(read.exchanges.map { $0.request?.head.target }, whole.exchanges.prefix(read.exchanges.count).map { $0.request?.head.target })
        }
    }

    func testTruncatedAfterEntriesClosed() throws {
        let text = har(entries: [entry(), entry()])
        let path = try temporaryFile(String(text.dropLast(2)))
        let read = try readHAR(path)
        XCTAssertEqual(read.exchanges.count, 2)
        guard case .truncated(_, _, 2) = read.outcome else { return XCTFail("\(read.outcome)") }
    }

    // MARK: - Shapes

    func testByteOrderMarkIsTolerated() throws {
        let path = try temporaryFile([0xEF, 0xBB, 0xBF] + Array(har(entries: [entry()]).utf8))
        let read = try readHAR(path)
        XCTAssertEqual(read.outcome, .complete(entriesRead: 1))
        XCTAssertEqual(read.exchanges.first?.response?.head.status, 200)
    }

    func testNameValueArrayHeaders() throws {
        let e = entry(requestHeaders: #"[["Origin", "https://app.example"], ["X-Dup", "1"], ["X-Dup", "2"]]"#,
                      responseHeaders: #"[["Access-Control-Allow-Origin", "https://app.example"], ["Vary", "Origin"]]"#)
        let read = try readHAR(try temporaryFile(har(entries: [e])))
        let exchange = try XCTUnwrap(read.exchanges.first)
        XCTAssertEqual(exchange.request?.head.headers.pairs.map { "\($0.name): \($0.value)" }, ["Origin: https://app.example", "X-Dup: 1", "X-Dup: 2"])
        XCTAssertEqual(exchange.request?.head.headers.values(named: "x-dup"), ["1", "2"])
        XCTAssertEqual(exchange.response?.head.headers.first(named: "access-control-allow-origin"), "https://app.example")
    }

    func testEscapesInStringsBecomeUTF8Bytes() throws {
        let e = entry(requestHeaders: #"[{"name": "X-Text", "value": "caf\u00e9 \ud83d\ude00 \"q\" a\/b\tc"}, {"name": "X-Lone", "value": "\ud800x"}]"#)
        let read = try readHAR(try temporaryFile(har(entries: [e])))
        let headers = try XCTUnwrap(read.exchanges.first?.request?.head.headers)
        XCTAssertEqual(headers.first(named: "x-text"), "café 😀 \"q\" a/b\tc")
        XCTAssertEqual(headers.first(named: "x-lone"), "\u{FFFD}x")
    }

    /// Escaped quotes and backslash runs that straddle chunk boundaries: every shift of the text
    /// over a 4 KiB chunk edge must give the same value (the copy pass tracks escapes across chunks).
    func testEscapesAcrossChunkBoundaries() throws {
        // In JSON: 3 backslashes + quote, then 5 backslashes + quote, each followed by brackets
        // that would end the entry early if an escape were lost; decoded: \"]}\\"]}x
        let tricky = String(repeating: #"\\\"]}\\\\\"]}x"#, count: 30)
        for shift in 0..<48 {
            let padding = String(repeating: " ", count: 3700 + shift)
            let e = entry(requestHeaders: #"[{"name": "X-Tricky", "value": "\#(tricky)"}, {"name": "X-After", "value": "ok"}]"#)
            let text = padding + har(entries: [e, entry(url: "https://api.example/second")])
            let read = try readHAR(try temporaryFile(text), configuration: .init(chunkSize: 4096))
            XCTAssertEqual(read.outcome, .complete(entriesRead: 2), "shift \(shift)")
            let headers = read.exchanges.first?.request?.head.headers
            XCTAssertEqual(headers?.first(named: "x-tricky"), String(repeating: #"\"]}\\"]}x"#, count: 30), "shift \(shift)")
            XCTAssertEqual(headers?.first(named: "x-after"), "ok", "shift \(shift)")
            XCTAssertEqual(read.exchanges.last?.request?.head.target, "https://api.example/second", "shift \(shift)")
        }
    }

    func testTimesFromTimings() throws {
        let read = try readHAR(try temporaryFile(har(entries: [entry()])))
        let exchange = try XCTUnwrap(read.exchanges.first)
        let start = Timestamp(seconds: 1_704_164_645, nanoseconds: 500_000_000)
        XCTAssertEqual(exchange.connection.firstSeen, start)
        XCTAssertEqual(exchange.request?.firstByte, start.adding(seconds: 0.001))
        XCTAssertEqual(exchange.request?.lastByte, start.adding(seconds: 0.002))
        XCTAssertEqual(exchange.response?.firstByte, start.adding(seconds: 0.007))
        XCTAssertEqual(exchange.response?.lastByte, start.adding(seconds: 0.010))
        XCTAssertEqual(exchange.response?.body.wireLength, 5)
        XCTAssertNil(exchange.response?.body.decodedLength)
    }

    func testStatusZeroWithoutErrorAndNumbersAsStrings() throws {
        let zero = entry(status: 0)
        let quoted = entry(extra: #""connection": "77","#).replacingOccurrences(of: #""status": 200"#, with: #""status": "204""#)
        let read = try readHAR(try temporaryFile(har(entries: [zero, quoted])))
        XCTAssertNil(read.exchanges[0].response)
        XCTAssertEqual(read.exchanges[0].har?.error, "status 0")
        XCTAssertEqual(read.exchanges[1].response?.head.status, 204)
        XCTAssertEqual(read.exchanges[1].connection.id, 77)
    }

    func testChromePreflightEntryWithError() throws {
        // The shape DevTools writes for a preflight and for the blocked request after it.
        let preflight = entry(method: "OPTIONS", requestHeaders: #"[{"name": "Origin", "value": "https://app.example"}, {"name": "Access-Control-Request-Method", "value": "PUT"}]"#,
                              extra: #""_resourceType": "preflight", "_initiator": {"type": "preflight", "url": "https://api.example/x", "requestId": "1.2"}, "serverIPAddress": "2001:db8::1", "#)
        let blocked = entry(method: "PUT", status: 0,
                            extra: #""_resourceType": "fetch", "_initiator": {"type": "script", "stack": {"callFrames": [], "parent": {"callFrames": [{"url": ""}, {"url": "https://app.example/app.js"}]}}}, "#)
            .replacingOccurrences(of: #""bodySize": 5}"#, with: #""bodySize": -1, "_error": "net::ERR_FAILED"}"#)
        let read = try readHAR(try temporaryFile(har(entries: [preflight, blocked])))
        XCTAssertEqual(read.exchanges[0].har?.resourceType, "preflight")
        XCTAssertEqual(read.exchanges[0].har?.initiatorType, "preflight")
        XCTAssertEqual(read.exchanges[0].har?.initiatorURL, "https://api.example/x")
        XCTAssertEqual(read.exchanges[0].har?.serverAddress, "[2001:db8::1]:443")
        XCTAssertNil(read.exchanges[1].response)
        XCTAssertEqual(read.exchanges[1].har?.error, "net::ERR_FAILED")
        XCTAssertEqual(read.exchanges[1].har?.initiatorType, "script")
        XCTAssertEqual(read.exchanges[1].har?.initiatorURL, "https://app.example/app.js", "async parent stack walked")
    }

    func testPagesBeforeAndAfterEntries() throws {
        let pages = #""pages": [{"id": "p1", "title": "https://app.example/home", "startedDateTime": "2024-01-02T03:04:05Z"}],"#
        let e = entry(extra: #""pageref": "p1","#)
        let before = try readHAR(try temporaryFile(har(entries: [e], extraLog: pages)))
        XCTAssertEqual(before.exchanges.first?.har?.pageURL, "https://app.example/home")
        XCTAssertFalse(before.metadata.pagesFollowedEntries)

        let after = """
        {"log": {"entries": [\(e)], "pages": [{"id": "p1", "title": "https://app.example/home"}], "creator": {"name": "late", "version": "2"}}}
        """
        let read = try readHAR(try temporaryFile(after))
        XCTAssertEqual(read.exchanges.first?.har?.pageref, "p1")
        XCTAssertNil(read.exchanges.first?.har?.pageURL, "pages come after the entries")
        XCTAssertNil(read.exchanges.first?.har?.creator)
        XCTAssertTrue(read.metadata.pagesFollowedEntries)
        XCTAssertTrue(read.metadata.creatorFollowedEntries)
        XCTAssertEqual(read.metadata.pages.first?.url, "https://app.example/home")
        XCTAssertEqual(read.metadata.creator?.description, "late 2")
        XCTAssertEqual(read.outcome, .complete(entriesRead: 1))
    }

    func testOversizedAndInvalidEntriesAreSkippedAndCounted() throws {
        let big = entry(requestHeaders: "[{\"name\": \"X-Big\", \"value\": \"\(String(repeating: "a", count: 5000))\"}]")
        let text = har(entries: [entry(), big, "42", #"{"response": {}}"#, entry(url: "https://api.example/last")])
        let read = try readHAR(try temporaryFile(text), configuration: .init(maximumEntryBytes: 2000, chunkSize: 4096))
        XCTAssertEqual(read.outcome, .complete(entriesRead: 5))
        XCTAssertEqual(read.statistics.oversizedEntriesSkipped, 1)
        XCTAssertEqual(read.statistics.invalidEntriesSkipped, 2)
        XCTAssertEqual(read.exchanges.map { $0.har?.entryIndex }, [0, 4])
        XCTAssertEqual(read.exchanges.last?.request?.head.target, "https://api.example/last")
    }

    func testLargeEntrySpanningManyChunks() throws {
        let body = String(repeating: "0123456789abcdef", count: 200_000)  // 3.2 MB of content.text
        let large = entry().replacingOccurrences(of: #""content": {"size": 5}"#, with: #""content": {"size": 3200000, "text": "\#(body)"}"#)
        let read = try readHAR(try temporaryFile(har(entries: [large, entry(url: "https://api.example/next")])),
                               configuration: .init(chunkSize: 4096, keptBodyBytes: 10))
        XCTAssertEqual(read.outcome, .complete(entriesRead: 2))
        XCTAssertEqual(read.exchanges.first?.response?.body.kept, Array("0123456789".utf8))
        XCTAssertEqual(read.exchanges.first?.response?.body.isTruncated, true)
        XCTAssertEqual(read.exchanges.last?.request?.head.target, "https://api.example/next")
    }

    /// An entry nested 100,000 levels deep is legal JSON no HAR needs: it is skipped and counted,
    /// never a crash, and the entries after it are still read.
    func testDeepNestingIsSkippedNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let read = try readHAR(try temporaryFile(har(entries: [entry(), #"{"request": \#(deep)}"#, entry(url: "https://api.example/after")])))
        XCTAssertEqual(read.exchanges.count, 2)
        XCTAssertEqual(read.statistics.deeplyNestedEntriesSkipped, 1)
        XCTAssertEqual(read.exchanges.last?.request?.head.target, "https://api.example/after")
    }

    func testNotAHAR() throws {
        let cases: [(String, String)] = [
            (#"{"foo": 1}"#, "no \"log\" member"),
            (#"[{"log": {}}]"#, "array"),
            (#"{"log": {"version": "1.2"}}"#, "no \"entries\""),
            (#"{"log": {"entries": {}}}"#, "is not an array"),
            (#"{"log": 3}"#, "\"log\" is not an object"),
            ("", "empty"),
            ("  \n ", "empty"),
        ]
        for (text, reason) in cases {
            let path = try temporaryFile(text)
            let read = try readHAR(path)
            guard case .failed(.notAHAR(let p, let why), 0) = read.outcome else { XCTFail("\(text): \(read.outcome)"); continue }
            XCTAssertEqual(p, path)
            XCTAssertTrue(why.contains(reason), "\(text): \(why)")
            XCTAssertTrue(read.outcome.message?.contains("not a HAR file") == true)
        }
        let utf16 = try readHAR(try temporaryFile([0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00]))
        guard case .failed(.notAHAR(_, let why), 0) = utf16.outcome else { return XCTFail("\(utf16.outcome)") }
        XCTAssertTrue(why.contains("UTF-16"), why)
        let garbage = try readHAR(try temporaryFile("hello"))
        XCTAssertEqual(garbage.outcome.message?.hasSuffix(":1:1: expected '{' to start the HAR object"), true, "\(garbage.outcome)")
        let trailing = try readHAR(try temporaryFile(har(entries: [entry()]) + " x"))
        guard case .failed(.malformedJSON(_, _, _, "expected end of file after the HAR object"), 1) = trailing.outcome else { return XCTFail("\(trailing.outcome)") }
    }

    func testOpenErrors() {
        XCTAssertThrowsError(try HARReader(path: "/nonexistent/x.har")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/x.har: cannot open"), "\(error)")
        }
        XCTAssertThrowsError(try HARReader(path: NSTemporaryDirectory())) { error in
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
    }

    func testReadingTwiceStartsOver() throws {
        let reader = try HARReader(path: try temporaryFile(har(entries: [entry(), entry()])))
        var first = 0
        var second = 0
        XCTAssertEqual(reader.forEachExchange { _ in first += 1 }, .complete(entriesRead: 2))
        XCTAssertEqual(reader.forEachExchange { _ in second += 1 }, .complete(entriesRead: 2))
        XCTAssertEqual([first, second], [2, 2])
    }

    func testErrorsFromTheBodyPropagate() throws {
        struct Stop: Error {}
        let reader = try HARReader(path: try temporaryFile(har(entries: [entry(), entry()])))
        var seen = 0
        XCTAssertThrowsError(try reader.forEachExchange { _ in seen += 1; throw Stop() })
        XCTAssertEqual(seen, 1)
    }

    /// Short random texts over JSON's alphabet, some behind a valid HAR prefix: every read ends
    /// with an outcome and nothing is delivered that was not a complete entry.
    func testRandomJSONishBytesNeverCrash() throws {
        var generator = SeededGenerator(seed: 0x5EED_4A12)
        let alphabet = Array(#"{}[]",:\ \n0123456789-+.eEtrufalsn"u"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
        let prefix = Array(#"{"log": {"entries": ["#.utf8)
        for round in 0..<400 {
            var bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            if round % 2 == 0 { bytes = prefix + bytes }
            let reader = try HARReader(path: try temporaryFile(bytes))
            var delivered = 0
            let outcome = reader.forEachExchange { _ in delivered += 1 }
            XCTAssertLessThanOrEqual(delivered, outcome.entriesRead)
            XCTAssertEqual(delivered, reader.statistics.exchangesDelivered)
            if round % 2 == 1, case .complete = outcome {
                XCTFail("random text without a log.entries prefix read as a complete HAR: \(bytes)")
            }
        }
    }

    // MARK: - Sanitized exports

    func testSanitizationHeuristics() throws {
        let chrome131 = #"[{"name": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}]"#
        let chrome104 = chrome131.replacingOccurrences(of: "Chrome/131", with: "Chrome/104")
        func sanitized(_ entries: [String]) throws -> [Bool?] {
            let text = """
            {"log": {"creator": {"name": "WebInspector", "version": "537.36"}, "entries": [\(entries.joined(separator: ","))]}}
            """
            return try readHAR(try temporaryFile(text)).exchanges.map { $0.har?.isSanitized }
        }
        let withCookie = chrome131.replacingOccurrences(of: "}]", with: #"}, {"name": "Cookie", "value": "a=1"}]"#)
        let cookiesArrayOnly = entry(requestHeaders: chrome104).replacingOccurrences(of: #""cookies": []"#, with: #""cookies": [{"name": "sid", "value": "x"}]"#)
        let redacted = entry(requestHeaders: #"[{"name": "Authorization", "value": "[REDACTED]"}]"#)
        XCTAssertEqual(try sanitized([entry(requestHeaders: chrome131), entry(requestHeaders: withCookie), entry(requestHeaders: chrome104),
                                      cookiesArrayOnly, redacted]),
                       [true, false, false, true, true])
    }

    // MARK: - Fuzz

    /// Random cuts, byte flips, structural bytes and duplicated spans on real HARs never crash
    /// or hang the reader, and every read ends with an outcome.
    func testFuzzedRealHARsNeverCrash() throws {
        let names = ["mitmproxy__charles.har", "mitmproxy__chrome-postdata.har", "pagexray__firefox43-http2.har", "mitmproxy__firefox.har",
                     "pagexray__chrome-preflights-verizon.har"]
        var generator = SeededGenerator(seed: 0xC0125C09E)
        let structural: [UInt8] = Array("{}[]\",:\\ 0-eE.tfn\n".utf8) + [0x00, 0xEF, 0xFF, 0x80]
        var outcomes: [String: Int] = [:]
        for name in names {
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: try PublicHARs.path(name))))
            for round in 0..<60 {
                var bytes = original
                switch round % 4 {
                case 0:
                    bytes = Array(bytes[..<Int.random(in: 0..<bytes.count, using: &generator)])
                case 1:
                    for _ in 0..<Int.random(in: 1...8, using: &generator) {
                        bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                    }
                case 2:
                    for _ in 0..<Int.random(in: 1...4, using: &generator) {
                        bytes[Int.random(in: 0..<bytes.count, using: &generator)] = structural.randomElement(using: &generator)!
                    }
                default:
                    let start = Int.random(in: 0..<bytes.count, using: &generator)
                    let length = Int.random(in: 0...min(500, bytes.count - start), using: &generator)
                    let at = Int.random(in: 0...bytes.count, using: &generator)
                    bytes.insert(contentsOf: bytes[start..<(start + length)], at: at)
                    if round % 8 == 3 { bytes = Array(bytes[..<Int.random(in: 0..<bytes.count, using: &generator)]) }
                }
                let path = try temporaryFile(bytes)
                let reader = try HARReader(path: path, configuration: .init(chunkSize: 4096))
                let started = Date()
                var delivered = 0
                let outcome = reader.forEachExchange { exchange in
                    delivered += 1
                    _ = exchange.request?.head.headers.pairs
                }
                XCTAssertLessThan(Date().timeIntervalSince(started), 10, "\(name) round \(round): a read must never stall")
                XCTAssertEqual(delivered, reader.statistics.exchangesDelivered)
                XCTAssertEqual(outcome.entriesRead, reader.statistics.entriesRead)
                switch outcome {
                case .complete: outcomes["complete", default: 0] += 1
                case .truncated: outcomes["truncated", default: 0] += 1
                case .failed(.malformedJSON, _): outcomes["malformed", default: 0] += 1
                case .failed: outcomes["other failure", default: 0] += 1
                }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        XCTAssertEqual(outcomes.values.reduce(0, +), names.count * 60)
        XCTAssertGreaterThan(outcomes["complete", default: 0], 0)
        XCTAssertGreaterThan(outcomes["truncated", default: 0], 0)
        XCTAssertGreaterThan(outcomes["malformed", default: 0], 0)
    }
}

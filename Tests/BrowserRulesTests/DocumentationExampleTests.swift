import BrowserRules
import Foundation
import XCTest

/// The usage example of the BrowserRules documentation, compiled and run. The code between the
/// `example begin` and `example end` markers is the code block of
/// `Sources/BrowserRules/BrowserRules.docc/JudgingAnExchange.md` (which adds only its
/// `import BrowserRules` line), character for character: `testTheArticleShowsThisCode` fails
/// when they differ, so the documentation cannot drift from code that compiles and runs.
final class DocumentationExampleTests: XCTestCase {
    func testTheExampleRunsAndSaysWhatItsCommentsSay() {
        // example begin
        // A page on https://app.example ran fetch("https://api.example/orders/7"). The request
        // as captured, with the headers the browser added, and the API's answer:
        let request = CORSRequest(
            method: "GET",
            url: "https://api.example/orders/7",
            headers: [("Origin", "https://app.example"), ("Sec-Fetch-Mode", "cors")]
        )
        let response = CORSResponse(
            status: 200,
            headers: [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")]
        )
        let verdict = CORSEngine.evaluate(CORSExchange(request: request, response: response))

        // No Cookie was sent, so the credentials mode is not on the wire: the engine judges
        // under fetch's default (no credentials), says so, and the request passed.
        let kind = verdict.kind                        // .passed
        let assumed = verdict.assumption?.summary      // "credentials not included"
        let because = verdict.assumption?.because      // "no Cookie was sent, and a cross-origin fetch() …"

        // Had the page used credentials: 'include', the wildcard would have blocked it.
        let other = verdict.alternative
        let otherKind = other?.kind                    // .blocked
        let otherError = other?.failure?.error         // .wildcardOriginNotAllowed
        let chromiumText = other?.message(for: .chromium)
        // "Access to fetch at 'https://api.example/orders/7' from origin 'https://app.example' has
        //  been blocked by CORS policy: The value of the 'Access-Control-Allow-Origin' header in
        //  the response must not be the wildcard '*' when the request's credentials mode is 'include'."
        let outcomes = verdict.outcomesByCredentials.map { "\($0.assumption): \($0.kind)" }
        // ["included: blocked", "notIncluded: passed"]

        // A request that carried a cookie was made with credentials: nothing assumed, blocked.
        var withCookie = request
        withCookie.headers.fields.append(HTTPHeaderField(name: "Cookie", value: "session=1"))
        let blocked = CORSEngine.evaluate(CORSExchange(request: withCookie, response: response))
        let error = blocked.corsError                  // .wildcardOriginNotAllowed
        let firefoxReason = blocked.failure?.firefoxReason   // "CORSNotSupportingCredentials"
        let firefoxText = blocked.message(for: .firefox)     // "Cross-Origin Request Blocked: …"
        let safariText = blocked.message(for: .safari)       // "Cannot use wildcard in …"
        let fix = blocked.fix                          // "Send 'Access-Control-Allow-Origin: https://app.example' …"

        // Another engine's rules and check order: evaluate with its profile.
        let inFirefox = CORSEngine.evaluate(
            CORSExchange(request: withCookie, response: response),
            context: EvaluationContext(profile: .firefox)
        )
        // example end

        XCTAssertEqual(kind, .passed)
        XCTAssertEqual(assumed, "credentials not included")
        XCTAssertTrue(because?.hasPrefix("no Cookie was sent, and a cross-origin fetch() ") ?? false, "\(String(describing: because))")
        XCTAssertEqual(otherKind, .blocked)
        XCTAssertEqual(otherError, .wildcardOriginNotAllowed)
        XCTAssertEqual(chromiumText, """
            Access to fetch at 'https://api.example/orders/7' from origin 'https://app.example' has \
            been blocked by CORS policy: The value of the 'Access-Control-Allow-Origin' header in \
            the response must not be the wildcard '*' when the request's credentials mode is 'include'.
            """)
        XCTAssertEqual(outcomes, ["included: blocked", "notIncluded: passed"])
        XCTAssertNil(blocked.assumption)
        XCTAssertEqual(blocked.kind, .blocked)
        XCTAssertEqual(error, .wildcardOriginNotAllowed)
        XCTAssertEqual(firefoxReason, "CORSNotSupportingCredentials")
        XCTAssertTrue(firefoxText?.hasPrefix("Cross-Origin Request Blocked: ") ?? false, "\(String(describing: firefoxText))")
        XCTAssertTrue(safariText?.hasPrefix("Cannot use wildcard in ") ?? false, "\(String(describing: safariText))")
        XCTAssertTrue(fix?.hasPrefix("Send 'Access-Control-Allow-Origin: https://app.example' ") ?? false, "\(String(describing: fix))")
        XCTAssertEqual(inFirefox.kind, .blocked)
        XCTAssertEqual(inFirefox.failure?.firefoxReason, "CORSNotSupportingCredentials")
    }

    /// The article's Swift code block is `import BrowserRules`, a blank line, and the code
    /// between the markers above with the test's indentation removed.
    func testTheArticleShowsThisCode() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let article = try String(
            contentsOf: root.appendingPathComponent("Sources/BrowserRules/BrowserRules.docc/JudgingAnExchange.md"), encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)

        let sourceLines = source.components(separatedBy: "\n")
        let begin = try XCTUnwrap(sourceLines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "// example begin" })
        let end = try XCTUnwrap(sourceLines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "// example end" })
        let indentation = String(repeating: " ", count: 8)
        let example = sourceLines[(begin + 1)..<end].map { line in
            line.hasPrefix(indentation) ? String(line.dropFirst(indentation.count)) : line
        }

        let articleLines = article.components(separatedBy: "\n")
        let fence = try XCTUnwrap(articleLines.firstIndex(of: "```swift"), "the article has no ```swift block")
        let close = try XCTUnwrap(articleLines[(fence + 1)...].firstIndex(of: "```"))
        let shown = Array(articleLines[(fence + 1)..<close])

        let expected = ["import BrowserRules", ""] + example
        if shown != expected {
            let firstDifference = zip(shown, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(shown.count, expected.count)
            XCTFail("""
                JudgingAnExchange.md's code block differs from this test's example at its line \(firstDifference + 1):
                  article: \(firstDifference < shown.count ? shown[firstDifference] : "<end>")
                  test:    \(firstDifference < expected.count ? expected[firstDifference] : "<end>")
                Copy the code between the markers (without the 8 spaces of indentation) into the article.
                """)
        }
    }
}

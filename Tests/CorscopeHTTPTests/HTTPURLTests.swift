import CorscopeHTTP
import XCTest

/// The URL readings every stage after HTTP shares, on the forms HAR files and Location headers carry.
final class HTTPURLTests: XCTestCase {
    func testPort() {
        let cases: [(String, Int?)] = [
            ("https://api.example/x", 443), ("http://api.example", 80), ("HTTP://api.example/", 80),
            ("wss://api.example/socket", 443), ("ws://api.example", 80), ("ftp://files.example/", nil),
            ("http://api.example:8080/x?y#z", 8080), ("https://u:pw@api.example:8443/", 8443),
            ("https://u:pw@api.example/", 443), ("http://[::1]:24480/api", 24480), ("http://[::1]/api", 80),
            ("http://[::1]:80:90/", 80), ("http://api.example:99999/", 80), ("http://api.example:x/", 80),
            ("https://a]b@api.example:81/", 81), ("http://api.example/path:81", 80), ("http://api.example?q=:81", 80),
            ("/relative/path", nil), ("mailto:someone", nil), ("http:/one-slash", nil), ("", nil),
            ("http://127.0.0.1:24482/index.html?copy=0", 24482),
        ]
        for (url, port) in cases { XCTAssertEqual(HTTPURL.port(of: url), port, url) }
    }

    func testSchemeSeparatorAndAuthority() {
        XCTAssertEqual(HTTPURL.authority(of: "https://u@api.example:8443/x?y"), "api.example:8443")
        XCTAssertNil(HTTPURL.authority(of: "/x?next=https://evil.example/"))
        XCTAssertEqual(HTTPURL.origin(of: "HTTPS://API.example:8443/page?x"), "https://api.example:8443")
        let url = "a:b://c"
        XCTAssertEqual(HTTPURL.schemeSeparator(in: url).map { String(url[$0]) }, "://")
        XCTAssertEqual(HTTPURL.schemeSeparator(in: url).map { String(url[..<$0.lowerBound]) }, "a:b")
        XCTAssertNil(HTTPURL.schemeSeparator(in: "http:/x:/"))
        XCTAssertNil(HTTPURL.schemeSeparator(in: "x:"))
    }
}

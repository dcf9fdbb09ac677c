import CorscopeReports
import XCTest

final class EndpointTemplateTests: XCTestCase {
    func testVariableSegmentsBecomePlaceholders() {
        let cases: [(String, String)] = [
            ("/users/123", "/users/{id}"),
            ("/users/123?expand=1", "/users/{id}"),
            ("/users/123#frag", "/users/{id}"),
            ("/orders/0b6f9c52-7e2a-4f1e-9a43-2d8c1f0e6b7a/items/7", "/orders/{uuid}/items/{id}"),
            ("/blobs/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "/blobs/{hash}"),
            ("/objects/507f1f77bcf86cd799439011", "/objects/{hash}"),
            ("/api/v2/items", "/api/v2/items"),
            ("/static/app.3f2a1b.js", "/static/app.3f2a1b.js"),
            ("/deadbeefcafebabe", "/deadbeefcafebabe"),
            ("/", "/"),
            ("", "/"),
            ("?q=1", "/"),
            ("http://api.example/users/42?x", "/users/{id}"),
            ("https://api.example", "/"),
            ("/a//b/", "/a//b/"),
            ("/sessions/aB3dE5fG7hJ9kL1mN3pQ5rS7", "/sessions/{token}"),
            ("/release-notes-for-version", "/release-notes-for-version"),
        ]
        for (target, expected) in cases {
            XCTAssertEqual(EndpointTemplate.template(of: target), expected, target)
        }
    }
}

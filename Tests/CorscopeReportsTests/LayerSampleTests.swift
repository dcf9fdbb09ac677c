@testable import CorscopeReports
import CorscopeHTTP
import Foundation
import XCTest

/// The catalogue's clues on real answers of the cloud products: response heads recorded by others
/// in public HAR files and HTTP cassettes (Captures/layer-samples/, each with its repository,
/// path and commit), as they came from CloudFront, Cloudflare, Fastly, Akamai, Google's front
/// end, Envoy, Istio, Kong, S3 and API Gateway.
final class LayerSampleTests: XCTestCase {
    struct Sample {
        var file: String
        var product: String
        var source: String
        var status: Int
        var headers: HTTPHeaderFields
        var body: [UInt8]
    }

    func samples() throws -> [Sample] {
        let folder = Support.packageRoot.appendingPathComponent("Captures/layer-samples")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted().map { name in
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) as? [String: Any])
            let pairs = try XCTUnwrap(json["headers"] as? [[String]]).map { ($0[0], $0[1]) }
            return Sample(file: name, product: try XCTUnwrap(json["product"] as? String), source: try XCTUnwrap(json["source"] as? String),
                          status: try XCTUnwrap(json["status"] as? Int), headers: HTTPHeaderFields(pairs),
                          body: Array(((json["body"] as? String) ?? "").utf8))
        }
    }

    func testEveryRecordedAnswerNamesItsProduct() throws {
        let all = try samples()
        XCTAssertGreaterThanOrEqual(Set(all.map(\.product)).count, 10)
        for sample in all {
            XCTAssertNotNil(LayerCatalogue.layer(id: sample.product), "\(sample.file): \(sample.product) is not in the catalogue")
            XCTAssertFalse(sample.source.isEmpty)
            let seen = LayerCatalogue.identify(sample.headers, body: sample.body)
            XCTAssertTrue(seen.contains { $0.id == sample.product }, "\(sample.file) (\(sample.source)): saw \(seen.map(\.id))")
            // A proxied 200 is not a front product's own answer (S3, a server, makes all of its own).
            if sample.status == 200, LayerCatalogue.layer(id: sample.product)?.layer != .server {
                XCTAssertFalse(seen.first { $0.id == sample.product }?.answered == true, "\(sample.file): \(seen)")
            }
        }
    }

    /// Products whose clue is the Server header are named by it in the layer inference too.
    func testServerHeadersOfRealAnswersNameTheProduct() throws {
        for sample in try samples() {
            guard let server = sample.headers.first(named: "Server"), let known = LayerCatalogue.layer(serverHeader: server) else { continue }
            let seen = LayerCatalogue.identify(sample.headers, body: sample.body).map(\.id)
            XCTAssertTrue(seen.contains(known.id), "\(sample.file): Server \(server) names \(known.id), identify saw \(seen)")
        }
    }
}

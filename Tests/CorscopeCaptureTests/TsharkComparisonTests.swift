import CorscopeCapture
import XCTest

/// Our segments against tshark's on every public capture libpcap reads to the end.
final class TsharkComparisonTests: XCTestCase {
    func testEveryPublicCaptureMatchesTshark() throws {
        var compared = 0
        for path in try PublicCaptures.all() {
            let name = (path as NSString).lastPathComponent
            let decoded = try decodeCapture(path)
            // pcapng files mixing link types stop early in libpcap (see CaptureFileReaderTests).
            guard decoded.outcome == .complete else { continue }
            // Link types outside the decoder's set (802.11+radiotap, NFLOG): every packet counted.
            if [127, 239].contains(decoded.linkType) {
                XCTAssertTrue(decoded.segments.isEmpty, name)
                XCTAssertEqual(decoded.statistics.unsupportedLinkType, decoded.packets.count, name)
                continue
            }
            let expected = try Tshark.segments(path)
            let ours = decoded.segments.map(TsharkSegment.init)
            if ours != expected {
                let firstDifference = zip(ours, expected).first { $0 != $1 }
                XCTFail("\(name): \(ours.count) segments, tshark \(expected.count); first difference: \(String(describing: firstDifference))")
            }
            XCTAssertTrue(decoded.statistics.dispositionsAddUp, name)
            compared += 1
        }
        print("compared \(compared) captures with tshark")
    }
}

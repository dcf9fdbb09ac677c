import CorscopeCapture
import CorscopeTestSupport
import XCTest

/// Inputs the fuzz targets (Fuzz/Targets) found failing, as plain tests. Each input is also in
/// Fuzz/regressions/<Target>/, which `make fuzz` and `make fuzz-smoke` replay as seeds.
final class FuzzRegressionTests: XCTestCase {
    /// Fuzz/regressions/FuzzCaptureFile/crash-pcapng-year-539000: a pcapng whose packet has a
    /// 64-bit microsecond timestamp of 0xd0117270ec0660e4, 17,007,387,578,670 s: year 540,000,
    /// which no report can write as RFC 3339. It is held at the last time RFC 3339 can write.
    func testACaptureTimeBeyondTheYear9999IsHeldAtItsEnd() throws {
        let reader = try CaptureFileReader(path: PackagePaths.path("Fuzz/regressions/FuzzCaptureFile/crash-pcapng-year-539000"))
        var times: [Timestamp] = []
        _ = reader.forEachPacket { times.append($0.time) }
        XCTAssertFalse(times.isEmpty)
        XCTAssertTrue(times.contains(Timestamp.latest), "\(times)")
        for time in times {
            XCTAssertTrue(time >= Timestamp.earliest && time <= Timestamp.latest, "\(time)")
            XCTAssertTrue((0..<1_000_000_000).contains(time.nanoseconds), "\(time)")
        }
    }

    func testCaptureTimesAreHeldInsideTheYears0000To9999() {
        XCTAssertEqual(Timestamp(captureSeconds: 1_700_000_000, fraction: 1_500_000_000),
                       Timestamp(seconds: 1_700_000_001, nanoseconds: 500_000_000))
        XCTAssertEqual(Timestamp(captureSeconds: 253_402_300_799, fraction: 999_999_999), Timestamp.latest)
        XCTAssertEqual(Timestamp(captureSeconds: 253_402_300_800, fraction: 0), Timestamp.latest)
        XCTAssertEqual(Timestamp(captureSeconds: Int64.max, fraction: Int64.max), Timestamp.latest)
        XCTAssertEqual(Timestamp(captureSeconds: -62_167_219_201, fraction: 0), Timestamp.earliest)
        XCTAssertEqual(Timestamp(captureSeconds: Int64.min, fraction: -1), Timestamp.earliest)
        XCTAssertEqual(Timestamp(captureSeconds: -62_167_219_200, fraction: 0), Timestamp.earliest)
    }
}

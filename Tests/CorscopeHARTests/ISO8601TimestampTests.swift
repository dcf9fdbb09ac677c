import CorscopeCapture
import CorscopeHAR
import XCTest

final class ISO8601TimestampTests: XCTestCase {
    func testFormatsSeenInHARs() {
        // Chrome: UTC with milliseconds.
        XCTAssertEqual(ISO8601Timestamp.parse("2022-08-07T16:56:53.913Z"), Timestamp(seconds: 1_659_891_413, nanoseconds: 913_000_000))
        // Firefox / Charles: local time with an offset.
        XCTAssertEqual(ISO8601Timestamp.parse("2023-03-29T16:58:59.303-07:00"), Timestamp(seconds: 1_680_134_339, nanoseconds: 303_000_000))
        XCTAssertEqual(ISO8601Timestamp.parse("2016-01-24T15:42:23.303+01:00"), Timestamp(seconds: 1_453_646_543, nanoseconds: 303_000_000))
        XCTAssertEqual(ISO8601Timestamp.parse("2016-01-24T15:42:23.303+0100"), Timestamp(seconds: 1_453_646_543, nanoseconds: 303_000_000))
        // No fraction, many fraction digits, no offset (read as UTC).
        XCTAssertEqual(ISO8601Timestamp.parse("1970-01-01T00:00:00Z"), .zero)
        XCTAssertEqual(ISO8601Timestamp.parse("2000-02-29T12:00:00.123456789123Z"), Timestamp(seconds: 951_825_600, nanoseconds: 123_456_789))
        XCTAssertEqual(ISO8601Timestamp.parse("2000-02-29T12:00:00.5"), Timestamp(seconds: 951_825_600, nanoseconds: 500_000_000))
        XCTAssertEqual(ISO8601Timestamp.parse("1969-12-31T23:59:59Z"), Timestamp(seconds: -1, nanoseconds: 0))
    }

    func testRejectsNonDates() {
        for text in ["", "2022-08-07", "2022-13-07T00:00:00Z", "2022-08-07T25:00:00Z", "2022-08-07T16:56:53.Z",
                     "2022-08-07T16:56:53Zjunk", "2022-08-07T16:56:53+1", "yesterday"] {
            XCTAssertNil(ISO8601Timestamp.parse(text), text)
        }
    }
}

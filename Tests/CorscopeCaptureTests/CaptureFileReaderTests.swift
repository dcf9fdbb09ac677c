import CorscopeCapture
import Foundation
import XCTest

final class CaptureFileReaderTests: XCTestCase {
    // MARK: Formats

    func testNanosecondBigEndianPcapKeepsExactNanoseconds() throws {
        let path = try PublicCaptures.path("ppp__nanosecs_big_endian.pcap")
        let reader = try CaptureFileReader(path: path)
        XCTAssertEqual(reader.linkType, LinkType.ethernet)
        XCTAssertFalse(reader.isGzipCompressed)
        var times: [Timestamp] = []
        let outcome = reader.forEachPacket { times.append($0.time) }
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(times.count, 10)
        // tshark -T fields -e frame.time_epoch: 1766361926.167647291, 1766361926.167658091
        XCTAssertEqual(times.first, Timestamp(seconds: 1_766_361_926, nanoseconds: 167_647_291))
        XCTAssertEqual(times.dropFirst().first, Timestamp(seconds: 1_766_361_926, nanoseconds: 167_658_091))
        XCTAssertEqual(reader.packetsRead, 10)
    }

    func testMicrosecondPcapIsScaledToNanoseconds() throws {
        let (packets, outcome) = try readPackets(try PublicCaptures.path("zeek__http_get.pcap"))
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(packets.count, 14)
        // tshark: 1362692526.869344000
        XCTAssertEqual(packets.first?.time, Timestamp(seconds: 1_362_692_526, nanoseconds: 869_344_000))
        XCTAssertEqual(packets.first?.bytes.count, 78)
    }

    func testPcapngWithOneLinkTypeReadsCompletely() throws {
        let (packets, outcome) = try readPackets(try PublicCaptures.path("zeek__http_cooper-grill-dvwa.pcapng"))
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(packets.count, 64)  // capinfos: 64 packets
    }

    /// A second section header (two pcapng files concatenated, as `cat` makes them) is followed.
    func testPcapngWithTwoSectionsReadsBoth() throws {
        let original = try PublicCaptures.path("zeek__http_cooper-grill-dvwa.pcapng")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
        let twoSections = directory.appendingPathComponent("two-sections.pcapng")
        try (bytes + bytes).write(to: twoSections)
        let single = try readPackets(original)
        let (packets, outcome) = try readPackets(twoSections.path)
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(packets, single.packets + single.packets)
    }

    /// libpcap refuses pcapng files whose interfaces have different link types; the reader must
    /// hand over what came before and report libpcap's reason instead of failing to open.
    func testPcapngMixingLinkTypesStopsWithLibpcapsReason() throws {
        let (packets, outcome) = try readPackets(try PublicCaptures.path("ppp__pcapng-example.pcapng"))
        // The 59 Ethernet packets precede the Linux-cooked interface's description block.
        XCTAssertEqual(packets.count, 59)
        XCTAssertTrue(packets.allSatisfy { $0.linkType == LinkType.ethernet })
        guard case .readError(let message) = outcome else { return XCTFail("expected a read error, got \(outcome)") }
        XCTAssertTrue(message.contains("different from the type of the first interface"), message)

        let (manyPackets, manyOutcome) = try readPackets(try PublicCaptures.path("ppp__many_interfaces-1.pcapng"))
        XCTAssertEqual(manyPackets.count, 0)
        XCTAssertNotNil(manyOutcome.message)
        XCTAssertNotEqual(manyOutcome, .complete)
    }

    // MARK: Gzip

    func testPublishedGzipCaptureIsStreamed() throws {
        let path = try PublicCaptures.path("zeek__http_1000-requests-one-dropped-response.pcap.gz")
        let reader = try CaptureFileReader(path: path)
        XCTAssertTrue(reader.isGzipCompressed)
        XCTAssertEqual(reader.linkType, LinkType.ethernet)
        var count = 0
        var progress: [Int64] = []
        let outcome = reader.forEachPacket { _ in
            count += 1
            if count % 500 == 0 { progress.append(reader.bytesConsumed) }
        }
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(count, 4102)  // tshark counts 4102 frames
        XCTAssertEqual(progress, progress.sorted(), "progress must not go backwards")
        XCTAssertGreaterThan(progress.first ?? 0, 0)
        XCTAssertLessThanOrEqual(progress.last ?? .max, reader.fileSize)
        XCTAssertEqual(reader.bytesConsumed, reader.fileSize)
    }

    /// Gzip is recognised by its magic bytes: a compressed copy named `.pcap` reads the same.
    func testGzipCopyYieldsIdenticalPackets() throws {
        let original = try PublicCaptures.path("zeek__wikipedia.pcap")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let compressed = directory.appendingPathComponent("wikipedia-compressed.pcap").path
        try gzip(original, to: compressed)

        let plain = try readPackets(original)
        let reader = try CaptureFileReader(path: compressed)
        XCTAssertTrue(reader.isGzipCompressed)
        var unpacked: [PacketRecord] = []
        let outcome = reader.forEachPacket { unpacked.append(PacketRecord($0)) }
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(plain.outcome, .complete)
        XCTAssertEqual(unpacked.count, 136)
        XCTAssertEqual(unpacked, plain.packets)
        XCTAssertLessThan(reader.fileSize, Int64(try Data(contentsOf: URL(fileURLWithPath: original)).count))
    }

    func testCutGzipCaptureDeliversAPrefixAndReportsTruncation() throws {
        let original = try PublicCaptures.path("zeek__wikipedia.pcap")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let compressed = directory.appendingPathComponent("whole.pcap.gz").path
        try gzip(original, to: compressed)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: compressed))
        let cut = directory.appendingPathComponent("cut.pcap.gz")
        try bytes.prefix(bytes.count * 2 / 3).write(to: cut)

        let plain = try readPackets(original)
        let (packets, outcome) = try readPackets(cut.path)
        guard case .truncated = outcome else { return XCTFail("expected truncation, got \(outcome)") }
        XCTAssertGreaterThan(packets.count, 10)
        XCTAssertLessThan(packets.count, plain.packets.count)
        XCTAssertEqual(packets, Array(plain.packets.prefix(packets.count)))
    }

    // MARK: Damaged files

    func testCutFileDeliversEveryWholePacketThenTruncation() throws {
        let original = try PublicCaptures.path("zeek__http_get.pcap")
        let plain = try readPackets(original)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lastPacketLength = plain.packets.last!.bytes.count
        // Cut inside the last packet's data, and inside its 16-byte record header.
        for cutBytes in [lastPacketLength / 2, lastPacketLength + 8] {
            let cut = directory.appendingPathComponent("cut-\(cutBytes).pcap")
            try bytes.dropLast(cutBytes).write(to: cut)
            let (packets, outcome) = try readPackets(cut.path)
            XCTAssertEqual(packets, Array(plain.packets.dropLast()), "cut \(cutBytes)")
            guard case .truncated(let message) = outcome else { XCTFail("expected truncation, got \(outcome)"); continue }
            XCTAssertTrue(message.contains("truncated"), message)
        }
        // Cut at a record boundary: a shorter but complete file.
        let boundary = directory.appendingPathComponent("boundary.pcap")
        try bytes.dropLast(lastPacketLength + 16).write(to: boundary)
        let (packets, outcome) = try readPackets(boundary.path)
        XCTAssertEqual(packets.count, 13)
        XCTAssertEqual(outcome, .complete)
    }

    func testCorruptRecordMidFileDeliversEarlierPacketsThenAnError() throws {
        let original = try PublicCaptures.path("zeek__http_get.pcap")
        let plain = try readPackets(original)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
        // Record headers follow the 24-byte file header; each is 16 bytes plus its captured bytes.
        let fifthRecord = 24 + plain.packets.prefix(4).reduce(0) { $0 + 16 + $1.bytes.count }
        // This file is little-endian: captured length at +8, set absurdly large.
        bytes.replaceSubrange((fifthRecord + 8)..<(fifthRecord + 12), with: [0xF0, 0xFF, 0xFF, 0x7F])
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corrupt = directory.appendingPathComponent("corrupt-record.pcap")
        try Data(bytes).write(to: corrupt)
        let (packets, outcome) = try readPackets(corrupt.path)
        XCTAssertEqual(packets, Array(plain.packets.prefix(4)))
        guard case .readError(let message) = outcome else { return XCTFail("expected a read error, got \(outcome)") }
        XCTAssertFalse(message.isEmpty)
        print("corrupt record: \(message)")
    }

    func testCutFileHeaderIsAnOpenError() throws {
        let original = try PublicCaptures.path("zeek__http_get.pcap")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cut = directory.appendingPathComponent("header-only.pcap")
        try Data(contentsOf: URL(fileURLWithPath: original)).prefix(10).write(to: cut)
        XCTAssertThrowsError(try CaptureFileReader(path: cut.path)) { error in
            let captureError = error as? CaptureError
            XCTAssertEqual(captureError?.kind, .notACapture)
            XCTAssertTrue(String(describing: error).contains(cut.path))
        }
    }

    func testNonCaptureFilesGiveOneLineErrorsNamingThePath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededGenerator(seed: 42)
        let random = directory.appendingPathComponent("random.pcap")
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: random)
        let text = directory.appendingPathComponent("notes.txt")
        try Data("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".utf8).write(to: text)
        let empty = directory.appendingPathComponent("empty.pcap")
        try Data().write(to: empty)
        let gzippedText = directory.appendingPathComponent("notes.txt.gz")
        try gzip(text.path, to: gzippedText.path)

        for url in [random, text, empty, gzippedText] {
            XCTAssertThrowsError(try CaptureFileReader(path: url.path)) { error in
                guard let error = error as? CaptureError else { return XCTFail("not a CaptureError: \(error)") }
                XCTAssertEqual(error.kind, .notACapture, url.lastPathComponent)
                XCTAssertTrue(error.description.hasPrefix(url.path), error.description)
                XCTAssertFalse(error.reason.isEmpty)
                XCTAssertFalse(error.description.contains("\n"))
                print("error for \(url.lastPathComponent): \(error)")
            }
        }
    }

    func testMissingFileAndDirectoryAreUnreadable() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.pcap").path
        XCTAssertThrowsError(try CaptureFileReader(path: missing)) { error in
            let error = error as? CaptureError
            XCTAssertEqual(error?.kind, .unreadable)
            XCTAssertEqual(error?.description, "\(missing): cannot open: No such file or directory")
        }
        XCTAssertThrowsError(try CaptureFileReader(path: directory.path)) { error in
            XCTAssertEqual((error as? CaptureError)?.kind, .unreadable)
        }
    }

    // MARK: Progress and streaming

    func testProgressReachesTheFileSize() throws {
        let path = try PublicCaptures.path("zeek__http_methods.pcap")
        let reader = try CaptureFileReader(path: path)
        XCTAssertEqual(reader.fileSize, Int64(try Data(contentsOf: URL(fileURLWithPath: path)).count))
        var samples: [Int64] = []
        let outcome = reader.forEachPacket { _ in samples.append(reader.bytesConsumed) }
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(samples, samples.sorted())
        XCTAssertEqual(reader.bytesConsumed, reader.fileSize)
    }

    func testThrowingBodyStopsAndReadingResumesWithTheNextPacket() throws {
        struct Stop: Error {}
        let path = try PublicCaptures.path("zeek__http_get.pcap")
        let all = try readPackets(path).packets
        let reader = try CaptureFileReader(path: path)
        var first: [PacketRecord] = []
        XCTAssertThrowsError(try reader.forEachPacket { packet in
            first.append(PacketRecord(packet))
            if first.count == 5 { throw Stop() }
        })
        var rest: [PacketRecord] = []
        XCTAssertEqual(reader.forEachPacket { rest.append(PacketRecord($0)) }, .complete)
        XCTAssertEqual(first + rest, all)
    }
}

/// Compresses a file with /bin/gzip (a test-time tool, like tshark).
func gzip(_ source: String, to destination: String) throws {
    guard let executable = ["/bin/gzip", "/usr/bin/gzip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("gzip is not installed")
    }
    let outcome = try ChildProcess.run(executable, ["-c", source], stdout: .file(destination), timeout: 120)
    assertExit(outcome, 0)
}

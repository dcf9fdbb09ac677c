import CorscopeCapture
import CorscopeReassembly
import Foundation
import XCTest

/// The byte streams we reassemble, checked against tshark's `follow,tcp,raw` on the same captures.
final class TsharkFollowTests: XCTestCase {
    func testStreamsEqualTsharkFollowOnEveryBundledCapture() throws {
        let tshark = try Tshark.locate()
        var captures: [String] = []
        for folder in ["Captures", "Captures/chromium", "Captures/layers"] {
            captures += try FileManager.default.contentsOfDirectory(atPath: TestCaptures.path(folder))
                .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") || $0.hasSuffix(".gz") }
                .sorted().map { folder + "/" + $0 }
        }
        XCTAssertGreaterThanOrEqual(captures.count, 8)
        for relative in captures {
            let capture = relative
            let factory = RecordingFactory()
            let assembler = TCPAssembler(factory: factory)
            assembler.process(try TestCaptures.segments(of: relative))
            assembler.flushAll()

            let followed = try Tshark.follow(tshark, file: TestCaptures.path(relative))
            var compared = 0
            for stream in followed where !(stream.bytes[0].isEmpty && stream.bytes[1].isEmpty) {
                let matches = factory.streams.filter {
                    Set([$0.0.client.description, $0.0.server.description]) == Set(stream.nodes)
                }
                XCTAssertEqual(matches.count, 1, "\(capture): tshark stream \(stream.nodes) has no single reassembled connection")
                guard let (info, recorded) = matches.first else { continue }
                let clientIsNode0 = info.client.description == stream.nodes[0]
                assertSameBytes(recorded.bytes(.clientToServer), stream.bytes[clientIsNode0 ? 0 : 1])
                assertSameBytes(recorded.bytes(.serverToClient), stream.bytes[clientIsNode0 ? 1 : 0])
                compared += 1
            }
            XCTAssertGreaterThan(compared, 0, "\(capture): nothing compared")
        }
    }
}

enum Tshark {
    struct FollowedStream {
        var nodes: [String]
        var bytes: [[UInt8]] = [[], []]
    }

    static func locate() throws -> String { try ExternalTool.tshark() }

    static func run(_ tshark: String, _ arguments: [String]) throws -> String {
        try ExternalTool.output(of: tshark, arguments)
    }

    static func follow(_ tshark: String, file: String) throws -> [FollowedStream] {
        let ids = Set(try run(tshark, ["-r", file, "-T", "fields", "-e", "tcp.stream"])
            .split(separator: "\n").compactMap { Int($0) }).sorted()
        guard !ids.isEmpty else { return [] }
        let text = try run(tshark, ["-r", file, "-q"] + ids.flatMap { ["-z", "follow,tcp,raw,\($0)"] })
        var streams: [FollowedStream] = []
        var current: FollowedStream?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Filter:") {
                if let done = current { streams.append(done) }
                current = FollowedStream(nodes: [])
            } else if line.hasPrefix("Node 0: ") || line.hasPrefix("Node 1: ") {
                current?.nodes.append(String(line.dropFirst(8)))
            } else if line.hasPrefix("===") || line.hasPrefix("Follow:") || line.isEmpty {
                continue
            } else if current != nil {
                let direction = line.hasPrefix("\t") ? 1 : 0
                current!.bytes[direction] += hexBytes(line.trimmingCharacters(in: .whitespaces))
            }
        }
        if let done = current { streams.append(done) }
        return streams
    }

    private static func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            default: continue
            }
            if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
        }
        return bytes
    }
}

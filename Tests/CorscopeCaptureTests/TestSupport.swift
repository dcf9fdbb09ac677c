import CorscopeCapture
import Foundation
@_exported import CorscopeTestSupport
import XCTest

/// The public captures live next to the repository, never inside it.
enum PublicCaptures {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // CorscopeCaptureTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/public-captures")

    /// The path of a public capture, or a visible skip when the folder is not there.
    static func path(_ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("public capture \(name) not found in \(directory.path): run with ../shared/public-captures present")
        }
        return url.path
    }

    /// Every capture file (pcap, pcapng, gz) in the folder, or a visible skip.
    static func all() throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw XCTSkip("public captures folder \(directory.path) not found")
        }
        return names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") || $0.hasSuffix(".pcap.gz") }
            .sorted()
            .map { directory.appendingPathComponent($0).path }
    }
}

/// A segment with its bytes copied out, for comparing.
struct SegmentRecord: Equatable, CustomStringConvertible {
    var time: Timestamp
    var source: String
    var destination: String
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: UInt8
    var payload: [UInt8]

    init(_ segment: TCPSegment) {
        time = segment.time
        source = segment.source.description
        destination = segment.destination.description
        sequence = segment.sequence
        acknowledgment = segment.acknowledgment
        flags = segment.flags.rawValue
        payload = Array(segment.payload)
    }

    var description: String { "\(time) \(source) > \(destination) seq \(sequence) ack \(acknowledgment) flags \(flags) len \(payload.count)" }
}

/// A packet with its bytes copied out.
struct PacketRecord: Equatable {
    var time: Timestamp
    var originalLength: Int
    var bytes: [UInt8]
    var linkType: Int32

    init(_ packet: borrowing RawPacket) {
        time = packet.time
        originalLength = packet.originalLength
        bytes = Array(packet.data)
        linkType = packet.linkType
    }

    init(time: Timestamp, bytes: [UInt8], linkType: Int32, originalLength: Int? = nil) {
        self.time = time
        self.bytes = bytes
        self.linkType = linkType
        self.originalLength = originalLength ?? bytes.count
    }

    /// Hands the packet to `body` as libpcap would.
    func withRawPacket<R>(_ body: (RawPacket) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { data in
            try body(RawPacket(time: time, originalLength: originalLength, data: data, linkType: linkType))
        }
    }
}

extension PacketDecoder {
    /// Decodes a copied packet and returns the segments it yields.
    func decodeRecord(_ record: PacketRecord) -> [SegmentRecord] {
        var segments: [SegmentRecord] = []
        record.withRawPacket { packet in decode(packet) { segments.append(SegmentRecord($0)) } }
        return segments
    }
}

struct DecodedCapture {
    var packets: [PacketRecord] = []
    var segments: [SegmentRecord] = []
    var statistics = CaptureStatistics()
    var outcome = ReadOutcome.complete
    var linkType: Int32 = -1
}

func readPackets(_ path: String) throws -> (packets: [PacketRecord], outcome: ReadOutcome) {
    let reader = try CaptureFileReader(path: path)
    var packets: [PacketRecord] = []
    let outcome = reader.forEachPacket { packets.append(PacketRecord($0)) }
    return (packets, outcome)
}

func decodeCapture(_ path: String) throws -> DecodedCapture {
    let reader = try CaptureFileReader(path: path)
    let decoder = PacketDecoder()
    var result = DecodedCapture()
    result.linkType = reader.linkType
    result.outcome = reader.forEachPacket { packet in
        result.packets.append(PacketRecord(packet))
        decoder.decode(packet) { result.segments.append(SegmentRecord($0)) }
    }
    decoder.finish()
    result.statistics = decoder.statistics
    return result
}

/// What tshark says about one TCP segment, in the same shape as our output (`payloadLength` is
/// tcp.len).
struct TsharkSegment: Equatable, CustomStringConvertible {
    var time: String
    var source: String
    var destination: String
    var sequence: UInt32
    var acknowledgment: UInt32
    var payloadLength: Int

    var description: String { "\(time) \(source) > \(destination) seq \(sequence) ack \(acknowledgment) len \(payloadLength)" }

    init(time: String, source: String, destination: String, sequence: UInt32, acknowledgment: UInt32, payloadLength: Int) {
        self.time = time
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.payloadLength = payloadLength
    }

    init(_ record: SegmentRecord) {
        self.init(time: record.time.description, source: record.source, destination: record.destination,
                  sequence: record.sequence, acknowledgment: record.acknowledgment, payloadLength: record.payload.count)
    }
}

enum Tshark {
    static let executable: String? = ["/usr/bin/tshark", "/usr/local/bin/tshark"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// TCP segments tshark finds (ICMP errors quoting TCP headers left out), or a visible skip
    /// when tshark is not installed.
    static func segments(_ path: String) throws -> [TsharkSegment] {
        guard let executable else { throw XCTSkip("tshark is not installed: comparison with tshark skipped") }
        // Bounded: a tshark still running after its deadline is killed and the test fails saying so.
        let text = try ExternalTool.output(of: executable, [
            "-r", path, "-Y", "tcp && !icmp && !icmpv6", "-T", "fields", "-E", "separator=|",
            "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
            "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw",
            "-e", "tcp.len",
        ])
        return text.split(separator: "\n").map { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let isV6 = f[1].isEmpty
            let source = isV6 ? "[\(f[2])]:\(f[3])" : "\(f[1]):\(f[3])"
            let destination = isV6 ? "[\(f[5])]:\(f[6])" : "\(f[4]):\(f[6])"
            return TsharkSegment(time: f[0], source: source, destination: destination,
                                 sequence: UInt32(f[7]) ?? 0, acknowledgment: UInt32(f[8]) ?? 0,
                                 payloadLength: Int(f[9]) ?? -1)
        }
    }
}


func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-capture-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

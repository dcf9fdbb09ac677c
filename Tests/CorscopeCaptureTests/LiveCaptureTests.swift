import CorscopeCapture
import Foundation
import XCTest

/// `LiveCapture` on the loopback interface with real traffic: a curl request to a socket the
/// test listens on. Needs root or CAP_NET_RAW (CI runs as root); without it the tests skip and
/// say why.
final class LiveCaptureTests: XCTestCase {
    /// Opens `lo`, or skips when this process may not capture.
    private func openLoopback(filter: String?) throws -> LiveCapture {
        do {
            return try LiveCapture(configuration: .init(interface: "lo", filter: filter))
        } catch let error as LiveCaptureError where error.kind == .permissionDenied {
            throw XCTSkip("live capture needs root or CAP_NET_RAW (CI runs as root): \(error)")
        }
    }

    func testCapturesACurlRequestThroughTheFilterWithNanosecondTimestamps() throws {
        let listener = try LoopbackListener()
        let capture = try openLoopback(filter: "tcp port \(listener.port)")
        XCTAssertEqual(capture.linkType, LinkType.ethernet, "Linux presents lo as Ethernet")

        let before = Date().timeIntervalSince1970
        let curl = try Curl.start(["-s", "-m", "1", "http://127.0.0.1:\(listener.port)/live-capture-test"])
        defer { curl.stop() }

        // Packets arrive while curl runs; stop once the request line and the handshake were seen
        // (bounded). Loopback can hand the capture the request before the handshake's last ACK.
        var packets: [(time: Timestamp, bytes: [UInt8])] = []
        let deadline = Date().addingTimeInterval(10)
        let requestLine = Array("GET /live-capture-test".utf8)
        while Date() < deadline && (packets.count < 4 || !packets.contains(where: { $0.bytes.firstRange(of: requestLine) != nil })) {
            let outcome = capture.dispatch(timeout: 0.2) { packet in
                packets.append((packet.time, Array(packet.data)))
            }
            guard case .packets = outcome else { return XCTFail("dispatch ended early: \(outcome)") }
        }
        XCTAssertTrue(packets.contains { $0.bytes.firstRange(of: requestLine) != nil }, "the request's payload was captured")
        XCTAssertGreaterThanOrEqual(packets.count, 4, "handshake and request at least")

        let decoder = PacketDecoder()
        var ports: Set<UInt16> = []
        for packet in packets {
            packet.bytes.withUnsafeBytes { raw in
                let rawPacket = RawPacket(time: packet.time, originalLength: raw.count, data: raw, linkType: capture.linkType)
                decoder.decode(rawPacket) { segment in
                    ports.insert(segment.source.port)
                    ports.insert(segment.destination.port)
                }
            }
        }
        XCTAssertTrue(ports.contains(listener.port), "every packet passed the filter for port \(listener.port)")
        XCTAssertEqual(decoder.statistics.tcpPackets, packets.count, "the filter let through TCP only")

        let first = try XCTUnwrap(packets.first).time
        let seconds = Double(first.seconds) + Double(first.nanoseconds) / 1e9
        XCTAssertEqual(seconds, before, accuracy: 10, "kernel timestamps are wall-clock time")
        XCTAssertTrue(packets.contains { $0.time.nanoseconds % 1000 != 0 }, "nanosecond precision, not microseconds scaled up")

        let statistics = capture.statistics()
        XCTAssertGreaterThanOrEqual(statistics.received, UInt64(packets.count))
        XCTAssertEqual(statistics.dropped, 0)
    }

    func testBreakLoopFromAnotherThreadEndsAWaitingDispatch() throws {
        let capture = try openLoopback(filter: "tcp port 9")  // nothing talks on the discard port
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { capture.breakLoop() }
        var outcome = LiveDispatchOutcome.packets(0)
        while case .packets = outcome, Date().timeIntervalSince(started) < 10 {
            outcome = capture.dispatch(timeout: 5) { _ in }
        }
        XCTAssertEqual(outcome, .interrupted)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the wait was woken, not timed out")
        XCTAssertEqual(capture.dispatch(timeout: 1) { _ in }, .interrupted, "stays interrupted")
    }

    func testAnIdleDispatchReturnsAfterItsTimeout() throws {
        let capture = try openLoopback(filter: "tcp port 9")
        let started = Date()
        XCTAssertEqual(capture.dispatch(timeout: 0.2) { _ in }, .packets(0))
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "immediate mode must not block an idle loop")
    }

    func testABadFilterIsAOneLineErrorNamingTheFilter() throws {
        _ = try openLoopback(filter: nil)
        XCTAssertThrowsError(try LiveCapture(configuration: .init(interface: "lo", filter: "tcp port"))) { error in
            let captureError = error as? LiveCaptureError
            XCTAssertEqual(captureError?.kind, .badFilter)
            let text = "\(error)"
            XCTAssertTrue(text.contains("\"tcp port\""), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }

    func testANonexistentInterfaceIsNamedInTheError() throws {
        _ = try openLoopback(filter: nil)
        XCTAssertThrowsError(try LiveCapture(configuration: .init(interface: "corscope-nope0"))) { error in
            XCTAssertEqual((error as? LiveCaptureError)?.kind, .noSuchInterface, "\(error)")
            XCTAssertTrue("\(error)".contains("corscope-nope0"), "\(error)")
        }
    }

    func testTheRingWriterRotatesAndItsFilesReadBackAsCaptures() throws {
        let listener = try LoopbackListener()
        let capture = try openLoopback(filter: "tcp port \(listener.port)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("corscope-ring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = directory.appendingPathComponent("ring.pcap").path
        let ring = try PcapRingWriter(capture: capture, basePath: base, maximumFileBytes: 4096, fileCount: 100)

        // Enough payload to fill a few 4 KiB files.
        let curl = try Curl.start(["-s", "-m", "1", "-H", "X-Padding: \(String(repeating: "p", count: 6000))",
                                   "http://127.0.0.1:\(listener.port)/ring"])
        defer { curl.stop() }
        var written: [Timestamp] = []
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && (ring.currentIndex < 1 || written.count < 4) {
            _ = capture.dispatch(timeout: 0.2) { packet in
                ring.write(packet)
                written.append(packet.time)
            }
        }
        ring.flush()
        XCTAssertGreaterThanOrEqual(ring.currentIndex, 1, "a 6 KB request cannot share a 4 KiB file with the handshake")

        var readBack: [Timestamp] = []
        for index in 0...ring.currentIndex {
            let reader = try CaptureFileReader(path: PcapRingWriter.path(base, index: index))
            XCTAssertEqual(reader.linkType, capture.linkType)
            XCTAssertEqual(reader.forEachPacket { readBack.append($0.time) }, .complete)
        }
        XCTAssertEqual(readBack, written, "every packet, in order, with its nanosecond timestamp")
    }
}

/// A TCP socket listening on 127.0.0.1 that never answers: the kernel completes handshakes, so a
/// client sends its request and waits, which is all a capture test needs.
final class LoopbackListener {
    let port: UInt16
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 8) == 0 else {
            close(descriptor)
            throw XCTSkip("cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(descriptor) }
}

/// curl as a bounded subprocess.
struct Curl {
    let child: ChildProcess

    static func start(_ arguments: [String]) throws -> Curl {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            throw XCTSkip("curl is not installed at /usr/bin/curl")
        }
        return Curl(child: try ChildProcess("/usr/bin/curl", arguments, stdout: .discard, stderr: .discard))
    }

    /// Ends curl if it still runs (SIGTERM, then SIGKILL after a few seconds) and reaps it.
    func stop() {
        child.stop(SIGTERM, within: 5)
    }
}

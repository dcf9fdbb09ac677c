import CorscopeCapture
import Foundation
import XCTest

/// Throughput of the reader alone and of reader + decoder on a capture named by the environment
/// variable CORSCOPE_BENCH_CAPTURE; skipped otherwise. Meaningful only in a release build:
/// `CORSCOPE_BENCH_CAPTURE=/path/big.pcap swift test -c release --filter ThroughputBenchmark`.
final class ThroughputBenchmark: XCTestCase {
    func testThroughput() throws {
        guard let path = ProcessInfo.processInfo.environment["CORSCOPE_BENCH_CAPTURE"] else {
            throw XCTSkip("set CORSCOPE_BENCH_CAPTURE to a capture file to measure throughput")
        }
        let clock = ContinuousClock()
        for round in 1...3 {
            var packets = 0
            var bytes = 0
            let readerTime = try clock.measure {
                let reader = try CaptureFileReader(path: path)
                reader.forEachPacket { packet in
                    packets &+= 1
                    bytes &+= packet.capturedLength
                }
            }
            var segments = 0
            var payloadBytes = 0
            var statistics = CaptureStatistics()
            let pipelineTime = try clock.measure {
                let reader = try CaptureFileReader(path: path)
                let decoder = PacketDecoder()
                reader.forEachPacket { packet in
                    decoder.decode(packet) { segment in
                        segments &+= 1
                        payloadBytes &+= segment.payload.count
                    }
                }
                decoder.finish()
                statistics = decoder.statistics
            }
            let size = Double(try CaptureFileReader(path: path).fileSize)
            func rate(_ duration: Duration) -> String {
                let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                return String(format: "%.3f s, %.0f MB/s, %.2f Mpkt/s", seconds, size / seconds / 1e6, Double(packets) / seconds / 1e6)
            }
            print("round \(round): \(packets) packets, \(bytes) captured bytes, file \(Int(size)) bytes")
            print("  reader alone:     \(rate(readerTime))")
            print("  reader + decoder: \(rate(pipelineTime)) (\(segments) segments, \(payloadBytes) payload bytes)")
            XCTAssertEqual(statistics.packets, packets)
        }
    }
}

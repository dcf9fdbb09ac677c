import Foundation
import CorscopeCapture
import CorscopeReassembly
import XCTest

/// A TCP segment that owns its payload, so tests can reorder, duplicate and drop segments of a
/// real capture before feeding them to the assembler.
struct OwnedSegment {
    var time: Timestamp
    var source: Endpoint
    var destination: Endpoint
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: TCPFlags
    var payload: [UInt8]

    func withSegment<R>(_ body: (TCPSegment) -> R) -> R {
        payload.withUnsafeBytes { raw in
            body(TCPSegment(time: time, source: source, destination: destination, sequence: sequence,
                            acknowledgment: acknowledgment, flags: flags, window: 0, payload: raw))
        }
    }
}

enum TestCaptures {
    static let packageRoot = PackagePaths.root

    static func path(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

    /// Every TCP segment of a capture, owned.
    static func segments(of relativePath: String) throws -> [OwnedSegment] {
        let reader = try CaptureFileReader(path: path(relativePath))
        let decoder = PacketDecoder()
        var segments: [OwnedSegment] = []
        _ = reader.forEachPacket { packet in
            decoder.decode(packet) { s in
                segments.append(OwnedSegment(time: s.time, source: s.source, destination: s.destination,
                                             sequence: s.sequence, acknowledgment: s.acknowledgment,
                                             flags: s.flags, payload: Array(s.payload)))
            }
        }
        return segments
    }

    /// The segments of the connection that carries the most data segments.
    static func busiestConnection(of relativePath: String) throws -> [OwnedSegment] {
        let all = try segments(of: relativePath)
        var counts: [Set<Endpoint>: Int] = [:]
        for s in all where !s.payload.isEmpty { counts[[s.source, s.destination], default: 0] += 1 }
        guard let busiest = counts.max(by: { $0.value < $1.value })?.key else { return [] }
        return all.filter { Set([$0.source, $0.destination]) == busiest }
    }
}

/// Records what the assembler delivers, per direction.
final class RecordingStream: TCPStreamHandler {
    enum Event: Equatable {
        case data([UInt8])
        case gap(Int)
        case end(StreamEndReason)
    }

    var events: [[Event]] = [[], []]
    var times: [Timestamp] = []

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        // Adjacent data events are merged: segment boundaries are not part of the stream.
        if case .data(let previous)? = events[direction.rawValue].last {
            events[direction.rawValue][events[direction.rawValue].count - 1] = .data(previous + Array(data))
        } else {
            events[direction.rawValue].append(.data(Array(data)))
        }
        times.append(time)
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        events[direction.rawValue].append(.gap(length))
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        events[direction.rawValue].append(.end(reason))
    }

    /// The bytes of one direction, with gaps as nil runs.
    func bytes(_ direction: FlowDirection) -> [UInt8] {
        events[direction.rawValue].flatMap { event -> [UInt8] in
            if case .data(let bytes) = event { return bytes }
            return []
        }
    }
}

final class RecordingFactory: TCPStreamFactory {
    var streams: [(ConnectionInfo, RecordingStream)] = []
    var closed: [Int] = []

    func makeHandler(for connection: ConnectionInfo) -> any TCPStreamHandler {
        let stream = RecordingStream()
        streams.append((connection, stream))
        return stream
    }

    func connectionClosed(_ connection: ConnectionInfo, handler: any TCPStreamHandler) {
        closed.append(connection.id)
    }
}

extension TCPAssembler {
    func process(_ segments: [OwnedSegment]) {
        for segment in segments { segment.withSegment { process($0) } }
    }
}

import CorscopeCapture
import CorscopeHTTP
import CorscopeReassembly

/// Live packets → decoded segments → TCP reassembly → HTTP/1.x exchanges: the streaming half of
/// `ExchangePipeline` without a file. The caller owns the packet source and the clock.
///
/// Exchanges are handed to `onExchange` as soon as their response is complete; connections that
/// go quiet are closed only by `flushIdle(now:)`, which the caller runs on a timer (capture time
/// only advances when packets arrive, so an idle capture would otherwise never flush).
public final class LivePipeline {
    private let sink: ExchangeSink
    private let assembler: TCPAssembler
    private let decoder = PacketDecoder()

    public init(configuration: ExchangePipeline.Configuration = .init(), onExchange: @escaping (HTTPExchange) -> Void) {
        sink = ExchangeSink(configuration: configuration, onExchange: onExchange)
        assembler = TCPAssembler(factory: sink, configuration: configuration.assembler)
    }

    /// Feeds one captured frame.
    public func process(_ packet: borrowing RawPacket) {
        decoder.decode(packet) { segment in assembler.process(segment) }
    }

    /// Closes connections idle since `now - idleTimeout` and skips holes older than the hole
    /// timeout. Live packets carry kernel wall-clock timestamps, so `now` is the wall clock.
    public func flushIdle(now: Timestamp) {
        assembler.flush(olderThan: now)
        sink.releaseParked()
    }

    /// Ends every open connection: the end of the capture.
    public func finish() {
        decoder.finish()
        assembler.flushAll()
        sink.releaseParked(all: true)
    }

    public var openConnections: Int { assembler.openConnections }

    /// Counts so far, stage by stage.
    public var statistics: PipelineStatistics {
        var statistics = sink.statistics
        statistics.capture = decoder.statistics
        statistics.reassembly = assembler.statistics
        return statistics
    }
}

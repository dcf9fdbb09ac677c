import CPcap
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why live capture could not start. The `description` is one line, ready to print.
public struct LiveCaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Capturing needs root or CAP_NET_RAW.
        case permissionDenied
        /// The interface does not exist.
        case noSuchInterface
        /// The BPF filter does not compile (or the kernel refused it).
        case badFilter
        /// Anything else libpcap refused (interface down, buffer too large...).
        case other
    }

    public var kind: Kind
    public var interface: String
    /// libpcap's own wording.
    public var reason: String
    /// The filter text, for `badFilter`.
    public var filter: String?

    public init(kind: Kind, interface: String, reason: String, filter: String? = nil) {
        self.kind = kind
        self.interface = interface
        self.reason = reason
        self.filter = filter
    }

    public var description: String {
        let oneLineReason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        switch kind {
        case .permissionDenied:
            return "root or CAP_NET_RAW needed to capture on \(interface): \(oneLineReason)"
        case .noSuchInterface:
            return "no such interface \(interface): \(oneLineReason)"
        case .badFilter:
            return "bad capture filter \"\(filter ?? "")\": \(oneLineReason)"
        case .other:
            return "cannot capture on \(interface): \(oneLineReason)"
        }
    }
}

/// libpcap's kernel counters for a live capture (`pcap_stats`).
///
/// `received` counts what the kernel saw matching the filter (on loopback, where each packet
/// passes twice, only the arriving copy is let through); `dropped` is what the capture buffer had no room
/// for, `interfaceDropped` what the interface itself dropped: together, what the analysis missed.
public struct LiveCaptureStatistics: Sendable, Hashable {
    public var received: UInt64
    public var dropped: UInt64
    public var interfaceDropped: UInt64

    public init(received: UInt64 = 0, dropped: UInt64 = 0, interfaceDropped: UInt64 = 0) {
        self.received = received
        self.dropped = dropped
        self.interfaceDropped = interfaceDropped
    }
}

/// How one `dispatch` call ended.
public enum LiveDispatchOutcome: Equatable, Sendable {
    /// This many packets were delivered (0 when the wait timed out with nothing to read).
    case packets(Int)
    /// `breakLoop()` was called: stop reading.
    case interrupted
    /// Reading failed (interface went away...): libpcap's message.
    case failed(String)
}

/// Packets from a network interface as they arrive, through libpcap.
///
/// Opened in immediate mode (each packet is delivered as soon as it is seen, not when a kernel
/// block fills) with nanosecond timestamps, so live packets look exactly like packets read from a
/// file by `CaptureFileReader`.
///
/// Reading is non-blocking behind a `poll` with a timeout, because in immediate mode a blocking
/// `pcap_dispatch` on Linux waits forever on an idle interface: the caller's timers (idle
/// connection flushing, `--duration`) would never run. `breakLoop()` wakes the poll through a
/// pipe, so it is safe from another thread or a signal handler.
///
/// One thread reads (`dispatch`, `statistics`); any thread may call `breakLoop`. That split is
/// what the `@unchecked Sendable` promises.
public final class LiveCapture: @unchecked Sendable {
    public struct Configuration: Sendable, Hashable {
        public var interface: String
        /// BPF filter in tcpdump syntax; nil or empty captures everything.
        public var filter: String?
        /// Bytes kept of each packet; HTTP analysis needs whole packets, hence the large default.
        public var snapshotLength: Int32 = 262_144
        /// Kernel capture buffer. Linux defaults to 2 MiB, which bursts overflow.
        public var bufferSize: Int32 = 16 << 20
        public var promiscuous = false

        public init(interface: String, filter: String? = nil) {
            self.interface = interface
            self.filter = filter
        }
    }

    public let configuration: Configuration
    /// DLT_* value of every frame (see `LinkType`).
    public let linkType: Int32
    /// libpcap's name for `linkType`, e.g. `EN10MB`.
    public let linkTypeName: String
    /// A non-fatal warning from activation (e.g. promiscuous mode not supported), if any.
    public let activationWarning: String?

    private let handle: OpaquePointer
    private let pcapDescriptor: Int32
    /// A pipe `breakLoop` writes to, to wake a waiting `dispatch` (writing is async-signal-safe).
    private let wakeReadDescriptor: Int32
    private let wakeWriteDescriptor: Int32

    private static func setFilter(_ filter: String, on handle: OpaquePointer, interface: String) throws {
        var program = bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw LiveCaptureError(kind: .badFilter, interface: interface,
                                   reason: String(cString: pcap_geterr(handle)), filter: filter)
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw LiveCaptureError(kind: .badFilter, interface: interface,
                                   reason: String(cString: pcap_geterr(handle)), filter: filter)
        }
    }

    /// Whether libpcap lists `interface` as a loopback device.
    static func isLoopback(_ interface: String) -> Bool {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var devices: UnsafeMutablePointer<pcap_if_t>?
        guard pcap_findalldevs(&devices, &errorBuffer) == 0 else { return false }
        defer { pcap_freealldevs(devices) }
        var device = devices
        while let current = device {
            if String(cString: current.pointee.name) == interface {
                return current.pointee.flags & UInt32(PCAP_IF_LOOPBACK) != 0
            }
            device = current.pointee.next
        }
        return false
    }

    /// Opens `configuration.interface` and sets the filter.
    /// - Throws: `LiveCaptureError` with a one-line reason.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        let interface = configuration.interface
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_create(interface, &errorBuffer) else {
            throw LiveCaptureError(kind: .other, interface: interface, reason: Self.string(errorBuffer))
        }
        // From here on the handle must be closed on every failure path.
        var ownsHandle = true
        defer { if ownsHandle { pcap_close(handle) } }

        pcap_set_snaplen(handle, configuration.snapshotLength)
        pcap_set_promisc(handle, configuration.promiscuous ? 1 : 0)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_buffer_size(handle, configuration.bufferSize)
        // Irrelevant in immediate mode, but libpcap leaves a zero timeout undefined.
        pcap_set_timeout(handle, 100)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))

        let activation = pcap_activate(handle)
        if activation < 0 {
            throw Self.activationError(activation, handle: handle, interface: interface)
        }
        activationWarning = activation > 0 ? Self.warningText(activation, handle: handle) : nil

        let userFilter = configuration.filter.flatMap { $0.isEmpty ? nil : $0 }
        if let userFilter {
            try Self.setFilter(userFilter, on: handle, interface: interface)
        }
        // On loopback the kernel hands every packet to the capture twice, once leaving and once
        // arriving, and libpcap throws the outgoing copy away only after it took room in the
        // capture buffer. Dropping it in the kernel filter halves the buffer's load. Where
        // `inbound` is not supported the filter stays as it was.
        if Self.isLoopback(interface) {
            let inbound = userFilter.map { "inbound and (\($0))" } ?? "inbound"
            try? Self.setFilter(inbound, on: handle, interface: interface)
        }

        guard pcap_setnonblock(handle, 1, &errorBuffer) == 0 else {
            throw LiveCaptureError(kind: .other, interface: interface, reason: Self.string(errorBuffer))
        }
        let descriptor = pcap_get_selectable_fd(handle)
        guard descriptor >= 0 else {
            throw LiveCaptureError(kind: .other, interface: interface, reason: "no selectable descriptor for this interface")
        }
        var wakePipe: [Int32] = [-1, -1]
        guard pipe(&wakePipe) == 0 else {
            throw LiveCaptureError(kind: .other, interface: interface, reason: String(cString: strerror(errno)))
        }
        for descriptor in wakePipe {
            // A full pipe must never block breakLoop (one pending byte is all it takes to wake up).
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }

        let dataLink = pcap_datalink(handle)
        self.handle = handle
        self.pcapDescriptor = descriptor
        self.wakeReadDescriptor = wakePipe[0]
        self.wakeWriteDescriptor = wakePipe[1]
        self.linkType = dataLink
        self.linkTypeName = pcap_datalink_val_to_name(dataLink).map { String(cString: $0) } ?? "DLT \(dataLink)"
        ownsHandle = false
    }

    deinit {
        pcap_close(handle)
        close(wakeReadDescriptor)
        close(wakeWriteDescriptor)
    }

    /// The raw handle, for writers that dump packets through libpcap (`PcapRingWriter`).
    var pcapHandle: OpaquePointer { handle }

    /// Packets delivered per call at most. Without a cap, `pcap_dispatch` keeps going while the
    /// traffic does, and under sustained load the caller's timers would starve.
    public static let batchLimit: Int32 = 8192

    /// Waits up to `timeout` seconds for packets, then delivers the packets already captured (at
    /// most `batchLimit`).
    ///
    /// The packet and its bytes are valid only during the call to `body`.
    public func dispatch(timeout: Double, _ body: (borrowing RawPacket) -> Void) -> LiveDispatchOutcome {
        if isBroken { return .interrupted }
        var descriptors = [
            pollfd(fd: pcapDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeReadDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        let milliseconds = Int32(max(0, min(timeout, 60)) * 1000)
        let ready = poll(&descriptors, 2, milliseconds)
        if ready < 0 && errno != EINTR {
            return .failed("poll: " + String(cString: strerror(errno)))
        }
        if isBroken { return .interrupted }
        return drain(body)
    }

    /// Delivers the packets already captured (at most `batchLimit`) without waiting; after
    /// `breakLoop`, call it until it returns `.packets(0)` so that nothing the kernel already holds
    /// is lost.
    public func drain(_ body: (borrowing RawPacket) -> Void) -> LiveDispatchOutcome {
        let linkType = self.linkType
        return withoutActuallyEscaping(body) { body in
            var context = DispatchContext(linkType: linkType, body: body)
            let result = withUnsafeMutablePointer(to: &context) { pointer in
                pcap_dispatch(handle, Self.batchLimit, liveCaptureCallback, UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt8.self))
            }
            switch result {
            case PCAP_ERROR_BREAK: return .interrupted
            case ..<0: return .failed(String(cString: pcap_geterr(handle)))
            default: return .packets(Int(result))
            }
        }
    }

    /// Makes the current or next `dispatch` return `.interrupted`. Safe from any thread and from a
    /// signal handler (it only stores a flag and writes to a pipe).
    public func breakLoop() {
        breakRequested.store(true, ordering: .releasing)
        var byte: UInt8 = 1
        _ = write(wakeWriteDescriptor, &byte, 1)
    }

    /// Set from any thread, read by the reading thread.
    private let breakRequested = Atomic<Bool>(false)
    private var isBroken: Bool { breakRequested.load(ordering: .acquiring) }

    /// The kernel's counters so far (see `LiveCaptureStatistics`).
    public func statistics() -> LiveCaptureStatistics {
        var counters = pcap_stat()
        guard pcap_stats(handle, &counters) == 0 else { return LiveCaptureStatistics() }
        return LiveCaptureStatistics(received: UInt64(counters.ps_recv), dropped: UInt64(counters.ps_drop),
                                     interfaceDropped: UInt64(counters.ps_ifdrop))
    }

    // MARK: - Errors

    private static func activationError(_ code: Int32, handle: OpaquePointer, interface: String) -> LiveCaptureError {
        let detail = String(cString: pcap_geterr(handle))
        let statusText = String(cString: pcap_statustostr(code))
        let reason = detail.isEmpty ? statusText : detail
        switch code {
        case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED:
            return LiveCaptureError(kind: .permissionDenied, interface: interface, reason: reason)
        case PCAP_ERROR_NO_SUCH_DEVICE:
            return LiveCaptureError(kind: .noSuchInterface, interface: interface, reason: reason)
        default:
            return LiveCaptureError(kind: .other, interface: interface, reason: reason)
        }
    }

    private static func warningText(_ code: Int32, handle: OpaquePointer) -> String {
        let detail = String(cString: pcap_geterr(handle))
        return detail.isEmpty ? String(cString: pcap_statustostr(code)) : detail
    }

    private static func string(_ buffer: [CChar]) -> String {
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? "unknown error" : text
    }
}

/// What the C callback needs: it cannot capture, so `pcap_dispatch` hands it a pointer to this.
private struct DispatchContext {
    var linkType: Int32
    var body: (borrowing RawPacket) -> Void
}

private func liveCaptureCallback(user: UnsafeMutablePointer<UInt8>?, header: UnsafePointer<pcap_pkthdr>?,
                                 bytes: UnsafePointer<UInt8>?) {
    guard let user, let header, let bytes else { return }
    let context = UnsafeMutableRawPointer(user).assumingMemoryBound(to: DispatchContext.self)
    let pcapHeader = header.pointee
    // With nanosecond precision libpcap stores nanoseconds in the field named tv_usec.
    let packet = RawPacket(
        time: Timestamp(captureSeconds: Int64(pcapHeader.ts.tv_sec), fraction: Int64(pcapHeader.ts.tv_usec)),
        originalLength: Int(pcapHeader.len),
        data: UnsafeRawBufferPointer(start: bytes, count: Int(pcapHeader.caplen)),
        linkType: context.pointee.linkType
    )
    context.pointee.body(packet)
}

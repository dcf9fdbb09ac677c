/// Secrets a pcapng file carries for its own decryption: Decryption Secrets Blocks (block type
/// 0x0000000A), which `editcap --inject-secrets tls,keys.log` and Wireshark write. libpcap skips
/// them, so `PcapngSecretsWalker` finds them in the bytes libpcap reads (see
/// `CaptureFileReader.onSecrets`), wherever they are in the file.
public struct CaptureSecrets: Sendable, Equatable {
    /// `TLSK`: an NSS key log (the text `SSLKEYLOGFILE` holds).
    public static let tlsKeyLog: UInt32 = 0x544C_534B

    /// The secrets type (`tlsKeyLog`, or another one corscope does not read, e.g. WireGuard's).
    public var type: UInt32
    public var data: [UInt8]

    public init(type: UInt32, data: [UInt8]) {
        self.type = type
        self.data = data
    }
}

/// Walks the block structure of a pcapng byte stream as it goes by, in pieces of any size, and
/// keeps the Decryption Secrets Blocks' contents. It reads each block's 8-byte header and jumps
/// over the rest, so it costs a few instructions per block; the first bytes decide whether the
/// stream is pcapng at all (a pcap is left alone at once).
///
/// At most `limit` bytes of secrets are kept; a block larger than that, a broken block length or
/// a block cut by the end of the stream stops the walk, and `problem` says why.
struct PcapngSecretsWalker {
    static let sectionHeader: UInt32 = 0x0A0D_0D0A
    static let decryptionSecrets: UInt32 = 0x0000_000A

    let limit: Int
    /// Secrets found and not yet taken.
    private(set) var found: [CaptureSecrets] = []
    private(set) var problem: String?
    private(set) var isPCAPNG = false

    private enum State {
        /// Collecting a block header (type and length, then, in a section header, the byte-order magic).
        case header
        /// Skipping the rest of a block.
        case skip(Int)
        /// Collecting a Decryption Secrets Block's secrets type and length.
        case secretsHeader(blockLength: Int)
        case secrets(blockLength: Int, type: UInt32)
        case stopped
    }

    private var state = State.header
    private var pending: [UInt8] = []
    private var bigEndian = false
    private var first = true
    private var kept = 0
    private var secretsWanted = 0

    init(limit: Int = 64 << 20) { self.limit = limit }

    var hasFound: Bool { !found.isEmpty }

    mutating func take() -> [CaptureSecrets] {
        defer { found = [] }
        return found
    }

    /// The stream ended: a block left unfinished is a problem (the end between blocks is not).
    mutating func finish() {
        switch state {
        case .header where pending.isEmpty, .stopped: break
        case .skip(0): break
        case .secretsHeader, .secrets: stop("truncated decryption secrets block")
        default: if isPCAPNG { stop("truncated block") }
        }
    }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var at = 0
        while at < bytes.count {
            switch state {
            case .stopped:
                return
            case .skip(let remaining):
                let step = min(remaining, bytes.count - at)
                at += step
                state = remaining - step == 0 ? .header : .skip(remaining - step)
            case .header:
                // The type first: it says whether this is pcapng at all, and whether the header
                // is 8 bytes or, for a section header, 12 (its byte-order magic follows the length).
                if pending.count < 4 {
                    let step = min(4 - pending.count, bytes.count - at)
                    pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<at + step]))
                    at += step
                    guard pending.count == 4 else { continue }
                    if first && rawType != Self.sectionHeader {
                        state = .stopped   // not pcapng: nothing to walk
                        pending = []
                        return
                    }
                }
                let wanted = rawType == Self.sectionHeader ? 12 : 8
                let step = min(wanted - pending.count, bytes.count - at)
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<at + step]))
                at += step
                if pending.count == wanted { blockHeader() }
            case .secretsHeader(let blockLength):
                let step = min(8 - pending.count, bytes.count - at)
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<at + step]))
                at += step
                guard pending.count == 8 else { continue }
                let type = number(at: 0), length = Int(number(at: 4))
                pending.removeAll(keepingCapacity: true)
                guard length <= blockLength - 20 else { return stop("decryption secrets block whose secrets overrun it") }
                guard kept + length <= limit else { return stop("decryption secrets over the \(limit >> 20) MiB limit") }
                secretsWanted = length
                state = .secrets(blockLength: blockLength, type: type)
                if length == 0 { finishSecrets(blockLength: blockLength, type: type) }
            case .secrets(let blockLength, let type):
                let step = min(secretsWanted - pending.count, bytes.count - at)
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<at + step]))
                at += step
                if pending.count == secretsWanted { finishSecrets(blockLength: blockLength, type: type) }
            }
        }
    }

    private var rawType: UInt32 {
        UInt32(pending[0]) | UInt32(pending[1]) << 8 | UInt32(pending[2]) << 16 | UInt32(pending[3]) << 24
    }

    private mutating func blockHeader() {
        if rawType == Self.sectionHeader {
            let magic = Array(pending[8..<12])
            guard magic == [0x1A, 0x2B, 0x3C, 0x4D] || magic == [0x4D, 0x3C, 0x2B, 0x1A] else {
                return stop("section header with an unknown byte-order magic")
            }
            bigEndian = magic == [0x1A, 0x2B, 0x3C, 0x4D]
            first = false
            isPCAPNG = true
            let length = Int(number(at: 4))
            pending.removeAll(keepingCapacity: true)
            guard length >= 28, length % 4 == 0 else { return stop("section header with a broken length (\(length))") }
            state = .skip(length - 12)
            return
        }
        let type = number(at: 0), length = Int(number(at: 4))
        pending.removeAll(keepingCapacity: true)
        guard length >= 12, length % 4 == 0 else { return stop("block with a broken length (\(length))") }
        if type == Self.decryptionSecrets {
            guard length >= 20 else { return stop("decryption secrets block with a broken length (\(length))") }
            state = .secretsHeader(blockLength: length)
        } else {
            state = .skip(length - 8)
        }
    }

    /// Secrets type, length, the secrets (padded to 32 bits), options, the length again.
    private mutating func finishSecrets(blockLength: Int, type: UInt32) {
        found.append(CaptureSecrets(type: type, data: pending))
        kept += pending.count
        state = .skip(blockLength - 16 - pending.count)
        pending = []
    }

    private mutating func stop(_ reason: String) {
        problem = reason
        state = .stopped
        pending = []
    }

    private func number(at offset: Int) -> UInt32 {
        let b = (pending[offset], pending[offset + 1], pending[offset + 2], pending[offset + 3])
        return bigEndian
            ? UInt32(b.0) << 24 | UInt32(b.1) << 16 | UInt32(b.2) << 8 | UInt32(b.3)
            : UInt32(b.0) | UInt32(b.1) << 8 | UInt32(b.2) << 16 | UInt32(b.3) << 24
    }
}

/// The walker as libpcap's reader feeds it: the C stream calls `callback` with every piece it
/// hands over (`corscope_stream.tap`).
final class PcapngSecretsTap {
    var walker = PcapngSecretsWalker()

    static let callback: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int) -> Void = { context, bytes, count in
        guard let context, let bytes, count > 0 else { return }
        let tap = Unmanaged<PcapngSecretsTap>.fromOpaque(context).takeUnretainedValue()
        tap.walker.consume(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

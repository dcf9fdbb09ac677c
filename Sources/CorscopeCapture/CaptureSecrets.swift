import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Secrets a pcapng file carries for its own decryption: Decryption Secrets Blocks (block type
/// 0x0000000A), which `editcap --inject-secrets tls,keys.log` and Wireshark write. libpcap skips
/// them, so they are read here with a block walker of their own.
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

    /// The Decryption Secrets Blocks of a pcapng file (plain or gzip-compressed), in file order.
    ///
    /// Writers put them before the first packet (editcap, Wireshark, dumpcap), so the walk stops
    /// at the first packet block and the file is read only up to there: a secrets block placed
    /// after a packet is not seen (`Walk.stoppedAtPackets` says the walk ended there). A file
    /// that is not pcapng has none. At most `limit` bytes of secrets are kept; a block larger
    /// than that, or a broken block length, ends the walk (`Walk.problem`).
    public static func read(path: String, limit: Int = 64 << 20) -> Walk {
        guard let file = gzopen(path, "rb") else { return Walk(problem: "cannot open: \(String(cString: strerror(errno)))") }
        defer { gzclose_r(file) }
        var walker = Walker(limit: limit)
        return walker.walk { buffer, count in
            Int(gzread(file, buffer, UInt32(count)))
        } skip: { count in
            gzseek(file, count, SEEK_CUR) >= 0
        }
    }

    /// What one walk found.
    public struct Walk: Sendable, Equatable {
        public var secrets: [CaptureSecrets] = []
        /// Why the walk stopped before the first packet block, when it did (a truncated or
        /// corrupt block, a block over the limit).
        public var problem: String?
        /// The walk reached the first packet block.
        public var stoppedAtPackets = false

        public init(secrets: [CaptureSecrets] = [], problem: String? = nil, stoppedAtPackets: Bool = false) {
            self.secrets = secrets
            self.problem = problem
            self.stoppedAtPackets = stoppedAtPackets
        }

        /// The TLS key log text of every `TLSK` block.
        public var tlsKeyLogs: [[UInt8]] { secrets.filter { $0.type == CaptureSecrets.tlsKeyLog }.map(\.data) }
    }

    /// The block walk, over any reader that fills buffers and skips forward.
    struct Walker {
        static let sectionHeader: UInt32 = 0x0A0D_0D0A
        static let decryptionSecrets: UInt32 = 0x0000_000A
        /// Enhanced, simple and obsolete packet blocks.
        static let packetBlocks: Set<UInt32> = [0x0000_0006, 0x0000_0003, 0x0000_0002]
        let limit: Int
        private var bigEndian = false
        private var kept = 0

        init(limit: Int) { self.limit = limit }

        mutating func walk(read: (UnsafeMutableRawPointer, Int) -> Int, skip: (Int) -> Bool) -> Walk {
            var result = Walk()
            var header = [UInt8](repeating: 0, count: 12)
            func readExactly(_ buffer: inout [UInt8], _ count: Int) -> Bool {
                buffer.withUnsafeMutableBytes { raw in
                    var done = 0
                    while done < count {
                        let n = read(raw.baseAddress! + done, count - done)
                        if n <= 0 { return false }
                        done += n
                    }
                    return true
                }
            }
            var first = true
            while true {
                // The end of the file between blocks is a clean end.
                guard readExactly(&header, 8) else { return result }
                let rawType = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
                if first {
                    guard rawType == Self.sectionHeader else { return result }  // not pcapng
                    first = false
                }
                if rawType == Self.sectionHeader {
                    // The byte-order magic follows the length: read it to know how to read the length.
                    var magic = [UInt8](repeating: 0, count: 4)
                    guard readExactly(&magic, 4) else { result.problem = "truncated section header"; return result }
                    bigEndian = magic == [0x1A, 0x2B, 0x3C, 0x4D]
                    guard bigEndian || magic == [0x4D, 0x3C, 0x2B, 0x1A] else {
                        result.problem = "section header with an unknown byte-order magic"
                        return result
                    }
                    let length = Int(number(header[4..<8]))
                    guard length >= 28, length % 4 == 0, skip(length - 12) else {
                        result.problem = "section header with a broken length (\(length))"
                        return result
                    }
                    continue
                }
                let type = number(header[0..<4])
                let length = Int(number(header[4..<8]))
                guard length >= 12, length % 4 == 0 else {
                    result.problem = "block with a broken length (\(length))"
                    return result
                }
                if Self.packetBlocks.contains(type) {
                    result.stoppedAtPackets = true
                    return result
                }
                guard type == Self.decryptionSecrets else {
                    guard skip(length - 8) else { result.problem = "truncated block"; return result }
                    continue
                }
                // Secrets type, secrets length, the secrets padded to 32 bits, options, length.
                guard length >= 20, readExactly(&header, 8) else { result.problem = "truncated decryption secrets block"; return result }
                let secretsType = number(header[0..<4])
                let secretsLength = Int(number(header[4..<8]))
                guard secretsLength <= length - 20 else {
                    result.problem = "decryption secrets block whose secrets overrun it"
                    return result
                }
                guard kept + secretsLength <= limit else {
                    result.problem = "decryption secrets over the \(limit >> 20) MiB limit"
                    return result
                }
                var data = [UInt8](repeating: 0, count: secretsLength)
                guard readExactly(&data, secretsLength), skip(length - 16 - secretsLength) else {
                    result.problem = "truncated decryption secrets block"
                    return result
                }
                kept += secretsLength
                result.secrets.append(CaptureSecrets(type: secretsType, data: data))
            }
        }

        private func number(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            let b = Array(bytes)
            return bigEndian
                ? UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
                : UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        }
    }
}

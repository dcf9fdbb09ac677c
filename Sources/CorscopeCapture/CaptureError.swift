/// Why a capture file could not be opened. Errors are values: the `description` is one line
/// that names the file and carries libpcap's (or the system's) reason, ready to print.
public struct CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened or read at all (missing, permissions, a directory...).
        case unreadable
        /// The file was read but libpcap did not recognise it as a capture, or its header is corrupt.
        case notACapture
        /// The packet filter does not compile for the file's link type (the reason says why).
        case filterRejected
    }

    public var kind: Kind
    public var path: String
    /// The underlying reason, as libpcap or the C library worded it.
    public var reason: String

    public init(kind: Kind, path: String, reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch kind {
        case .unreadable: what = "cannot open"
        case .notACapture: what = "not a readable pcap/pcapng capture"
        case .filterRejected: what = "the packet filter does not apply"
        }
        // Reasons never contain newlines in practice, but a one-line contract is cheap to keep.
        let oneLineReason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        return "\(path): \(what): \(oneLineReason)"
    }
}

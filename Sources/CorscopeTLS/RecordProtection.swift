import Crypto
import Foundation

/// One direction's AEAD record protection for one key: how TLS 1.2 and TLS 1.3 build the nonce
/// and the additional data, and the sequence number the next record is expected to carry.
struct RecordProtection {
    enum Layout: Equatable {
        /// RFC 5246 §6.2.3.3: AAD = seq ‖ type ‖ version ‖ plaintext length; GCM nonce = 4-byte
        /// salt ‖ 8 explicit bytes sent before the ciphertext (RFC 5288); ChaCha20 nonce =
        /// IV XOR seq (RFC 7905).
        case tls12
        /// RFC 8446 §5.2–5.3: AAD = the record header; nonce = IV XOR seq; the plaintext ends
        /// with the real content type and zero padding.
        case tls13
    }

    /// A record's content after decryption: the type is the inner one in TLS 1.3.
    struct Opened {
        var contentType: UInt8
        var content: [UInt8]
    }

    static let tagLength = 16

    let layout: Layout
    let aead: CipherSuite.AEAD
    private let key: SymmetricKey
    private let iv: [UInt8]
    /// The sequence number the next record in this direction carries.
    var nextSequenceNumber: UInt64 = 0

    init(layout: Layout, aead: CipherSuite.AEAD, keys: TrafficKeys) {
        self.layout = layout
        self.aead = aead
        key = SymmetricKey(data: keys.key)
        iv = keys.iv
    }

    /// Opens `record` as if it carried `sequenceNumber`; nil when the tag does not verify (wrong
    /// key, wrong sequence number, damaged record) or the record is too short to be protected.
    func open(_ record: TLSRecord, sequenceNumber: UInt64) -> Opened? {
        let fragment = record.fragment
        switch layout {
        case .tls12:
            let explicitLength = aead.tls12ExplicitNonceLength
            guard fragment.count >= explicitLength + Self.tagLength else { return nil }
            let body = fragment.dropFirst(explicitLength)
            let ciphertextLength = body.count - Self.tagLength
            var aad = Self.bigEndian(sequenceNumber)
            aad.append(record.contentType)
            aad.append(UInt8(record.version >> 8))
            aad.append(UInt8(record.version & 0xFF))
            aad.append(UInt8(ciphertextLength >> 8 & 0xFF))
            aad.append(UInt8(ciphertextLength & 0xFF))
            let nonce = explicitLength > 0 ? iv + fragment.prefix(explicitLength) : xor(iv, sequenceNumber)
            guard let plaintext = decrypt(body, nonce: nonce, aad: aad) else { return nil }
            return Opened(contentType: record.contentType, content: plaintext)
        case .tls13:
            guard fragment.count >= Self.tagLength else { return nil }
            guard var plaintext = decrypt(fragment, nonce: xor(iv, sequenceNumber), aad: record.header) else { return nil }
            // TLSInnerPlaintext: content ‖ type ‖ zeros. All zeros has no type: nothing to pass on.
            guard let typeIndex = plaintext.lastIndex(where: { $0 != 0 }) else {
                return Opened(contentType: 0, content: [])
            }
            let contentType = plaintext[typeIndex]
            plaintext.removeSubrange(typeIndex...)
            return Opened(contentType: contentType, content: plaintext)
        }
    }

    private func decrypt(_ body: ArraySlice<UInt8>, nonce: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard nonce.count == 12, body.count >= Self.tagLength else { return nil }
        // The sealed box as swift-crypto reads it, nonce ‖ ciphertext ‖ tag, laid out with two
        // copies of raw bytes: the element-wise `SealedBox(nonce:ciphertext:tag:)` and the
        // Data → Array conversion of the result were a third of the decryption's cost.
        var combined = Data(count: nonce.count + body.count)
        combined.withUnsafeMutableBytes { out in
            nonce.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            body.withUnsafeBytes { (out.baseAddress! + nonce.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        let plaintext: Data
        do {
            switch aead {
            case .aes128GCM, .aes256GCM:
                plaintext = try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key, authenticating: aad)
            case .chaCha20Poly1305:
                plaintext = try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: combined), using: key, authenticating: aad)
            }
        } catch {
            return nil
        }
        return plaintext.withUnsafeBytes { bytes in
            [UInt8](unsafeUninitializedCapacity: bytes.count) { out, initialized in
                if let base = bytes.baseAddress, bytes.count > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: base, byteCount: bytes.count) }
                initialized = bytes.count
            }
        }
    }

    /// The per-record nonce of TLS 1.3 and of ChaCha20 in TLS 1.2: the 64-bit sequence number,
    /// big-endian and left-padded to the IV's length, XORed into the IV.
    private func xor(_ iv: [UInt8], _ sequenceNumber: UInt64) -> [UInt8] {
        var nonce = iv
        let sequence = Self.bigEndian(sequenceNumber)
        let offset = nonce.count - sequence.count
        guard offset >= 0 else { return nonce }
        for index in 0..<sequence.count { nonce[offset + index] ^= sequence[index] }
        return nonce
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}

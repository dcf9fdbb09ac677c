import Crypto
import Foundation

/// One direction's write key and IV.
struct TrafficKeys: Equatable {
    var key: [UInt8]
    var iv: [UInt8]
}

/// The two key schedules, from the secrets a key log gives to record keys. Only HMAC and HKDF
/// from swift-crypto; nothing here is a cipher.
enum KeySchedule {
    // MARK: TLS 1.3 (RFC 8446 §7)

    /// HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1): HKDF-Expand with the
    /// info `uint16 length ‖ opaque label<7..255> = "tls13 " + Label ‖ opaque context<0..255>`.
    static func hkdfExpandLabel(secret: [UInt8], label: String, context: [UInt8] = [], length: Int,
                                hash: CipherSuite.Hash) -> [UInt8] {
        let fullLabel = Array("tls13 ".utf8) + Array(label.utf8)
        var info: [UInt8] = [UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), UInt8(fullLabel.count)]
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        let key: SymmetricKey
        switch hash {
        case .sha256: key = HKDF<SHA256>.expand(pseudoRandomKey: secret, info: info, outputByteCount: length)
        case .sha384: key = HKDF<SHA384>.expand(pseudoRandomKey: secret, info: info, outputByteCount: length)
        }
        return key.withUnsafeBytes { [UInt8]($0) }
    }

    /// A TLS 1.3 traffic secret's key and IV (RFC 8446 §7.3).
    static func tls13TrafficKeys(secret: [UInt8], suite: CipherSuite) -> TrafficKeys? {
        guard let aead = suite.aead else { return nil }
        return TrafficKeys(key: hkdfExpandLabel(secret: secret, label: "key", length: aead.keyLength, hash: suite.hash),
                           iv: hkdfExpandLabel(secret: secret, label: "iv", length: 12, hash: suite.hash))
    }

    /// The secret after a KeyUpdate (RFC 8446 §7.2).
    static func tls13NextTrafficSecret(_ secret: [UInt8], suite: CipherSuite) -> [UInt8] {
        hkdfExpandLabel(secret: secret, label: "traffic upd", length: suite.hash.length, hash: suite.hash)
    }

    // MARK: TLS 1.2 (RFC 5246 §5, §6.3)

    /// PRF(secret, label, seed) = P_hash(secret, label + seed), cut to `length` bytes; P_SHA256 or
    /// P_SHA384 as the suite says.
    static func tls12PRF(secret: [UInt8], label: String, seed: [UInt8], length: Int, hash: CipherSuite.Hash) -> [UInt8] {
        switch hash {
        case .sha256: return pHash(SHA256.self, secret: secret, seed: Array(label.utf8) + seed, length: length)
        case .sha384: return pHash(SHA384.self, secret: secret, seed: Array(label.utf8) + seed, length: length)
        }
    }

    /// P_hash: HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + …, A(0) = seed,
    /// A(i) = HMAC(secret, A(i-1)).
    private static func pHash<H: HashFunction>(_: H.Type, secret: [UInt8], seed: [UInt8], length: Int) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        var output: [UInt8] = []
        output.reserveCapacity(length + H.Digest.byteCount)
        var a = seed
        while output.count < length {
            a = Array(HMAC<H>.authenticationCode(for: a, using: key))
            output += Array(HMAC<H>.authenticationCode(for: a + seed, using: key))
        }
        return Array(output.prefix(length))
    }

    /// The AEAD suites' key block: client and server write keys, then client and server fixed
    /// IVs (no MAC keys for AEAD ciphers, RFC 5246 §6.3, RFC 5288 §3, RFC 7905 §2).
    static func tls12TrafficKeys(masterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8],
                                 suite: CipherSuite) -> (client: TrafficKeys, server: TrafficKeys)? {
        guard let aead = suite.aead else { return nil }
        let keyLength = aead.keyLength
        let ivLength = aead.tls12FixedIVLength
        let block = tls12PRF(secret: masterSecret, label: "key expansion", seed: serverRandom + clientRandom,
                             length: 2 * (keyLength + ivLength), hash: suite.hash)
        let clientKey = Array(block[0..<keyLength])
        let serverKey = Array(block[keyLength..<2 * keyLength])
        let clientIV = Array(block[2 * keyLength..<2 * keyLength + ivLength])
        let serverIV = Array(block[2 * keyLength + ivLength..<2 * (keyLength + ivLength)])
        return (TrafficKeys(key: clientKey, iv: clientIV), TrafficKeys(key: serverKey, iv: serverIV))
    }
}

/// A cipher suite as far as decryption cares: its IANA name, and for the suites this module
/// decrypts, the AEAD and the hash of its key schedule.
///
/// Supported (decrypted): the AEAD suites —
/// - TLS 1.3: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256;
/// - TLS 1.2: AES-128-GCM and AES-256-GCM (RFC 5288/5289) and ChaCha20-Poly1305 (RFC 7905)
///   with ECDHE-RSA, ECDHE-ECDSA, RSA, DHE-RSA, DHE-DSS, DH-anon and the PSK variants.
///
/// Named but not decrypted (`TLSDecryptionState.unsupportedSuite`): CBC, RC4, 3DES, NULL and
/// CCM suites. CBC would need raw AES-CBC, which swift-crypto's `Crypto` product does not offer.
struct CipherSuite: Sendable, Equatable {
    enum AEAD: Sendable, Equatable {
        case aes128GCM, aes256GCM, chaCha20Poly1305

        var keyLength: Int { self == .aes128GCM ? 16 : 32 }
        /// TLS 1.2's fixed IV part: GCM's implicit 4-byte salt (RFC 5288 §3), ChaCha20's whole
        /// 12-byte IV (RFC 7905 §2). TLS 1.3 always uses 12 bytes.
        var tls12FixedIVLength: Int { self == .chaCha20Poly1305 ? 12 : 4 }
        /// GCM in TLS 1.2 sends the nonce's last 8 bytes before the ciphertext; ChaCha20 does not.
        var tls12ExplicitNonceLength: Int { self == .chaCha20Poly1305 ? 0 : 8 }
    }

    enum Hash: Sendable, Equatable {
        case sha256, sha384
        var length: Int { self == .sha256 ? 32 : 48 }
    }

    let id: UInt16
    let name: String
    /// nil: named only, not decrypted.
    let aead: AEAD?
    let hash: Hash

    var isTLS13: Bool { id >> 8 == 0x13 }

    static func named(_ id: UInt16) -> CipherSuite {
        if let known = table[id] { return known }
        return CipherSuite(id: id, name: "0x" + hex4(id), aead: nil, hash: .sha256)
    }

    static func name(_ id: UInt16) -> String { named(id).name }

    private static func hex4(_ value: UInt16) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([12, 8, 4, 0].map { digits[Int(value >> UInt16($0)) & 0xF] })
    }

    private static let table: [UInt16: CipherSuite] = {
        var table: [UInt16: CipherSuite] = [:]
        func add(_ id: UInt16, _ name: String, _ aead: AEAD? = nil, _ hash: Hash = .sha256) {
            table[id] = CipherSuite(id: id, name: name, aead: aead, hash: hash)
        }
        // TLS 1.3 (RFC 8446 §B.4)
        add(0x1301, "TLS_AES_128_GCM_SHA256", .aes128GCM)
        add(0x1302, "TLS_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0x1303, "TLS_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        add(0x1304, "TLS_AES_128_CCM_SHA256")
        add(0x1305, "TLS_AES_128_CCM_8_SHA256")
        // TLS 1.2 AES-GCM (RFC 5288, RFC 5289, RFC 5487)
        add(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        add(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", .aes128GCM)
        add(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", .aes256GCM, .sha384)
        // TLS 1.2 ChaCha20-Poly1305 (RFC 7905)
        add(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        add(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        add(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        add(0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        add(0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        add(0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", .chaCha20Poly1305)
        // Named only, so a report can say what was negotiated.
        add(0x0000, "TLS_NULL_WITH_NULL_NULL")
        add(0x0004, "TLS_RSA_WITH_RC4_128_MD5")
        add(0x0005, "TLS_RSA_WITH_RC4_128_SHA")
        add(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA")
        add(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA")
        add(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5")
        add(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA")
        add(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA")
        add(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA")
        add(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA")
        add(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA")
        add(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA")
        add(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA")
        add(0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA")
        add(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256")
        add(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256")
        add(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256")
        add(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256")
        add(0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256")
        add(0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256")
        add(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA")
        add(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA")
        add(0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA")
        add(0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA")
        add(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
        add(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")
        add(0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA")
        add(0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA")
        add(0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA")
        add(0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA")
        add(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256")
        add(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", nil, .sha384)
        add(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")
        add(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", nil, .sha384)
        add(0xC09C, "TLS_RSA_WITH_AES_128_CCM")
        add(0xC09D, "TLS_RSA_WITH_AES_256_CCM")
        add(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM")
        add(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM")
        return table
    }()
}

/// Protocol versions as the wire spells them.
enum TLSVersion {
    static let tls10: UInt16 = 0x0301
    static let tls11: UInt16 = 0x0302
    static let tls12: UInt16 = 0x0303
    static let tls13: UInt16 = 0x0304

    /// "TLS 1.2", "SSL 3.0"; nil for GREASE and other values that are not a version.
    static func name(_ version: UInt16) -> String? {
        switch version {
        case 0x0300: return "SSL 3.0"
        case tls10: return "TLS 1.0"
        case tls11: return "TLS 1.1"
        case tls12: return "TLS 1.2"
        case tls13: return "TLS 1.3"
        default: return nil
        }
    }
}

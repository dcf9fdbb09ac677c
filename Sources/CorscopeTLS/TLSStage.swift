// The TLS stage: between TCP reassembly and the HTTP analyzers (see README "Architecture").
//
// Per connection, a `TLSConnectionDecryptor` (a `TCPStreamHandler`) is fed the reassembled
// bytes of both directions and feeds the decrypted application data, per direction and in order,
// to a downstream handler (HTTP/1.x or HTTP/2, chosen from the ALPN in `TLSSession`). The keys
// come from a `TLSKeyStore` filled from NSS key logs (SSLKEYLOGFILE, pcapng Decryption Secrets
// Blocks); one store serves every connection and may grow while they run.
//
// Inside, the work is split so that each part handles one thing:
// - `RecordReader` cuts a direction's bytes into records (and finds them again after a gap);
// - `HandshakeReassembler` cuts handshake content into messages; `ClientHello`, `ServerHello`,
//   `EncryptedExtensions`, `TLS12NewSessionTicket` read the few fields needed, through
//   `ByteReader`, the one place wire bytes are read;
// - `KeySchedule` turns key log secrets into record keys (TLS 1.3 HKDF-Expand-Label and
//   KeyUpdate, TLS 1.2 PRF and key block), `RecordProtection` opens records (AEAD nonces and
//   additional data of both versions) — swift-crypto does the cryptography;
// - `TLSConnectionDecryptor` keeps the per-direction state (which keys, which sequence number,
//   what waits for a key) and decides what goes downstream.
//
// Supported: TLS 1.2 and 1.3 with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 (the list is
// in `CipherSuite`); TLS 1.2 resumption by session id and ticket; HelloRetryRequest; KeyUpdate;
// keys that arrive after the records (bounded buffering); gaps (resynchronisation with trial
// decryption). Where the stage is lenient it says so in `TLSStatistics.leniencies`
// (`TLSLeniency` names each case). Not supported: CBC, RC4, CCM and NULL suites (named, reported
// `.unsupportedSuite`), TLS 1.2 renegotiation, TLS 1.3 0-RTT early data (its records fail
// authentication and are counted), SSL 2.0-format hellos, RSA pre-master secrets in key logs.
import CorscopeReassembly

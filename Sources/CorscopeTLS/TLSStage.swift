// The TLS stage: between TCP reassembly and the HTTP analyzers (see README "Architecture").
// Filled in by the TLS work of issue #12: key log reading, record layer, handshake, key
// schedules, AEAD decryption; the plaintext of each connection goes on to a downstream
// `TCPStreamHandler` (HTTP/1.x or HTTP/2, chosen by ALPN).
import CorscopeReassembly

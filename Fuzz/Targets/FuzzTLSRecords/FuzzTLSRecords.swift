// The TLS stage, both directions: the input is a configuration byte and a sequence of chunks
// `[op][length: u16 BE][bytes]` (FuzzHTTP1's format): op's bit 0 is the direction (client,
// server), bits 1–2 the kind (0, 1: bytes; 2: a gap of `length` bytes, no bytes follow, and a
// gap of 0 adds the key log now; 3: that direction ends), bits 3–7 a time step. Then both
// directions end. The key store holds the secrets of the seed connections (Fuzz/corpus/
// FuzzTLSRecords, from Captures/tls and Captures/chromium-https by Fuzz/make-seeds-tls-h2.py):
// from the start, or (configuration bit 1) only when a 0-length gap says so, then
// `recheckKeys()`, or (bit 2) never. Bit 0: small limits (waiting ciphertext, records tried
// after a gap), so the caps are reached.
// Checks: the plaintext handler is made once; it gets no empty receive, no gap of 0, nothing
// after its direction's end, each end once, times that never go back; the plaintext bytes it
// gets equal the statistics' per direction; and the same input with each run of same-direction
// chunks delivered as one receive gives the same plaintext, byte for byte, per direction (the
// plaintext is in order, whatever the segmentation).
// CORSCOPE_FUZZ_VERBOSE=1 prints each input's outcome (state, session, plaintext bytes per direction).
// fuzz-options: -dict=Fuzz/dict/tls.dict -max_len=32768
import CorscopeCapture
import CorscopeReassembly
import CorscopeTLS
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

final class PlaintextRecorder: TCPStreamHandler {
    var bytes: [[UInt8]] = [[], []]
    var gapBytes = [0, 0]
    var ended = [false, false]
    var last: [Timestamp?] = [nil, nil]

    func check(_ direction: FlowDirection, _ time: Timestamp, _ what: String) {
        let d = direction.rawValue
        fuzzCheck(!ended[d], "\(what) after the end of direction \(direction)")
        if let previous = last[d] { fuzzCheck(previous <= time, "\(what) at \(time), before \(previous)") }
        last[d] = time
    }

    func receive(_ data: UnsafeRawBufferPointer, direction: FlowDirection, time: Timestamp) {
        check(direction, time, "plaintext")
        fuzzCheck(!data.isEmpty, "an empty receive")
        bytes[direction.rawValue].append(contentsOf: data)
    }

    func gap(length: Int, direction: FlowDirection, time: Timestamp) {
        check(direction, time, "a gap")
        fuzzCheck(length > 0, "a gap of \(length) bytes")
        gapBytes[direction.rawValue] += length
    }

    func end(direction: FlowDirection, time: Timestamp, reason: StreamEndReason) {
        check(direction, time, "an end")
        ended[direction.rawValue] = true
    }
}

enum Op {
    case bytes(FlowDirection, [UInt8])
    case gap(FlowDirection, Int)
    case addKeys
    case end(FlowDirection)
}

/// Feeds `ops` to a new decryptor; returns what its plaintext handler got (nil: none was made).
func run(_ ops: [(Op, Timestamp)], config: UInt8, configuration: TLSConfiguration) -> (PlaintextRecorder?, TLSConnectionDecryptor) {
    let keys = TLSKeyStore()
    if config & 6 == 0 { keys.add(keyLog: seedKeyLog, source: "seeds") }
    let start = ops.first?.1 ?? Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    let connection = ConnectionInfo(id: 1, client: Endpoint(address: .v4(0x7F00_0001), port: 40_000),
                                    server: Endpoint(address: .v4(0x7F00_0001), port: 443), sawHandshake: true, firstSeen: start)
    var recorder: PlaintextRecorder?
    var made = 0
    let decryptor = TLSConnectionDecryptor(connection: connection, keys: keys, configuration: configuration) { _ in
        made += 1
        fuzzCheck(made == 1, "a second plaintext handler")
        let handler = PlaintextRecorder()
        recorder = handler
        return handler
    }
    var ended = [false, false]
    var time = start
    for (op, at) in ops {
        time = at
        switch op {
        case .bytes(let direction, let bytes):
            bytes.withUnsafeBytes { decryptor.receive($0, direction: direction, time: time) }
        case .gap(let direction, let length):
            decryptor.gap(length: length, direction: direction, time: time)
        case .addKeys:
            if config & 4 == 0 { keys.add(keyLog: seedKeyLog, source: "seeds") }
            decryptor.recheckKeys()
        case .end(let direction):
            ended[direction.rawValue] = true
            decryptor.end(direction: direction, time: time, reason: .fin)
        }
    }
    for direction in [FlowDirection.clientToServer, .serverToClient] where !ended[direction.rawValue] {
        decryptor.end(direction: direction, time: time, reason: .endOfCapture)
    }
    return (recorder, decryptor)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let config = input.u8()
    var configuration = TLSConfiguration()
    if config & 1 != 0 {
        configuration.maximumBufferedCiphertextBytes = Int(input.u16())
        configuration.maximumRecordsLostInGap = Int(input.u8() % 8)
    }
    // The ops, as given, and with each run of same-direction bytes joined into one receive.
    var ops: [(Op, Timestamp)] = []
    var joined: [(Op, Timestamp)] = []
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    var ended = [false, false]
    while !input.isAtEnd {
        let op = input.u8()
        let direction: FlowDirection = op & 1 == 0 ? .clientToServer : .serverToClient
        let length = Int(input.u16())
        time = time.adding(seconds: Double(op >> 3) * 0.25)
        guard !ended[direction.rawValue] else { continue }
        switch op >> 1 & 3 {
        case 2:
            ops.append((length > 0 ? .gap(direction, length) : .addKeys, time))
            joined.append(ops.last!)
        case 3:
            ended[direction.rawValue] = true
            ops.append((.end(direction), time))
            joined.append(ops.last!)
        default:
            let bytes = Array(input.take(length))
            guard !bytes.isEmpty else { continue }
            ops.append((.bytes(direction, bytes), time))
            if case .bytes(let previousDirection, let previous)? = joined.last?.0, previousDirection == direction {
                joined[joined.count - 1] = (.bytes(direction, previous + bytes), time)
            } else {
                joined.append(ops.last!)
            }
        }
    }
    let (recorder, decryptor) = run(ops, config: config, configuration: configuration)
    for direction in [FlowDirection.clientToServer, .serverToClient] {
        let got = recorder?.bytes[direction.rawValue].count ?? 0
        fuzzCheck(got == decryptor.statistics.plaintextBytes(direction),
                  "\(got) plaintext bytes \(direction), statistics say \(decryptor.statistics.plaintextBytes(direction))")
    }
    if joined.count < ops.count {
        let (other, _) = run(joined, config: config, configuration: configuration)
        for d in 0..<2 {
            let a = recorder?.bytes[d] ?? [], b = other?.bytes[d] ?? []
            fuzzCheck(a == b, "direction \(d): \(a.count) plaintext bytes as segmented, \(b.count) with the runs joined")
        }
    }
    if getenv("CORSCOPE_FUZZ_VERBOSE") != nil {   // what an input does, when reproducing one
        printError("state \(decryptor.state), \(decryptor.session), plaintext \(recorder?.bytes[0].count ?? 0)/\(recorder?.bytes[1].count ?? 0) bytes, \(decryptor.statistics)")
    }
    return 0
}

/// The key log lines of the seed connections' client randoms (`python3 Fuzz/make-seeds-tls-h2.py --keys`).
let seedKeyLog: [UInt8] = Array("""
SERVER_HANDSHAKE_TRAFFIC_SECRET 8c1e329fb6440e10c290bf166e27d60a77b476669dc155462f3923f64221a68d 50ad4e1ae7598099af96204e75eeacf3cbdb746efb74f10499909a029c0418e5
SERVER_TRAFFIC_SECRET_0 8c1e329fb6440e10c290bf166e27d60a77b476669dc155462f3923f64221a68d 33bda0e6ebdab061b6ad0f99655c5775e432bd0b3089e325298979f33312988b
CLIENT_HANDSHAKE_TRAFFIC_SECRET 8c1e329fb6440e10c290bf166e27d60a77b476669dc155462f3923f64221a68d e2ecd4d3a1de58c89fd83e6d0ef229dc95b5e5f66e47f13844b538366f254fbe
CLIENT_TRAFFIC_SECRET_0 8c1e329fb6440e10c290bf166e27d60a77b476669dc155462f3923f64221a68d 7c311da59932a5fc67d893a549fd3a12200c199114638fe4a420829c78ef0c59
SERVER_HANDSHAKE_TRAFFIC_SECRET 93172043172c8f5fd08753d73cad6adf75226c5469ac090a421dd63f43c31866 9b0692b4c8c8b3f5abb0f5a198ca50317c41ef7ac77cebb5074fac6daa89ff7a91b8924f26de49feaca39f568505fd56
SERVER_TRAFFIC_SECRET_0 93172043172c8f5fd08753d73cad6adf75226c5469ac090a421dd63f43c31866 3d852f29725f815791219a3ed143d5e5a56ccf9ba62262fcf26341acfd720b7e02a53cfa4085495967c57c532c34eeb1
CLIENT_HANDSHAKE_TRAFFIC_SECRET 93172043172c8f5fd08753d73cad6adf75226c5469ac090a421dd63f43c31866 6b058911cc32bd79cb3e4bdf7944dc2b3107f0da0339dcbd33596a5649372301f202cf83a5ac49557b9eba0466e9bb75
CLIENT_TRAFFIC_SECRET_0 93172043172c8f5fd08753d73cad6adf75226c5469ac090a421dd63f43c31866 438624bf4ef7adab7ccbcebc65b241b5b5386db005f33a6159c5090dc769272860ed8ae5ada17ce8b18420e5adac172b
SERVER_HANDSHAKE_TRAFFIC_SECRET 9844d9f0632b110472ff15b9e69190eb3c4e7983e8d1177f90b08ad853181fe3 4824d1fdab61be46276614c5aa36e60d1d1dd32b7558da2e31f6463aea7182b1
SERVER_TRAFFIC_SECRET_0 9844d9f0632b110472ff15b9e69190eb3c4e7983e8d1177f90b08ad853181fe3 f94558eb5347ba724e09f1706f22c56b080a51bb6257a9fe492691d6c4e85e7f
CLIENT_HANDSHAKE_TRAFFIC_SECRET 9844d9f0632b110472ff15b9e69190eb3c4e7983e8d1177f90b08ad853181fe3 d78402afcb00dc84ae1461d13473e8e3a01b3d18680acc654f7731635b90feb5
CLIENT_TRAFFIC_SECRET_0 9844d9f0632b110472ff15b9e69190eb3c4e7983e8d1177f90b08ad853181fe3 9ab9f1a86f91aa6a00634d9662fcd627cba6539240546875d4fd0c9da0d91fe8
CLIENT_RANDOM 912d3beeccbaa5ea62bac2616777bf899b9673103e982b6f8f2de6d2fe71a70c 62098a53bb7569368eedf3a63d4b8d71adb747cd4855a78ef7f4540b5e0a29f8510bea74fd257c122074c0d8c29699e2
CLIENT_RANDOM a36b2171fea4cd6e0785b3aeed56135ceff722c6e04fd8a0e23a5361456f7ac9 7bf5373031f3759754db910d70ba3cda2f2d22c26ad4444f482711f361220fdbbbc2ae98eccef98b2950afe3f50e04cb
CLIENT_RANDOM 181a8c13c89ded404851c1edf8221bdefca937d5d4c887242185abed82314763 3e144ea5343fa9a09eeb86304a6ce90ac77a6f8e37db3204f93db94927f18738286edc57a1bcd0f19223beb1eab5fca8
CLIENT_RANDOM 3284ad3d031c8783ddbc454a3bf2a6a50a58691b918747efe85cefbc73f650df 8bb74dd85943604ef4ae457389b247b75935be402f14988ba51a05ca604e3543dd092c476ce4f1d9e230c6504d67f428
CLIENT_RANDOM ca3df34c8d6eefa177b90ec623b97f00ecaf0a78e28fd799b1ac3bcb4a003e24 c169d9667747d7a4bdbcc9ed0ba8651a205c0a9fbb9bf08dcc7da7c86e98ef1932a216a216829bdd1b661f696fb50e32
CLIENT_RANDOM f4551c4613dbf7eb6df7779101c48297027e9040e8313c090a2e9b61db1f74ff 6493a8650f07d0a78e471395e913bc79f7c6c44d72b1c7bdc3484eadd442bd815fe176d4a22c4bfbd03a85d1fc0a5235
CLIENT_RANDOM 27971758b2a652851a3d833e798293972a8000b32586bd5c6dff860ac3a93a77 6493a8650f07d0a78e471395e913bc79f7c6c44d72b1c7bdc3484eadd442bd815fe176d4a22c4bfbd03a85d1fc0a5235
CLIENT_RANDOM 3403f3cb4db1875100496441808daf1e90b581a48e1f1f1bb43d59f7c4d0d547 1240348a13844934bf6fc910cfc2f71dfa61e0390a0c80f6e0fd3f8d58379e8928570c8c897db99927850e904c46d0ed
CLIENT_RANDOM 7ceb510be365ec7c462be3b7589e687a9a3ea0c2a63816ee9b602424f0f33f6a 1240348a13844934bf6fc910cfc2f71dfa61e0390a0c80f6e0fd3f8d58379e8928570c8c897db99927850e904c46d0ed
SERVER_HANDSHAKE_TRAFFIC_SECRET 5e83fa57f498180648c7bee26df24974b38edf0e18a833cc0cf92793c23daea5 df1003226c88568fdc7ac3708527656d01756c6fe184e97fc54f85ad5837077e04fc505af028ab8fff943fa9c9d53b30
SERVER_TRAFFIC_SECRET_0 5e83fa57f498180648c7bee26df24974b38edf0e18a833cc0cf92793c23daea5 0d3c7741485ef348973e86d98f524b49a571ee60c58d4695482787933f9378c4cc18736b57fe4c55c680ada4c82480b3
CLIENT_HANDSHAKE_TRAFFIC_SECRET 5e83fa57f498180648c7bee26df24974b38edf0e18a833cc0cf92793c23daea5 4dd13be2cd25299bb33fbe3011ea95a54ed7a737e330bf252678bd1313ab0555ff87b5dabd156806541590a0cc8bbe2f
CLIENT_TRAFFIC_SECRET_0 5e83fa57f498180648c7bee26df24974b38edf0e18a833cc0cf92793c23daea5 1e9e2eb07a7cf2e9bd0616a2840038fe1ec5cd1bb333b63c0f771de9fecc6065b890702cbf5f62f1abd851d844ac3123
SERVER_HANDSHAKE_TRAFFIC_SECRET e24ccc8aff6c22c7c806bf8737d8c5da6551ff1f9691ead2eff1ec1d77c6e032 184c47bb99c39f90f3cd81417d0c5971c1dc3370a8474505056c9c2436065059c8de34edf2c3e1336253c44c3baf98a9
SERVER_TRAFFIC_SECRET_0 e24ccc8aff6c22c7c806bf8737d8c5da6551ff1f9691ead2eff1ec1d77c6e032 a5a355c73614cd1415200c9d104b02a9874a415afd7610d3b5011df2341f06ad5bb751821dd924c225f645778e6b65b0
CLIENT_HANDSHAKE_TRAFFIC_SECRET e24ccc8aff6c22c7c806bf8737d8c5da6551ff1f9691ead2eff1ec1d77c6e032 ab05cc539cb787eef058ede1dc5ff16552a9cdae0cb509b471dbbfd9433e46ed0449336570ff8cf874e5486b9e26b767
CLIENT_TRAFFIC_SECRET_0 e24ccc8aff6c22c7c806bf8737d8c5da6551ff1f9691ead2eff1ec1d77c6e032 7b3f9931726eaf9e5d23b3072c615bb3b7ff7d701edcdc3c93b6d64f7019c0d95fad2b9251aa2a64161c2e877c119938
SERVER_HANDSHAKE_TRAFFIC_SECRET d7ceb2470c0d55b7f2cf05e5ee0e19d53aebd3a1016151b56dd85dec7d265b74 44e2d58474f591616de9761d9aa1c884e3a0ada1864be67004fd30a5a3b5b0309b4da25409392f3739f7bddd109cf2b5
SERVER_TRAFFIC_SECRET_0 d7ceb2470c0d55b7f2cf05e5ee0e19d53aebd3a1016151b56dd85dec7d265b74 7100328354f25ccef09ddef0f90e36c94e04533d172d836a0f4cc3b60057c44ec9490592f40e1ce11a5de38327e2a426
CLIENT_HANDSHAKE_TRAFFIC_SECRET d7ceb2470c0d55b7f2cf05e5ee0e19d53aebd3a1016151b56dd85dec7d265b74 6d1a354fe756d1d0beafaf071e89debc6309ac9f9a76f6134f7abf719009654d5b03aba4da08b39616a8d0b540488cea
CLIENT_TRAFFIC_SECRET_0 d7ceb2470c0d55b7f2cf05e5ee0e19d53aebd3a1016151b56dd85dec7d265b74 250ec007e542c62813b35f4ae64ce7af1d88842dacfd1a5434dc82b45ca391cf4ec359f7a690e816f7147cffad2035a3
SERVER_HANDSHAKE_TRAFFIC_SECRET 415acc08c20d39128df5c07edc611e0622db7949275aa825ca350d195e312311 85e94603240a1dd957dc033926dbd45e4df69ffc14ba223c1d934b09020929c9e28a5f9a0e88947e381fb171395c27ed
SERVER_TRAFFIC_SECRET_0 415acc08c20d39128df5c07edc611e0622db7949275aa825ca350d195e312311 9ab6157f935f2034e9c20b18fd8f3094e7f6830d6566ae5e32283485c76767e3f3d6299fd2b80d6f00e0a4779828f592
CLIENT_HANDSHAKE_TRAFFIC_SECRET 415acc08c20d39128df5c07edc611e0622db7949275aa825ca350d195e312311 6807ac4117e44c75906c5908d6a473894b8fa005ebc69da7418f095284df30d692c342913bb043e030b1795ede7b0d9c
CLIENT_TRAFFIC_SECRET_0 415acc08c20d39128df5c07edc611e0622db7949275aa825ca350d195e312311 f615b265afebf25a6b3dd63a6bd303b0e895a726fd63bf31056829c92493fd3d62dc58bd92778b6d7a5dfceb770f6bbb
CLIENT_HANDSHAKE_TRAFFIC_SECRET 39d0f24b623af38bd25cfb691a4628c734afe7df9a8957a14511f392d933af16 88fd537696e9fb081cb3acc67f2eea88e04890bd3e1bd1a415afb511d3eb1bb7
SERVER_HANDSHAKE_TRAFFIC_SECRET 39d0f24b623af38bd25cfb691a4628c734afe7df9a8957a14511f392d933af16 bc911eb84a0c099991cc04d022ea725a33d8093854f8b2fa635cecd14ba21a59
CLIENT_TRAFFIC_SECRET_0 39d0f24b623af38bd25cfb691a4628c734afe7df9a8957a14511f392d933af16 4a955da318fc9ff6404dddf389611d74e69f78f137ff51bcf9693f28d2c71869
SERVER_TRAFFIC_SECRET_0 39d0f24b623af38bd25cfb691a4628c734afe7df9a8957a14511f392d933af16 643fe661e19410e25e1705c1223a58dba37c9be374c9da8104978ccaaf016996
CLIENT_HANDSHAKE_TRAFFIC_SECRET 5b3c784e7d04b2dcf8a7c614b640f86376a1aab003aef356d7dc0e7d78915f25 0de828b50951fb5bd33747fc143242edd88e518d1abad1102ab50ff11d514e5f
SERVER_HANDSHAKE_TRAFFIC_SECRET 5b3c784e7d04b2dcf8a7c614b640f86376a1aab003aef356d7dc0e7d78915f25 9122ebf3abb0743a9d5ed960237ec56e3d83905c4a746f0dd39ecd4ba6e0daf8
CLIENT_TRAFFIC_SECRET_0 5b3c784e7d04b2dcf8a7c614b640f86376a1aab003aef356d7dc0e7d78915f25 a7b2e2290d819255edba84f9721d9a2c8fed52defc2e70cdd6c9a63f5a2c0195
SERVER_TRAFFIC_SECRET_0 5b3c784e7d04b2dcf8a7c614b640f86376a1aab003aef356d7dc0e7d78915f25 25566a2a4eed01cfb85c2eb0324e6c7e7376b10d94c26722c1296c8c168af146
CLIENT_HANDSHAKE_TRAFFIC_SECRET db8feeabde314123d4ec6173b07d1adaa61b6b3dbe6b29517008a07598061f82 2a196767ed81b0e7ac5fb3e7d996b1db6a6fa53c2d3b6d01ceea42bfa191c25e
SERVER_HANDSHAKE_TRAFFIC_SECRET db8feeabde314123d4ec6173b07d1adaa61b6b3dbe6b29517008a07598061f82 242e2dec63160967557f0615a674a341275d5181f05c6c8d18faaa706618b9bc
CLIENT_TRAFFIC_SECRET_0 db8feeabde314123d4ec6173b07d1adaa61b6b3dbe6b29517008a07598061f82 0866a965292b37a2f71221b233e12cf3a0b4ed795211e09c537b4c19b04b3a78
SERVER_TRAFFIC_SECRET_0 db8feeabde314123d4ec6173b07d1adaa61b6b3dbe6b29517008a07598061f82 d8ada5f50854c51024a4870573199a993acd9fbf834e262e8768e38be9454b59
CLIENT_RANDOM ce4742a4ba776c8298dd562e1538e7d51f56a704deaa0c8c10a4e0323fc438ab 23e822d82a3dbfe3141b3702c169dd0ee7cc7fdba45c79714fe1f2de0d97ddc8e2c627466be57e2688a1d3a9e22c69a4
CLIENT_HANDSHAKE_TRAFFIC_SECRET 501e328dec6eb2815be064c4b6323909e37e9ffddeac831d1bd0a69d0db587ec 3f6e06ac6c539e69f590d17e9f6947aadadb5f20e2057f63431290bca174e9ec74707dc23dc4171006da7afaace2bd56
SERVER_HANDSHAKE_TRAFFIC_SECRET 501e328dec6eb2815be064c4b6323909e37e9ffddeac831d1bd0a69d0db587ec a98adc8373d781b5b99d701b9ff637978af9ceddf45cb3160fb9b4923a2280f5109c5d702e6c07d3a5d9dbf68a168229
CLIENT_TRAFFIC_SECRET_0 501e328dec6eb2815be064c4b6323909e37e9ffddeac831d1bd0a69d0db587ec 68fb68c3167390ddb50cbef7f15297f1b3b753c0137f360f960143697f90ccf3d994f770cf0114da5caa1e89932cf7d7
SERVER_TRAFFIC_SECRET_0 501e328dec6eb2815be064c4b6323909e37e9ffddeac831d1bd0a69d0db587ec fe05916556b98db3ea4ea4a51838e09aadaa5a44d2c9308cdce7186d0ca1c4a614e70a623d123cc52cbac728f5423ce2
CLIENT_HANDSHAKE_TRAFFIC_SECRET 15c508123f976a27cad4bd626d4842f772ffe69ffce9a20d047f77c73775e80b bfeb14a9f279d7be5722da90800c525e6313e2f85bfd8630749ef32e7db6fb06daee39106f888eb53a1a27da7e726d2a
SERVER_HANDSHAKE_TRAFFIC_SECRET 15c508123f976a27cad4bd626d4842f772ffe69ffce9a20d047f77c73775e80b 816fa4bb2a148127f6168e15f2106f4f54b3021378b4444cbd466057361996681da9dc1cc866979f3eeb3fbdb53f41fc
CLIENT_TRAFFIC_SECRET_0 15c508123f976a27cad4bd626d4842f772ffe69ffce9a20d047f77c73775e80b 0caf1168a43351ee573088039b83e1bc9070efe9b866baae00277e0a837fb562eb0e88ccd2efe3dd7495d59cc27e13e1
SERVER_TRAFFIC_SECRET_0 15c508123f976a27cad4bd626d4842f772ffe69ffce9a20d047f77c73775e80b e930584338ba6e04ab91026cdadbf7460d567b0a82bc941fd764855780799bf036da64a30d1d78a31a44fa3c19d02091
""".utf8)

runFuzzer(fuzzTLSRecords)

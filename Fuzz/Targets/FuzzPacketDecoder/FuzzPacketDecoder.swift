// Packet decoding and IP fragment reassembly: the input is a link type, fragment limits and a
// sequence of frames, each `[time step: u8][length: u16 BE][frame bytes]`, decoded in order.
// Checks: every segment's time is normalised and its payload lies inside the frame or inside a
// buffer the decoder owns (ASan); datagrams in progress stay within the limit.
// fuzz-options: -dict=Fuzz/dict/pcap.dict -max_len=16384
import CorscopeCapture
import FuzzSupport

let linkTypes: [Int32] = [
    LinkType.ethernet, LinkType.linuxSLL, LinkType.linuxSLL2, LinkType.null, LinkType.loop, LinkType.raw,
    LinkType.rawOpenBSD, LinkType.linkTypeRaw, LinkType.ipv4, LinkType.ipv6, 147,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzReader(data, size)
    let linkType = input.pick(linkTypes)
    let small = input.bool()
    let limits = small
        ? FragmentReassemblyLimits(maxDatagramSize: 2048, maxDatagramsInProgress: 4, maxFragmentsPerDatagram: 8, timeoutSeconds: 2)
        : FragmentReassemblyLimits()
    let decoder = PacketDecoder(fragmentLimits: limits)
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    while !input.isAtEnd {
        time = Timestamp(totalNanoseconds: time.totalNanoseconds + Int64(input.u8()) * 100_000_000)
        let length = Int(input.u16())
        let frame = Array(input.take(length))
        frame.withUnsafeBytes { bytes in
            let packet = RawPacket(time: time, originalLength: length, data: bytes, linkType: linkType)
            decoder.decode(packet) { segment in
                fuzzCheck(isNormalisedTime(seconds: segment.time.seconds, nanoseconds: segment.time.nanoseconds), "segment time \(segment.time)")
                _ = segment.payload.reduce(0, &+)
            }
        }
        fuzzCheck(decoder.datagramsAwaitingFragments <= limits.maxDatagramsInProgress,
                  "\(decoder.datagramsAwaitingFragments) datagrams in progress over a limit of \(limits.maxDatagramsInProgress)")
    }
    decoder.finish()
    _ = decoder.statistics
    return 0
}

runFuzzer(fuzzPacketDecoder)

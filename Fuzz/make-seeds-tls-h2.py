#!/usr/bin/env python3
"""Writes the seeds of the TLS and HTTP/2 fuzz targets (Fuzz/corpus/FuzzTLSRecords, FuzzTLSKeyLog,
FuzzHTTP2, FuzzHPACK) from committed captures: Captures/tls/loopback-tls.pcap and
Captures/chromium-https/chromium-https.pcap with their key logs, Captures/h2c/*.pcap and, when
present, ../shared/public-captures/*http2*.pcap. Each seed is one connection's TCP payloads in
the targets' chunk format (`[config]` then `[op][length: u16 BE][bytes]`, op bit 0 the direction),
cut to a few KB; never the files themselves. FuzzHPACK's seeds are one direction's header
blocks (`[config]` then `[0][length: u16 BE][block]`), and RFC 7541's examples C.4 and C.6.
Deterministic. Uses Fuzz/make-seeds.py's pcap readers.

    python3 Fuzz/make-seeds-tls-h2.py            write the seeds
    python3 Fuzz/make-seeds-tls-h2.py --keys     print the key log lines of the TLS seeds' client
                                                 randoms (FuzzTLSRecords.swift embeds them)
Checks that every TLS seed with a key has its lines in Fuzz/Targets/FuzzTLSRecords/*.swift.
"""
import glob, importlib.util, os, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_seeds", os.path.join(HERE, "make-seeds.py"))
seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seeds)
ROOT, SHARED, write = seeds.ROOT, seeds.SHARED, seeds.write

def streams(path):
    """Per TCP connection: [(fromClient, payload)] in capture order, retransmissions dropped."""
    parsed = seeds.read_pcap(path)
    if not parsed: return []
    _, _, linktype, packets = parsed
    out = []
    for segments in seeds.connections(linktype, packets):
        nxt, chunks = {}, []
        for from_client, seq, _, flags, payload in segments:
            if flags & 0x02: nxt[from_client] = (seq + 1) & 0xFFFFFFFF; continue
            if not payload: continue
            if from_client in nxt and ((seq - nxt[from_client]) & 0xFFFFFFFF) >= 0x80000000: continue  # old data
            nxt[from_client] = (seq + len(payload)) & 0xFFFFFFFF
            chunks.append((from_client, payload))
        if chunks: out.append(chunks)
    return out

def encode(config, chunks, limit, gap_at=None, keys_at=None):
    """The chunk format: bytes ops (time step 1), a gap instead of chunk `gap_at`, a gap of 0
    (FuzzTLSRecords: the key log arrives) before chunk `keys_at`, both ends."""
    out = bytes(config)
    for i, (from_client, payload) in enumerate(chunks):
        direction = 0 if from_client else 1
        if len(out) + 3 + len(payload) > limit: break
        if i == keys_at: out += bytes([2 << 1, 0, 0])
        if i == gap_at:
            out += bytes([direction | 2 << 1 | 1 << 3]) + struct.pack(">H", min(len(payload), 0xFFFF))
        else:
            out += bytes([direction | 1 << 3]) + struct.pack(">H", len(payload)) + payload
    return out + bytes([0 | 3 << 1, 0, 0, 1 | 3 << 1, 0, 0])

def client_random(chunks):
    first = next((p for c, p in chunks if c), b"")
    if len(first) >= 43 and first[0] == 0x16 and first[5] == 0x01: return first[11:43]
    return None

LABELS = (b"CLIENT_RANDOM", b"CLIENT_HANDSHAKE_TRAFFIC_SECRET", b"SERVER_HANDSHAKE_TRAFFIC_SECRET",
          b"CLIENT_TRAFFIC_SECRET_0", b"SERVER_TRAFFIC_SECRET_0")

def tls_seeds():
    key_lines, missing = [], []
    target_text = "".join(open(p).read() for p in glob.glob(os.path.join(HERE, "Targets", "FuzzTLSRecords", "*.swift")))
    for pcap, keylog, limit, most in [("Captures/tls/loopback-tls.pcap", "Captures/tls/loopback-tls.keylog", 24000, 32),
                                      ("Captures/chromium-https/chromium-https.pcap", "Captures/chromium-https/chromium-https.keylog", 12000, 6)]:
        lines = open(os.path.join(ROOT, keylog), "rb").read().splitlines()
        conns = [c for c in streams(os.path.join(ROOT, pcap)) if client_random(c)]
        for n, chunks in enumerate(conns[:most]):
            random = client_random(chunks).hex().encode()
            mine = [l for l in lines if l.split(b" ")[0] in LABELS and len(l.split(b" ")) == 3 and l.split(b" ")[1].lower() == random]
            for line in mine:
                key_lines.append(line.decode())
                if line.decode() not in target_text: missing.append(line.decode())
            write("FuzzTLSRecords", encode([0], chunks, limit))
            if n % 3 == 0: write("FuzzTLSRecords", encode([2], chunks, limit, keys_at=len(chunks) // 2))  # keys arrive late
            if n % 4 == 1 and len(chunks) > 4: write("FuzzTLSRecords", encode([0], chunks, limit, gap_at=len(chunks) - 2))
            # Key log seeds: this connection's lines, one malformed.
            if mine:
                write("FuzzTLSKeyLog", b"# SSL/TLS secrets log file\n" + b"\n".join(mine) + b"\n")
                write("FuzzTLSKeyLog", b"\xef\xbb\xbf" + mine[0][:-3] + b"\r\n" + mine[-1][:40])
    return key_lines, missing

def h2_seeds():
    paths = sorted(glob.glob(os.path.join(ROOT, "Captures", "h2c", "*.pcap")))
    if os.path.isdir(SHARED): paths += sorted(glob.glob(os.path.join(SHARED, "sv__*http2*.pcap")))
    for path in paths:
        for n, chunks in enumerate(streams(path)[:8]):
            client = b"".join(p for c, p in chunks if c)
            if client.startswith(b"PRI * HTTP/2.0"):
                write("FuzzHTTP2", encode([0], chunks, 12000))
                if n % 2 == 0: write("FuzzHTTP2", encode([0], chunks, 12000, gap_at=min(3, len(chunks) - 1)))
            elif b"h2c" in client[:1024] and b"\r\n\r\n" in client:
                # h2c: the bytes after the upgrade request and after the 101 head (config bit 1).
                request_end = client.index(b"\r\n\r\n") + 4
                server = b"".join(p for c, p in chunks if not c)
                if not server.startswith(b"HTTP/1.1 101") or b"\r\n\r\n" not in server: continue
                response_end = server.index(b"\r\n\r\n") + 4
                skip = {True: request_end, False: response_end}
                rest = []
                for from_client, payload in chunks:
                    cut = min(skip[from_client], len(payload))
                    skip[from_client] -= cut
                    if payload[cut:]: rest.append((from_client, payload[cut:]))
                write("FuzzHTTP2", encode([1], rest, 12000))

def header_blocks(data):
    """The header blocks of one direction's HTTP/2 frames (HEADERS or PUSH_PROMISE + CONTINUATION)."""
    blocks, current, at = [], None, 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big"); kind, flags = data[at + 3], data[at + 4]
        payload = data[at + 9:at + 9 + length]; at += 9 + length
        if len(payload) < length: break
        if kind in (1, 5):
            pad = payload[0] if flags & 0x8 and payload else 0
            start = (1 if flags & 0x8 else 0) + (5 if kind == 1 and flags & 0x20 else 0) + (4 if kind == 5 else 0)
            current = payload[start:len(payload) - pad]
        elif kind == 9 and current is not None:
            current += payload
        else:
            continue
        if flags & 0x4 and current is not None:
            blocks.append(current); current = None
    return blocks

def hpack_seeds():
    def seed(config, blocks):
        out = bytes([config])
        for block in blocks:
            if len(out) + 3 + len(block) > 8192: break
            out += bytes([0]) + struct.pack(">H", len(block)) + block
        write("FuzzHPACK", out)
    # RFC 7541 C.4 (requests, Huffman) and C.6 (responses, a 256-byte table: configuration 1).
    seed(0, [bytes.fromhex(h) for h in ("828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf",
                                        "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")])
    seed(1, [bytes.fromhex(h) for h in (
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        "4883640effc1c0bf",
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")])
    paths = sorted(glob.glob(os.path.join(ROOT, "Captures", "h2c", "*.pcap")))
    if os.path.isdir(SHARED): paths += sorted(glob.glob(os.path.join(SHARED, "sv__*http2*.pcap")))
    for path in paths:
        for chunks in streams(path)[:4]:
            client = b"".join(p for c, p in chunks if c)
            server = b"".join(p for c, p in chunks if not c)
            if not client.startswith(b"PRI * HTTP/2.0"): continue
            for direction in (client[24:], server):
                blocks = header_blocks(direction)
                if blocks: seed(0, blocks)

def main():
    key_lines, missing = tls_seeds()
    if "--keys" in sys.argv:
        print("\n".join(key_lines)); return
    h2_seeds()
    hpack_seeds()
    if missing:
        sys.exit("FuzzTLSRecords.swift lacks %d key log lines of its seeds (print them with --keys)" % len(missing))

if __name__ == "__main__":
    main()

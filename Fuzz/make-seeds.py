#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Fuzz/corpus/<Target>/) from the committed captures
(Captures/*.pcap, Captures/variants, Captures/har) and, when present, ../shared/public-captures:
small seeds derived from them (a few packets, a few HAR entries, one connection's segments in
each target's own input format), never the files themselves. Deterministic: the same captures
give the same seeds. Run from anywhere: python3 Fuzz/make-seeds.py
"""
import glob, gzip, hashlib, json, os, random, struct, sys, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "public-captures")

def write(target, data, name=None):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def read_pcap(path):
    """(endian, nanosecond, linktype, [(sec, frac, caplen, origlen, data)]) of a classic pcap, or None."""
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        try: raw = gzip.decompress(raw)
        except Exception: return None
    if len(raw) < 24: return None
    magic = raw[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", False), b"\xa1\xb2\xc3\xd4": (">", False),
             b"\x4d\x3c\xb2\xa1": ("<", True), b"\xa1\xb2\x3c\x4d": (">", True)}
    if magic not in table: return None
    e, nano = table[magic]
    linktype = struct.unpack(e + "I", raw[20:24])[0] & 0x0FFFFFFF
    packets, off = [], 24
    while off + 16 <= len(raw):
        sec, frac, caplen, origlen = struct.unpack(e + "IIII", raw[off:off + 16])
        data = raw[off + 16:off + 16 + caplen]
        if len(data) < caplen: break
        packets.append((sec, frac, caplen, origlen, data))
        off += 16 + caplen
    return e, nano, linktype, packets

def pcap_bytes(linktype, packets, nano=False):
    out = struct.pack("<IHHiIII", 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0, 262144, linktype)
    for sec, frac, caplen, origlen, data in packets:
        out += struct.pack("<IIII", sec, frac, len(data), origlen) + data
    return out

def pcapng_bytes(linktype, packets, nano=False):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", kind, n) + body + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = (struct.pack("<HHB", 9, 1, 9) + b"\0\0\0" if nano else b"") + struct.pack("<HH", 0, 0)
    idb = block(1, struct.pack("<HHI", linktype, 0, 262144) + options)
    out = shb + idb
    for sec, frac, caplen, origlen, data in packets:
        t = sec * (10**9 if nano else 10**6) + frac
        out += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(data), origlen) + data)
    return out

def ip_of(linktype, frame):
    """The IP packet inside a frame, or None."""
    if linktype == 1:
        off, et = 12, None
        while off + 2 <= len(frame):
            et = struct.unpack(">H", frame[off:off + 2])[0]
            if et in (0x8100, 0x88a8): off += 4; continue
            break
        return frame[off + 2:] if et in (0x0800, 0x86dd) else None
    if linktype == 113: return frame[16:]
    if linktype == 276: return frame[20:]
    if linktype in (0, 108): return frame[4:]
    if linktype in (12, 14, 101, 228, 229): return frame
    return None

def tcp_of(ip):
    """(src, dst, sport, dport, seq, ack, flags, payload) of an unfragmented TCP packet."""
    if not ip: return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or len(ip) < ihl + 20: return None
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst, t = ip[12:16], ip[16:20], ip[ihl:total if total else len(ip)]
    elif v == 6:
        if ip[6] != 6 or len(ip) < 60: return None
        src, dst, t = ip[8:24], ip[24:40], ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    sport, dport, seq, ack, off_flags = struct.unpack(">HHIIH", t[:14])
    return src, dst, sport, dport, seq, ack, off_flags & 0x3F, t[(off_flags >> 12) * 4:]

def captures():
    paths = sorted(glob.glob(os.path.join(ROOT, "Captures", "*.pcap*")) + glob.glob(os.path.join(ROOT, "Captures", "variants", "*.pcap"))
                   + glob.glob(os.path.join(ROOT, "Captures", "*", "*.pcap")))
    if os.path.isdir(SHARED):
        paths += sorted(p for p in glob.glob(os.path.join(SHARED, "*.pcap")) if os.path.getsize(p) < 4 << 20)
    for p in paths:
        parsed = read_pcap(p)
        if parsed and parsed[3]: yield p, parsed

def connections(linktype, packets):
    """Per connection (first-seen order): its segments as (fromClient, seq, ack, flags, payload)."""
    conns, order = {}, []
    for _, _, _, _, frame in packets:
        t = tcp_of(ip_of(linktype, frame))
        if not t: continue
        src, dst, sport, dport, seq, ack, flags, payload = t
        a, b = (src, sport), (dst, dport)
        key = (a, b) if (a, b) in conns else (b, a) if (b, a) in conns else None
        if key is None:
            key = (a, b); conns[key] = []; order.append(key)
        conns[key].append((key[0] == a, seq, ack, flags, payload))
    return [conns[k] for k in order]

LINKS = [1, 113, 276, 0, 108, 12, 14, 101, 228, 229, 147]

def main():
    seen_links = set()
    for path, (e, nano, linktype, packets) in captures():
        few = packets[:8]
        # Capture file: a few packets in pcap (µs and ns), pcapng, gzip.
        write("FuzzCaptureFile", pcap_bytes(linktype, few))
        if linktype not in seen_links:
            seen_links.add(linktype)
            write("FuzzCaptureFile", pcap_bytes(linktype, [(s, f * 1000, c, o, d) for s, f, c, o, d in few], nano=True))
            write("FuzzCaptureFile", pcapng_bytes(linktype, few))
            write("FuzzCaptureFile", gzip.compress(pcap_bytes(linktype, few), mtime=0))
        # Packet decoder: [link type index][limits][frames: time step, length, bytes].
        if linktype in LINKS:
            out = bytes([LINKS.index(linktype), 0])
            for _, _, _, _, d in packets[:16]:
                out += bytes([1]) + struct.pack(">H", len(d)) + d
            write("FuzzPacketDecoder", out[:8192])
        conns = connections(linktype, packets)
        for segments in conns[:3]:
            # TCP assembler: limits 0, four ISNs, 5-byte segments relative to the ISNs.
            isn = [None, None]
            for c, seq, ack, flags, payload in segments:
                d = 0 if c else 1
                if isn[d] is None: isn[d] = seq - 1 if flags & 2 else seq
            isn = [x or 0 for x in isn]
            out = bytes([0]) + struct.pack(">IIII", isn[0] & 0xFFFFFFFF, 0x10000000, isn[1] & 0xFFFFFFFF, 0x20000000)
            for c, seq, ack, flags, payload in segments[:200]:
                d = 0 if c else 1
                offset = (seq - isn[d]) & 0xFFFFFFFF
                if flags & 2: offset = (offset) & 0xFFFFFFFF
                for start in range(0, max(1, len(payload)), 255):
                    if offset + start > 0xFFFF: break
                    n = min(255, len(payload) - start) if payload else 0
                    out += bytes([d << 2 | 1 << 4, flags if start == 0 else flags & ~2]) + struct.pack(">H", offset + start + (1 if flags & 2 and start else 0)) + bytes([n])
            write("FuzzTCPAssembler", out)
            # HTTP/1: configuration 0, then [op][length][bytes] per payload in capture order.
            out = bytes([0])
            for c, seq, ack, flags, payload in segments:
                if payload: out += bytes([0 if c else 1]) + struct.pack(">H", len(payload)) + payload
            if len(out) > 1: write("FuzzHTTP1", out[:8192])
    # Body decoder: gzip, zlib, raw deflate, concatenated, truncated, a small bomb.
    bodies = [b'{"ok":true}', b"hello " * 50, bytes(range(256)) * 4, b"\0" * 100000]
    for i, body in enumerate(bodies):
        raw = zlib.compressobj(9, zlib.DEFLATED, -15); raw = raw.compress(body) + raw.flush()
        for config, stream in [(0x00, gzip.compress(body, mtime=0)), (0x01, zlib.compress(body)), (0x01, raw),
                               (0x00, gzip.compress(body, mtime=0) * 2), (0x03, gzip.compress(gzip.compress(body, mtime=0), mtime=0)),
                               (0x40, gzip.compress(body, mtime=0)[:-6]), (0x90, gzip.compress(body, mtime=0))]:
            write("FuzzBodyDecoder", bytes([config, 7 * (i + 1)]) + stream)
    # HAR: each HAR cut to its first entries (and pages), re-serialised.
    hars = sorted(glob.glob(os.path.join(ROOT, "Captures", "har", "*.har")) + glob.glob(os.path.join(ROOT, "Captures", "*", "*.har")))
    if os.path.isdir(SHARED): hars += sorted(glob.glob(os.path.join(SHARED, "*.har")))
    for p in hars:
        try: doc = json.load(open(p, encoding="utf-8-sig"))
        except Exception: continue
        log = doc.get("log", {})
        entries = log.get("entries", [])
        for entry in entries:
            for side in ("request", "response"):
                content = entry.get(side, {}).get("content") or entry.get(side, {}).get("postData")
                if isinstance(content, dict) and isinstance(content.get("text"), str): content["text"] = content["text"][:64]
        log["entries"] = entries[:3]
        log["pages"] = log.get("pages", [])[:1]
        write("FuzzHAR", json.dumps(doc, indent=1, ensure_ascii=False).encode()[:12000])
    # Rules and reports: structured readers take any bytes; a few fixed random starts.
    rng = random.Random(11)
    for target in ("FuzzRules", "FuzzReports"):
        for n in (16, 64, 256, 1024):
            write(target, bytes(rng.randrange(256) for _ in range(n)))

if __name__ == "__main__":
    main()

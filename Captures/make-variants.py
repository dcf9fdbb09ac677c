#!/usr/bin/env python3
"""Derive TCP/pcap edge-case variants from the real captures -> Captures/variants/.

Python 3 standard library only (classic pcap is read and written by hand).
Deterministic: same input captures -> byte-identical outputs (fixed seed).
Also rewrites the variants section of Captures/README.md (between the
`variants:begin` / `variants:end` markers) with which packets were changed.

  python3 Captures/make-variants.py

Frame numbers below are 1-based, as in Wireshark/tshark, and refer to the
SOURCE capture unless stated otherwise.

Checksums: packets whose TCP header or payload is changed or synthesised get
correct IPv4 header and TCP checksums recomputed here.  Untouched packets keep
the checksums as captured; on Linux loopback those are typically NOT valid
(checksum offload leaves a partial checksum), so a parser must not reject
segments on checksum grounds for loopback captures.
"""
import os
import random
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "variants")
SEED = 1729


# ------------------------------------------------------------------ pcap I/O

class Pcap:
    def __init__(self, path):
        data = open(path, "rb").read()
        magic = data[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            self.endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            self.endian = ">"
        else:
            raise ValueError(f"{path}: not a classic pcap file")
        self.header = data[:24]
        self.nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        _, _, _, _, _, self.snaplen, self.linktype = struct.unpack(self.endian + "IHHiIII", data[:24])
        self.linktype &= 0x0FFFFFFF
        self.packets = []  # [ts_sec, ts_frac, orig_len, bytes]
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, orig = struct.unpack(self.endian + "IIII", data[off:off + 16])
            self.packets.append([sec, frac, orig, data[off + 16:off + 16 + incl]])
            off += 16 + incl

    def serialize(self, packets):
        out = [self.header]
        for sec, frac, orig, b in packets:
            out.append(struct.pack(self.endian + "IIII", sec, frac, len(b), max(orig, len(b))))
            out.append(b)
        return b"".join(out)


# ------------------------------------------------------------------ packet parsing

def l3_offset(linktype, b):
    if linktype == 1:  # Ethernet (Linux lo)
        off, et = 14, struct.unpack("!H", b[12:14])[0]
        while et in (0x8100, 0x88A8):
            et = struct.unpack("!H", b[off + 2:off + 4])[0]
            off += 4
        return off, et
    if linktype == 113:  # Linux cooked v1
        return 16, struct.unpack("!H", b[14:16])[0]
    if linktype == 276:  # Linux cooked v2
        return 20, struct.unpack("!H", b[0:2])[0]
    if linktype in (0, 108):  # BSD loopback
        fam = struct.unpack("<I", b[:4])[0] if linktype == 0 else struct.unpack("!I", b[:4])[0]
        return 4, 0x0800 if fam == 2 else 0x86DD
    if linktype in (101, 228, 229, 12, 14):  # raw IP
        return 0, 0x0800 if b[0] >> 4 == 4 else 0x86DD
    raise ValueError(f"unsupported linktype {linktype}")


class Seg:
    """Parsed view of one TCP packet (offsets into the frame bytes)."""

    def __init__(self, linktype, b):
        self.l3, et = l3_offset(linktype, b)
        self.v6 = et == 0x86DD
        if et == 0x0800:
            ihl = (b[self.l3] & 0x0F) * 4
            if b[self.l3 + 9] != 6:
                raise ValueError("not TCP")
            self.src, self.dst = b[self.l3 + 12:self.l3 + 16], b[self.l3 + 16:self.l3 + 20]
            self.l4 = self.l3 + ihl
            self.ip_end = self.l3 + struct.unpack("!H", b[self.l3 + 2:self.l3 + 4])[0]
        elif et == 0x86DD:
            if b[self.l3 + 6] != 6:
                raise ValueError("not TCP (or IPv6 extension headers)")
            self.src, self.dst = b[self.l3 + 8:self.l3 + 24], b[self.l3 + 24:self.l3 + 40]
            self.l4 = self.l3 + 40
            self.ip_end = self.l4 + struct.unpack("!H", b[self.l3 + 4:self.l3 + 6])[0]
        else:
            raise ValueError("not IP")
        t = self.l4
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", b[t:t + 12])
        self.doff = (b[t + 12] >> 4) * 4
        self.flags = b[t + 13]
        self.payload = b[t + self.doff:self.ip_end]

    @property
    def key(self):
        return (self.src, self.sport, self.dst, self.dport)

    @property
    def conn(self):
        a, b = (self.src, self.sport), (self.dst, self.dport)
        return (a, b) if a < b else (b, a)

    syn = property(lambda s: bool(s.flags & 0x02))
    ackf = property(lambda s: bool(s.flags & 0x10))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def rebuild(linktype, frame, seq=None, ack=None, payload=None, sack_delta=None):
    """Return a new frame with TCP seq/ack/payload replaced; lengths and
    IPv4 + TCP checksums recomputed."""
    s = Seg(linktype, frame)
    b = bytearray(frame[:s.l4 + s.doff])
    t = s.l4
    if seq is not None:
        b[t + 4:t + 8] = struct.pack("!I", seq)
    if ack is not None:
        b[t + 8:t + 12] = struct.pack("!I", ack)
    if sack_delta is not None:  # shift SACK block edges (option kind 5)
        i = t + 20
        while i < t + s.doff:
            kind = b[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            ln = b[i + 1]
            if kind == 5:
                for j in range(i + 2, i + ln, 4):
                    v = struct.unpack("!I", b[j:j + 4])[0]
                    b[j:j + 4] = struct.pack("!I", (v + sack_delta) & 0xFFFFFFFF)
            i += max(ln, 2)
    pl = s.payload if payload is None else payload
    seglen = s.doff + len(pl)
    if s.v6:
        b[s.l3 + 4:s.l3 + 6] = struct.pack("!H", seglen)
        pseudo = bytes(s.src) + bytes(s.dst) + struct.pack("!IxxxB", seglen, 6)
    else:
        ihl = s.l4 - s.l3
        b[s.l3 + 2:s.l3 + 4] = struct.pack("!H", ihl + seglen)
        b[s.l3 + 10:s.l3 + 12] = b"\0\0"
        b[s.l3 + 10:s.l3 + 12] = struct.pack("!H", csum(bytes(b[s.l3:s.l4])))
        pseudo = bytes(s.src) + bytes(s.dst) + struct.pack("!xBH", 6, seglen)
    b[t + 16:t + 18] = b"\0\0"
    tcp = bytes(b[t:]) + pl
    b[t + 16:t + 18] = struct.pack("!H", csum(pseudo + tcp))
    return bytes(b) + pl


# ------------------------------------------------------------------ stream helpers

class Capture:
    def __init__(self, name):
        self.name = name
        self.pcap = Pcap(os.path.join(HERE, name))
        self.lt = self.pcap.linktype
        self.segs = []
        for p in self.pcap.packets:
            try:
                self.segs.append(Seg(self.lt, p[3]))
            except (ValueError, struct.error, IndexError):
                self.segs.append(None)
        self.orig = list(range(1, len(self.segs) + 1))

    def restrict(self, conn):
        """Keep only the packets of one TCP connection (remembers source frame numbers)."""
        keep = [i for i, sg in enumerate(self.segs) if sg and sg.conn == conn]
        self.orig = [self.orig[i] for i in keep]
        self.pcap.packets = [self.pcap.packets[i] for i in keep]
        self.segs = [self.segs[i] for i in keep]
        return self

    def src(self, i):
        """1-based frame number in the SOURCE capture of (current) index i."""
        return self.orig[i]

    def conn_of(self, needle):
        """(connection, direction key) of the first segment whose payload contains needle."""
        for i, s in enumerate(self.segs):
            if s and s.payload and needle in s.payload:
                return s.conn, s.key
        raise LookupError(f"{self.name}: no segment contains {needle!r}")

    def indices(self, conn):
        return [i for i, s in enumerate(self.segs) if s and s.conn == conn]

    def data_segs(self, key):
        """(index, stream offset relative to first data byte, payload) for one direction."""
        idx = [i for i, s in enumerate(self.segs) if s and s.key == key and s.payload]
        syn = [s for s in self.segs if s and s.key == key and s.syn]
        base = (syn[0].seq + 1) if syn else self.segs[idx[0]].seq
        return [(i, (self.segs[i].seq - base) & 0xFFFFFFFF, self.segs[i].payload) for i in idx]

    def stream_bytes(self, key):
        buf = bytearray()
        for _, off, pl in self.data_segs(key):
            end = off + len(pl)
            if end > len(buf):
                buf.extend(b"\0" * (end - len(buf)))
            buf[off:end] = pl
        return bytes(buf)

    def seg_at(self, key, offset):
        """Index of the first data segment covering stream offset."""
        for i, off, pl in self.data_segs(key):
            if off <= offset < off + len(pl):
                return i, off, pl
        raise LookupError(offset)

    def write(self, out_name, packets):
        path = os.path.join(OUT, out_name)
        with open(path, "wb") as f:
            f.write(self.pcap.serialize(packets))
        return path


# ------------------------------------------------------------------ variants

def variants():
    notes = []  # (file, source, description)
    # Every variant keeps only the packets of the connection it is about, so
    # it isolates one pathology; frame numbers in the notes are those of the
    # SOURCE capture, "variant frame N" those of the variant file.
    edge = Capture("edge-http1.pcap")
    # The /split response (headers and body written in small segments).
    conn, skey = edge.conn_of(b"X-Split:")
    edge.restrict(conn)
    P = edge.pcap.packets
    fr = edge.src
    sstream = edge.stream_bytes(skey)
    rstart = sstream.index(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Split")
    bstart = sstream.index(b"\r\n\r\n", rstart) + 4
    dsegs = edge.data_segs(skey)
    hseg = edge.seg_at(skey, rstart + 30)   # a segment in the middle of the header block
    hseg2 = edge.seg_at(skey, hseg[1] + len(hseg[2]))
    bseg = edge.seg_at(skey, bstart + 450)  # a segment in the middle of the body
    conn_desc = (f"only the connection with GET /chunked + GET /split (source frames {fr(0)}-{fr(len(P) - 1)}, "
                 f"{len(P)} packets)")

    # 1. swap two adjacent header segments
    pk = [list(p) for p in P]
    a, b = hseg[0], hseg2[0]
    pk[a][3], pk[b][3] = P[b][3], P[a][3]
    pk[a][2], pk[b][2] = P[b][2], P[a][2]
    edge.write("reorder-swap.pcap", pk)
    notes.append(("reorder-swap.pcap", edge.name,
                  f"{conn_desc}: server segments frame {fr(a)} and {fr(b)} (both inside the /split response "
                  f"header block) swapped; timestamps stay in place"))

    # 2. shuffle every window of 4 server data segments of that connection
    rnd = random.Random(SEED)
    pk = [list(p) for p in P]
    idx = [i for i, _, _ in dsegs]
    moved = []
    for w in range(0, len(idx) - 1, 4):
        win = idx[w:w + 4]
        perm = win[:]
        rnd.shuffle(perm)
        if perm == win:
            perm = win[1:] + win[:1]
        for dst, src in zip(win, perm):
            pk[dst][2], pk[dst][3] = P[src][2], P[src][3]
        moved.append("[" + ",".join(str(fr(x)) for x in perm) + "]")
    edge.write("reorder-shuffle.pcap", pk)
    notes.append(("reorder-shuffle.pcap", edge.name,
                  f"{conn_desc}: server->client data segments shuffled in windows of 4 (seed {SEED}); "
                  f"new order of source frames in each window: {' '.join(moved)}"))

    # 3. exact duplicate (retransmission) of one body segment
    d = edge.seg_at(skey, bstart + 150)[0]
    pk = [list(p) for p in P]
    nxt = d + 1
    dup = [P[nxt][0], P[nxt][1], P[d][2], P[d][3]]
    pk.insert(nxt + 1, dup)
    edge.write("retransmit-dup.pcap", pk)
    notes.append(("retransmit-dup.pcap", edge.name,
                  f"{conn_desc}: server body segment frame {fr(d)} repeated verbatim as variant frame {nxt + 2} "
                  f"(after source frame {fr(nxt)}, same timestamp as it)"))

    # 4. partially overlapping retransmission (second half of seg k + first half of seg k+1)
    k, koff, kpl = edge.seg_at(skey, bstart + 600)
    k2, k2off, k2pl = edge.seg_at(skey, koff + len(kpl))
    start = koff + len(kpl) // 2
    end = k2off + len(k2pl) // 2
    syn_seq = edge.segs[k].seq - koff
    for suffix, data, what in [("", sstream[start:end], "identical bytes"),
                               ("-conflict", bytes(sstream[start:end]).upper().replace(b" ", b"#"),
                                "DIFFERENT bytes (upper-cased, spaces->'#'): which copy wins is up to the reassembler")]:
        pk = [list(p) for p in P]
        frame = rebuild(edge.lt, P[k2][3], seq=(syn_seq + start) & 0xFFFFFFFF, payload=data)
        pk.insert(k2 + 1, [P[k2][0], P[k2][1], len(frame), frame])
        edge.write(f"retransmit-overlap{suffix}.pcap", pk)
        notes.append((f"retransmit-overlap{suffix}.pcap", edge.name,
                      f"{conn_desc}: variant frame {k2 + 2} inserted after source frame {fr(k2)}: a retransmission "
                      f"of stream bytes {start}..{end} (second half of frame {fr(k)} + first half of frame {fr(k2)}), "
                      f"{what}; checksums of the new frame recomputed"))

    # 5. drop one segment inside the body / inside the header block -> gap
    for name, (i, off, pl), where in [("drop-body.pcap", bseg, "in the middle of the /split body"),
                                      ("drop-header.pcap", hseg, "in the middle of the /split header block")]:
        pk = [list(p) for j, p in enumerate(P) if j != i]
        edge.write(name, pk)
        notes.append((name, edge.name,
                      f"{conn_desc}: server data frame {fr(i)} ({len(pl)} bytes at stream offset {off}, {where}) "
                      f"removed -> permanent gap (the client ACKs still cover it)"))

    # 6. capture starting mid-stream
    ka = Capture("edge-http1.pcap")
    ka.restrict(ka.conn_of(b"GET /json/ka-2")[0])
    first = next(i for i, sg in enumerate(ka.segs) if b"GET /json/ka-2" in sg.payload)
    gone = list(range(first))
    ka.write("midstream-request.pcap", ka.pcap.packets[first:])
    fr = ka.src
    notes.append(("midstream-request.pcap", edge.name,
                  f"keep-alive connection (GET /json/ka-1, /json/ka-2, /etag, /etag 304): its first {len(gone)} packets "
                  f"(source frames {fr(gone[0])}-{fr(gone[-1])}: SYN, SYN-ACK, ACK, request 1 + response 1 and ACKs) removed; "
                  f"only this connection kept; it starts at a request boundary (GET /json/ka-2, source frame {fr(first)})"))
    fr = edge.src
    cut = edge.seg_at(skey, bstart + 300)[0]
    cidx = edge.indices(conn)
    gone = [i for i in cidx if i < cut]
    pk = [p for j, p in enumerate(P) if j not in set(gone)]
    edge.write("midstream-body.pcap", pk)
    notes.append(("midstream-body.pcap", edge.name,
                  f"{conn_desc}: its first {len(gone)} packets (source frames {fr(gone[0])}-{fr(gone[-1])}, incl. SYN and "
                  f"both requests) removed; the connection starts with a server segment in the middle of the "
                  f"/split body (source frame {fr(cut)})"))

    # 7. sequence-number wraparound (both directions) on the /split connection
    ckey = (skey[2], skey[3], skey[0], skey[1])  # client -> server
    deltas = {}
    for key in (skey, ckey):
        syn = next(s for s in edge.segs if s and s.key == key and s.syn)
        total = len(edge.stream_bytes(key))
        new_isn = (2 ** 32 - max(total // 2, 1) - 1) & 0xFFFFFFFF
        deltas[key] = (new_isn - syn.seq) & 0xFFFFFFFF
    pk = [list(p) for p in P]
    touched = 0
    for i in edge.indices(conn):
        s = edge.segs[i]
        other = (s.dst, s.dport, s.src, s.sport)
        dseq, dack = deltas[s.key], deltas[other]
        frame = rebuild(edge.lt, P[i][3], seq=(s.seq + dseq) & 0xFFFFFFFF,
                        ack=((s.ack + dack) & 0xFFFFFFFF) if s.ackf else None, sack_delta=dack)
        pk[i] = [P[i][0], P[i][1], P[i][2], frame]
        touched += 1
    edge.write("seq-wraparound.pcap", pk)
    sisn = (next(s for s in edge.segs if s and s.key == skey and s.syn).seq + deltas[skey]) & 0xFFFFFFFF
    cisn = (next(s for s in edge.segs if s and s.key == ckey and s.syn).seq + deltas[ckey]) & 0xFFFFFFFF
    notes.append(("seq-wraparound.pcap", edge.name,
                  f"{conn_desc}: all {touched} packets rewritten so both directions wrap past 2^32 about half-way "
                  f"through their data (server ISN {sisn:#010x}, client ISN {cisn:#010x}); the peer's ACK numbers "
                  f"and SACK blocks shifted accordingly; IPv4/TCP checksums of rewritten packets recomputed"))

    # 8. truncated files
    raw = open(os.path.join(HERE, edge.name), "rb").read()
    off, target, n = 24, int(len(raw) * 0.6), 0
    while True:
        incl = struct.unpack(edge.pcap.endian + "I", raw[off + 8:off + 12])[0]
        if off + 16 + incl > target and incl > 40:
            break
        off += 16 + incl
        n += 1
    cut_data = off + 16 + incl // 2
    with open(os.path.join(OUT, "truncated-mid-packet.pcap"), "wb") as f:
        f.write(raw[:cut_data])
    notes.append(("truncated-mid-packet.pcap", edge.name,
                  f"first {cut_data} of {len(raw)} bytes: {n} complete packets, then frame {n + 1}'s record header "
                  f"and {incl // 2} of its {incl} captured bytes"))
    cut_hdr = off + 7
    with open(os.path.join(OUT, "truncated-record-header.pcap"), "wb") as f:
        f.write(raw[:cut_hdr])
    notes.append(("truncated-record-header.pcap", edge.name,
                  f"first {cut_hdr} bytes: {n} complete packets, then 7 bytes of frame {n + 1}'s 16-byte record header"))
    return notes


def update_readme(notes):
    path = os.path.join(HERE, "README.md")
    lines = ["<!-- variants:begin (generated by make-variants.py; do not edit by hand) -->", "",
             "| variant | from | what was changed |", "|---|---|---|"]
    for f, src, desc in notes:
        lines.append(f"| `variants/{f}` | `{src}` | {desc} |")
    lines += ["", "<!-- variants:end -->"]
    block = "\n".join(lines)
    if not os.path.exists(path):
        return print(block)
    text = open(path).read()
    pat = re.compile(r"<!-- variants:begin.*?<!-- variants:end -->", re.S)
    if pat.search(text):
        text = pat.sub(lambda m: block, text)
    else:
        text += "\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


def main():
    os.makedirs(OUT, exist_ok=True)
    notes = variants()
    for f, src, desc in notes:
        print(f"variants/{f}  <- {src}: {desc}")
    update_readme(notes)


if __name__ == "__main__":
    sys.exit(main())

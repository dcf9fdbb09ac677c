"""Shared pieces of the hostile-input generators (scripts/hostile/gen-*.py).

Python 3 standard library only. Every generator is deterministic (fixed seeds, fixed times) and
streams what it writes: nothing the size of the output is held in memory.

The packets are built on the framing of a real recording, Captures/nginx-cors.pcap (curl ->
nginx on loopback): its Ethernet header, its IPv4 header fields (TTL, DF), its TCP options (the
SYN's MSS/SACK/timestamps/window scale, the data segments' timestamps), its window, and its first
request and response, byte for byte. Only addresses, ports, sequence numbers, times and the
hostile part change. TCP checksums are left as the recording has them on loopback (not valid:
checksum offload), which corscope, like tcpdump's readers, does not check.
"""
import json
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE_PCAP = os.path.join(ROOT, "Captures", "nginx-cors.pcap")
TEMPLATE_HAR = os.path.join(ROOT, "Captures", "chromium", "chromium-cors.har")
BASE_TIME = 1_764_000_000  # capture time of every generated file's first packet


def read_pcap(path):
    """(link type, [(sec, usec, frame bytes)]) of a little-endian microsecond pcap."""
    data = open(path, "rb").read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", path
    linktype = struct.unpack("<I", data[20:24])[0]
    packets, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        packets.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return linktype, packets


class Template:
    """The framing and the first exchange of the real capture."""

    def __init__(self, path=TEMPLATE_PCAP):
        self.linktype, self.packets = read_pcap(path)
        assert self.linktype == 1
        frames = [p[2] for p in self.packets]
        self.ethernet = frames[0][:14]

        def split(frame):
            ihl = (frame[14] & 15) * 4
            ip = frame[14:14 + ihl]
            tcp = frame[14 + ihl:]
            doff = (tcp[12] >> 4) * 4
            return ip, tcp[:doff], tcp[doff:]

        syn_ip, syn_tcp, _ = split(frames[0])
        self.ttl = syn_ip[8]
        self.syn_options = syn_tcp[20:]
        self.window = struct.unpack("!H", syn_tcp[14:16])[0]
        _, synack_tcp, _ = split(frames[1])
        self.synack_options = synack_tcp[20:]
        self.request = self.response = None
        for frame in frames:
            _, tcp, payload = split(frame)
            if self.request is None and payload.startswith(b"GET "):
                self.request, self.data_options = payload, tcp[20:]
            elif self.request is not None and payload.startswith(b"HTTP/1.1 "):
                self.response = payload
                break
        assert self.request and self.response
        head, _, _ = self.request.partition(b"\r\n\r\n")
        self.request_lines = head.split(b"\r\n")

    def request_with(self, target=None, extra_headers=(), method=None, body=b"", origin=None):
        """The template request, with another target, method or Origin, more header lines, a body."""
        start = self.request_lines[0].split(b" ")
        if method is not None:
            start[0] = method
        if target is not None:
            start[1] = target
        fields = self.request_lines[1:]
        if origin is not None:
            fields = [b"Origin: " + origin if f.lower().startswith(b"origin:") else f for f in fields]
        lines = [b" ".join(start)] + fields + list(extra_headers)
        if body:
            lines.append(b"Content-Length: %d" % len(body))
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def ip4(n):
    """The n-th address of 10.0.0.0/8 (never 10.0.0.0 itself), as 4 bytes."""
    n = n % 0xFFFFFE + 1
    return bytes([10, (n >> 16) & 255, (n >> 8) & 255, n & 255])


SERVER = bytes([10, 255, 255, 254])
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


class PcapWriter:
    """A classic microsecond pcap, Ethernet, written as it goes."""

    def __init__(self, out, template, snaplen=262144):
        self.f = open(out, "wb") if isinstance(out, str) else out
        self.t = template
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        self.ip_id = 0

    def frame(self, src, dst, sport, dport, seq, ack, flags, payload=b"", options=None,
              ip_id=None, frag=0x4000, proto_payload=None):
        """An Ethernet/IPv4/TCP frame; `proto_payload` replaces the TCP segment (fragments)."""
        if proto_payload is None:
            if options is None:
                options = self.t.syn_options if flags & SYN else self.t.data_options
            doff = (20 + len(options)) // 4
            tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                              doff << 4, flags, self.t.window, 0, 0) + options
            body = tcp + payload
        else:
            body = proto_payload
        if ip_id is None:
            self.ip_id = (self.ip_id + 1) & 0xFFFF
            ip_id = self.ip_id
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ip_id, frag, self.t.ttl, 6, 0, src, dst)
        return self.t.ethernet + ip + body

    def write(self, frame, time):
        sec = int(time)
        usec = int(round((time - sec) * 1_000_000))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        self.f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        self.f.write(frame)

    def packet(self, time, *args, **kwargs):
        self.write(self.frame(*args, **kwargs), time)

    def close(self):
        self.f.close()


class Connection:
    """One TCP connection of the writer: handshake, data both ways, close."""

    MSS = 1448

    def __init__(self, writer, client, cport, server=SERVER, sport=80, isn=1000, server_isn=5000):
        self.w, self.c, self.cp, self.s, self.sp = writer, client, cport, server, sport
        self.cseq, self.sseq = isn, server_isn

    def handshake(self, time):
        self.w.packet(time, self.c, self.s, self.cp, self.sp, self.cseq, 0, SYN)
        self.w.packet(time, self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, SYN | ACK,
                      options=self.w.t.synack_options)
        self.cseq += 1
        self.sseq += 1
        self.w.packet(time, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK)

    def send(self, time, data, from_client=True):
        """`data` (bytes, or an iterable of byte chunks) in segments of at most MSS bytes."""
        chunks = [data] if isinstance(data, (bytes, bytearray)) else data
        carry = b""
        for chunk in chunks:
            view = memoryview(carry + chunk) if carry else memoryview(chunk)
            offset = 0
            while len(view) - offset >= self.MSS:
                self._segment(time, bytes(view[offset:offset + self.MSS]), from_client)
                offset += self.MSS
            carry = bytes(view[offset:])
        if carry:
            self._segment(time, carry, from_client)

    def _segment(self, time, payload, from_client):
        if from_client:
            self.w.packet(time, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, PSH | ACK, payload)
            self.cseq += len(payload)
        else:
            self.w.packet(time, self.s, self.c, self.sp, self.cp, self.sseq, self.cseq, PSH | ACK, payload)
            self.sseq += len(payload)

    def close(self, time):
        self.w.packet(time, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, FIN | ACK)
        self.w.packet(time, self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, FIN | ACK)
        self.cseq += 1
        self.sseq += 1
        self.w.packet(time, self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK)

    def exchange(self, time, request, response):
        self.send(time, request)
        self.send(time, response, from_client=False)


def real_exchange(writer, template, time, client_index=0, cport=40000):
    """A whole connection carrying the template's request and response: the one exchange that
    must survive whatever hostile traffic surrounds it."""
    conn = Connection(writer, ip4(client_index), cport)
    conn.handshake(time)
    conn.exchange(time, template.request, template.response)
    conn.close(time)


def har_template(path=TEMPLATE_HAR):
    """The real HAR's top level and its first fetch/xhr entry (a CORS request from Chromium)."""
    har = json.load(open(path, encoding="utf-8"))
    entries = har["log"]["entries"]
    entry = next((e for e in entries if e.get("_resourceType") in ("fetch", "xhr")), entries[0])
    return har, entry


def har_prefix(har):
    """The HAR's bytes up to the first entry, and after the last: `{"log": {..., "entries": [` and `]}}`."""
    log = dict(har["log"])
    log["entries"] = "\0ENTRIES\0"
    text = json.dumps({"log": log}, ensure_ascii=False)
    head, tail = text.split('"\\u0000ENTRIES\\u0000"')
    return head.encode() + b"[", b"]" + tail.encode()


def size_argument(text):
    """An integer with an optional k/M/G suffix (powers of 1000 for counts: 1M = 1,000,000; for
    bytes the generators say which)."""
    text = text.strip()
    factor = 1
    for suffix, value in (("k", 10**3), ("K", 10**3), ("M", 10**6), ("G", 10**9)):
        if text.endswith(suffix):
            text, factor = text[:-1], value
    return int(float(text) * factor)


def usage(doc, argv):
    if len(argv) != 3:
        raise SystemExit("usage: %s SIZE OUT\n\n%s" % (os.path.basename(argv[0]), doc.strip()))
    return size_argument(argv[1]), argv[2]

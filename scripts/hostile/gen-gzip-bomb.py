#!/usr/bin/env python3
"""The real exchange, its response body replaced by SIZE bytes of zeros gzip-compressed
(`Content-Encoding: gzip`, ~1,000:1), built streaming with zlib: one MiB of zeros compressed with
a full flush (which resets the compressor, so every further MiB compresses to the same bytes),
repeated, then an empty final block and the gzip trailer (CRC-32 and length of all SIZE bytes).

What corscope must do: decode at most its cap (16 MiB) and flag decompression_cap_reached once.
Expected: anomaly.decompression_cap_reached = 1; the exchange complete.
Full size: 10 GB of zeros (SIZE 10G = 10^10 bytes; ~10 MB compressed)."""
import struct
import sys
import zlib
from hostile import BASE_TIME, Connection, PcapWriter, Template, ip4, usage

n, out = usage(__doc__, sys.argv)
MIB = 1 << 20
zeros = bytes(MIB)
compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
first = compressor.compress(b"") + compressor.flush(zlib.Z_SYNC_FLUSH)  # the gzip header alone
block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
assert again == block, "a full flush must make every MiB of zeros compress alike"
whole, rest = divmod(n, MIB)
tail = b""
if rest:
    tail = compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FULL_FLUSH)
crc = 0
for _ in range(whole):
    crc = zlib.crc32(zeros, crc)
crc = zlib.crc32(bytes(rest), crc)
trailer = b"\x03\x00" + struct.pack("<II", crc, n & 0xFFFFFFFF)  # empty final fixed block
length = len(first) + whole * len(block) + len(tail) + len(trailer)

t = Template()
head, _, _ = t.response.partition(b"\r\n\r\n")
lines = [l for l in head.split(b"\r\n") if not l.lower().startswith((b"content-length:", b"content-encoding:", b"transfer-encoding:"))]
lines += [b"Content-Encoding: gzip", b"Content-Length: %d" % length]
response_head = b"\r\n".join(lines) + b"\r\n\r\n"


def body():
    yield response_head + first
    for _ in range(whole):
        yield block
    yield tail + trailer


w = PcapWriter(out, t)
conn = Connection(w, ip4(1), 40001)
conn.handshake(BASE_TIME)
conn.send(BASE_TIME + 1, t.request)
conn.send(BASE_TIME + 1, body(), from_client=False)
conn.close(BASE_TIME + 2)
w.close()

#!/usr/bin/env python3
"""A pcapng cut inside an Enhanced Packet Block: SIZE copies of the real capture (27 exchanges
each), as pcapng (a Section Header, an Interface Description for Ethernet, one EPB per packet),
then half of one more block.

What corscope must do: analyse everything before the cut and say the file was cut.
Expected: 27 * SIZE exchanges, exit 0 with a warning.
Full size: 20,000 copies (~ 130 MB)."""
import struct
import sys
from hostile import usage
from truncated import copies


def block(kind, body):
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


n, out = usage(__doc__, sys.argv)
with open(out, "wb") as f:
    f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    f.write(block(1, struct.pack("<HHI", 1, 0, 262144)))
    for sec, usec, frame, cut in copies(n):
        ts = sec * 1_000_000 + usec
        epb = block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame)
        f.write(epb[:len(epb) // 2] if cut else epb)

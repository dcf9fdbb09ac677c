#!/usr/bin/env python3
"""The real request with SIZE more header fields (`X-Hostile-<i>: <i>`) in one message, then the
real response; then a second connection with the whole real exchange.

What corscope must do: stop at its cap on fields per section (512) or on head bytes (64 KiB),
flag header_too_large once, skip the rest of that direction as counted bytes, keep going.
Expected (SIZE > 512): anomaly.header_too_large = 1; the second exchange complete.
Full size: 100,000 fields."""
import sys
from hostile import BASE_TIME, Connection, PcapWriter, Template, ip4, real_exchange, usage

n, out = usage(__doc__, sys.argv)
t = Template()
w = PcapWriter(out, t)
conn = Connection(w, ip4(1), 40001)
conn.handshake(BASE_TIME)
head = t.request_with()


def chunks():
    yield head[:-2]
    for i in range(0, n, 1000):
        yield b"".join(b"X-Hostile-%d: %d\r\n" % (j, j) for j in range(i, min(n, i + 1000)))
    yield b"\r\n"


conn.send(BASE_TIME + 1, chunks())
conn.send(BASE_TIME + 2, t.response, from_client=False)
conn.close(BASE_TIME + 2)
real_exchange(w, t, BASE_TIME + 3, client_index=2, cport=40002)
w.close()

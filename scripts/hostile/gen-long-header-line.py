#!/usr/bin/env python3
"""The real request with one more header line of SIZE bytes (`X-Hostile: aaaa…`), streamed in
full-size segments and written as it goes (never held), then the real response; then a second
connection with the whole real exchange.

What corscope must do: stop buffering the head at its cap (64 KiB), flag header_too_large once,
skip the rest of that direction as counted bytes, and still report the second connection.
Expected: anomaly.header_too_large = 1; the second exchange complete.
Full size: 1 GB (SIZE 1G = 10^9 bytes)."""
import sys
from hostile import BASE_TIME, Connection, PcapWriter, Template, ip4, real_exchange, usage

n, out = usage(__doc__, sys.argv)
t = Template()
w = PcapWriter(out, t)
conn = Connection(w, ip4(1), 40001)
conn.handshake(BASE_TIME)
head = t.request_with()
start, end = head[:-2], b"\r\n\r\n"


def chunks():
    yield start + b"X-Hostile: "
    block = b"a" * (1 << 20)
    left = n
    while left > 0:
        yield block[:min(left, len(block))]
        left -= len(block)
    yield end


conn.send(BASE_TIME + 1, chunks())
conn.send(BASE_TIME + 2, t.response, from_client=False)
conn.close(BASE_TIME + 2)
real_exchange(w, t, BASE_TIME + 3, client_index=2, cport=40002)
w.close()

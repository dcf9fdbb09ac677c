#!/usr/bin/env python3
"""One connection whose request (the real capture's request, as a POST with a body that makes it
SIZE bytes) arrives in SIZE one-byte segments in reverse order, then the real response in order.

What corscope must do: buffer out-of-order segments in an ordered structure (O(log n) each), hit
the per-connection cap of 65,536 segments and skip the hole as one counted gap.
Expected (SIZE > 65,536): gaps = 1, gap_bytes = SIZE - 65,537, out_of_order_segments = 65,537,
late_bytes = SIZE - 65,537 (the bytes that arrive after the gap was given up on), retransmitted_bytes = 0.
SIZE <= 65,536: no gap, the whole request delivered.
Full size: 1,000,000 segments (~ 83 MB)."""
import sys
from hostile import BASE_TIME, PSH, ACK, Connection, PcapWriter, Template, ip4, usage


def sized_request(t, size):
    body_length = max(0, size - len(t.request_with(method=b"POST", body=b"x")) + 1)
    while True:
        request = t.request_with(method=b"POST", body=(b"0123456789" * (body_length // 10 + 1))[:body_length])
        if len(request) == size or body_length == 0:
            return request
        body_length += size - len(request)


def write(out, size, order):
    t = Template()
    w = PcapWriter(out, t)
    conn = Connection(w, ip4(1), 40000)
    conn.handshake(BASE_TIME)
    request = sized_request(t, size)
    start = conn.cseq
    positions = order(len(request))
    for k, i in enumerate(positions):
        time = BASE_TIME + 1 + k * 1e-6
        w.packet(time, conn.c, conn.s, conn.cp, conn.sp, start + i, conn.sseq, PSH | ACK, request[i:i + 1])
    conn.cseq = start + len(request)
    end = BASE_TIME + 2 + len(request) * 1e-6
    conn.send(end, t.response, from_client=False)
    conn.close(end)
    w.close()


if __name__ == "__main__":
    n, out = usage(__doc__, sys.argv)
    write(out, n, lambda count: range(count - 1, -1, -1))

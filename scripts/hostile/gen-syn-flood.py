#!/usr/bin/env python3
"""A SYN flood: SIZE flows that each send a SYN (the real capture's SYN, its options kept) and
never anything else, over 100 s of capture time, then one whole real exchange (the template's
request and response) on a connection of its own.

What corscope must do: keep at most its connection cap open (the least recently active flow is
evicted, O(1) each), finish in time, and still report the one real exchange.
Expected with the default cap of 200,000 connections: evicted = max(0, SIZE + 1 - 200,000).
Full size (the issue): 1,000,000 flows (~ 100 MB)."""
import sys
from hostile import BASE_TIME, SERVER, SYN, PcapWriter, Template, ip4, real_exchange, usage

n, out = usage(__doc__, sys.argv)
t = Template()
w = PcapWriter(out, t)
for i in range(n):
    time = BASE_TIME + 100.0 * i / max(n, 1)
    w.packet(time, ip4(i + 1), SERVER, 1024 + i % 64000, 80, 1_000_000 + i, 0, SYN)
real_exchange(w, t, BASE_TIME + 100.0)
w.close()

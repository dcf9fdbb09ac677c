#!/usr/bin/env python3
"""SIZE connections (handshake seen, never closed), each carrying 1,000 pipelined copies of the
real request (targets /r/<i>) and no response, within one minute of capture time.

What corscope must do: hold at most its budget of unanswered requests over all connections
(65,536 requests / 32 MiB by default), evict the oldest beyond it (pending_request_evicted,
counted), and report every request without a response at the end.
Full size: 10,000 connections (10,000,000 requests, ~ 1.5 GB)."""
import sys
from hostile import BASE_TIME, Connection, PcapWriter, Template, ip4, usage

n, out = usage(__doc__, sys.argv)
t = Template()
requests = b"".join(t.request_with(target=b"/r/%d" % j) for j in range(1000))
w = PcapWriter(out, t)
for i in range(n):
    conn = Connection(w, ip4(i + 1), 1024 + i % 64000)
    time = BASE_TIME + 60.0 * i / max(n, 1)
    conn.handshake(time)
    conn.send(time, requests)
w.close()

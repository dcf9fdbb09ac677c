#!/usr/bin/env python3
"""An IP fragment flood: SIZE datagrams of which only the first fragment is sent (offset 0, more
fragments set; the real request's first 512 bytes of TCP segment), each from its own address,
over 20 s of capture time; 31 s later (past the 30 s fragment timeout) the whole real exchange,
its request sent as two fragments; then 100 more first fragments that the capture ends on.

What corscope must do: hold at most its cap of datagrams in progress (256), drop the oldest
beyond it or when they time out, give up on those still waiting at the end of the capture, and
count every fragment it threw away.
Expected: ip_fragments_dropped = SIZE + 100, ip_datagrams_reassembled = 1, the real exchange
complete.
Full size: 1,000,000 datagrams (~ 600 MB)."""
import struct
import sys
from hostile import ACK, BASE_TIME, PSH, SERVER, Connection, PcapWriter, Template, ip4, usage

n, out = usage(__doc__, sys.argv)
t = Template()
w = PcapWriter(out, t)
segment = w.frame(ip4(0), SERVER, 40000, 80, 1001, 5001, PSH | ACK, t.request * 4)[34:]
first = segment[:512]
for i in range(n):
    w.packet(BASE_TIME + 20.0 * i / max(n, 1), ip4(i + 1), SERVER, 0, 0, 0, 0, 0,
             ip_id=i & 0xFFFF, frag=0x2000, proto_payload=first)
conn = Connection(w, ip4(0), 40000)
time = BASE_TIME + 51
conn.handshake(time)
whole = w.frame(conn.c, conn.s, conn.cp, conn.sp, conn.cseq, conn.sseq, PSH | ACK, t.request)[34:]
split = (len(whole) // 2) & ~7
w.packet(time, conn.c, conn.s, 0, 0, 0, 0, 0, ip_id=0xBEEF, frag=0x2000, proto_payload=whole[:split])
w.packet(time, conn.c, conn.s, 0, 0, 0, 0, 0, ip_id=0xBEEF, frag=split // 8, proto_payload=whole[split:])
conn.cseq += len(t.request)
conn.send(time, t.response, from_client=False)
conn.close(time)
for i in range(100):
    w.packet(time + 1, ip4(n + i + 1), SERVER, 0, 0, 0, 0, 0, ip_id=(n + i) & 0xFFFF, frag=0x2000, proto_payload=first)
w.close()

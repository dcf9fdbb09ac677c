#!/usr/bin/env python3
"""A pcap cut inside a record: SIZE copies of the real capture Captures/nginx-cors.pcap (27
exchanges each, on their own addresses), then half of one more record.

What corscope must do: analyse everything before the cut and say the file was cut (a warning).
Expected: 27 * SIZE exchanges, exit 0 with a warning.
Full size: 20,000 copies (~ 120 MB)."""
import sys
from hostile import usage
from truncated import pcap_records

n, out = usage(__doc__, sys.argv)
with open(out, "wb") as f:
    for piece, _ in pcap_records(n):
        f.write(piece)

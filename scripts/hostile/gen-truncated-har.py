#!/usr/bin/env python3
"""A HAR cut inside an entry: SIZE copies of every entry of the real Chromium HAR
(Captures/chromium/chromium-cors.har), then the first half of one more entry, and no end.

What corscope must do: read every complete entry and say the file was cut (a warning).
Expected: SIZE times the exchanges of the whole HAR, exit 0 with a warning.
Full size: 2,000 copies (~ 500 MB)."""
import json
import sys
from hostile import TEMPLATE_HAR, har_prefix, usage

n, out = usage(__doc__, sys.argv)
har = json.load(open(TEMPLATE_HAR, encoding="utf-8"))
head, _ = har_prefix(har)
entries = [json.dumps(e, ensure_ascii=False).encode() for e in har["log"]["entries"]]
with open(out, "wb") as f:
    f.write(head)
    first = True
    for _ in range(n):
        for e in entries:
            f.write((b"" if first else b",") + e)
            first = False
    cut = entries[0]
    f.write((b"" if first else b",") + cut[:len(cut) // 2])

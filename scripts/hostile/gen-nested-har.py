#!/usr/bin/env python3
"""A HAR (the real Chromium HAR's top level and one of its CORS entries) whose second entry
carries a value nested SIZE `[` deep (`"_hostile": [[[…]]]`), then the real entry again.

What corscope must do: never recurse once per `[` (no stack overflow), bound what it keeps, and
report the nested entry as skipped (counted, with a warning) while the two others are read.
Full size: 1,000,000 nested `[`."""
import json
import sys
from hostile import har_prefix, har_template, usage

n, out = usage(__doc__, sys.argv)
har, entry = har_template()
head, tail = har_prefix(har)
text = json.dumps(entry, ensure_ascii=False).encode()
with open(out, "wb") as f:
    f.write(head + text + b",")
    f.write(text[:-1] + b', "_hostile": ')
    for bracket in (b"[", b"]"):
        left = n
        while left > 0:
            f.write(bracket * min(left, 1 << 16))
            left -= 1 << 16
    f.write(b"}," + text + tail)

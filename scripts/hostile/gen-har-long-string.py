#!/usr/bin/env python3
"""A HAR (the real Chromium HAR's top level and one of its CORS entries) whose second entry's
response body text is one JSON string of SIZE bytes, streamed; then the real entry again.

What corscope must do: never hold the string whole; the entry is over the HAR entry limit
(64 MiB) when SIZE is larger, and is then skipped, counted and named in a warning.
Full size: 500 MB (SIZE 500M = 5 * 10^8 bytes)."""
import json
import sys
from hostile import har_prefix, har_template, usage

n, out = usage(__doc__, sys.argv)
har, entry = har_template()
head, tail = har_prefix(har)
text = json.dumps(entry, ensure_ascii=False).encode()
big = json.loads(text)
big["response"]["content"]["text"] = "\0BODY\0"
before, after = json.dumps(big, ensure_ascii=False).encode().split(b'"\\u0000BODY\\u0000"')
with open(out, "wb") as f:
    f.write(head + text + b"," + before + b'"')
    block = b"A" * (1 << 20)
    left = n
    while left > 0:
        f.write(block[:min(left, len(block))])
        left -= len(block)
    f.write(b'"' + after + b"," + text + tail)

#!/usr/bin/env python3
"""A HAR of SIZE entries (one real CORS entry of Chromium's HAR, repeated), every one with bytes
that are not UTF-8 inside its strings -- the URL, header names and values (Origin included), the
response's status text and body text, cookie values -- and escapes of lone UTF-16 surrogates
(`\\ud800`, `\\udfff`).

What corscope must do: read every entry (a HAR is UTF-8 by specification, but exports from
other tools carry such bytes), write valid JSON.
Expected: SIZE exchanges; every --json line parses.
Full size: 100,000 entries."""
import json
import sys
from hostile import har_prefix, har_template, usage

BAD = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xfe\xfe", b"\\ud800", b"\\udfff"]
n, out = usage(__doc__, sys.argv)
har, entry = har_template()
head, tail = har_prefix(har)
marked = json.loads(json.dumps(entry))
marked["request"]["url"] += "?q=\u0001BAD\u0001"
marked["request"]["headers"] = marked["request"]["headers"] + [{"name": "X-\u0001BAD\u0001", "value": "v\u0001BAD\u0001"}]
for h in marked["request"]["headers"]:
    if h["name"].lower() == "origin":
        h["value"] += "\u0001BAD\u0001"
marked["response"]["statusText"] = "OK \u0001BAD\u0001"
marked["response"]["headers"] = marked["response"]["headers"] + [{"name": "X-Value", "value": "\u0001BAD\u0001"}]
marked["response"]["content"]["text"] = "body \u0001BAD\u0001"
template = json.dumps(marked, ensure_ascii=False).encode().split(b"\\u0001BAD\\u0001")
with open(out, "wb") as f:
    f.write(head)
    for i in range(n):
        bad = BAD[i % len(BAD)]
        f.write((b"," if i else b"") + bad.join(template))
    f.write(tail)

#!/usr/bin/env python3
"""SIZE exchanges on one keep-alive connection (the real request and response), every one with
bytes that are not UTF-8 in the request target, a header name, header values (Origin included),
the response's reason phrase and its Access-Control-Allow-Origin: a lone 0xff, an overlong
`/` (0xc0 0xaf), a UTF-16 surrogate (0xed 0xa0 0x80), a sequence cut short (0xe2 0x82), NUL (in
values; a target with NUL or a control byte is not a request line, and a target must stay one).

What corscope must do: keep every exchange, flag non_utf8_header_bytes, write valid JSON.
Expected: SIZE exchanges, requests and responses; every --json line parses.
Full size: 100,000 exchanges."""
import sys
from hostile import BASE_TIME, Connection, PcapWriter, Template, ip4, usage

BAD = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\x00", b"\xfe\xfe"]
n, out = usage(__doc__, sys.argv)
t = Template()
w = PcapWriter(out, t)
conn = Connection(w, ip4(1), 40001)
conn.handshake(BASE_TIME)
head, _, body = t.response.partition(b"\r\n\r\n")
status, *fields = head.split(b"\r\n")
for i in range(n):
    bad = BAD[i % len(BAD)]
    in_target = bad.replace(b"\x00", b"\x80")
    request = t.request_with(target=b"/api/" + in_target + b"/%d?q=" % i + in_target,
                             origin=b"http://a" + bad + b".example",
                             extra_headers=[
                                            b"X-" + bad.replace(b"\x00", b"") + b"-Name: v" + bad,
                                            b"X-Value: " + bad + bad])
    response = b"\r\n".join([status + b" " + bad] + fields
                            + [b"Access-Control-Allow-Origin: http://a" + bad + b".example",
                               b"X-Value: " + bad]) + b"\r\n\r\n" + body
    time = BASE_TIME + 1 + i * 1e-4
    conn.send(time, request)
    conn.send(time, response, from_client=False)
conn.close(BASE_TIME + 2 + n * 1e-4)
w.close()

#!/usr/bin/env python3
"""Tiny raw-socket HTTP client for traffic curl does not produce.

Python 3 standard library only.  Every socket operation has a timeout.

  rawclient.py HOST PORT pipeline     3 requests (GET, HEAD, GET) in ONE send, then read
  rawclient.py HOST PORT pipeline-split  pipelined requests where a request line/header
                                         is split across two TCP segments
  rawclient.py HOST PORT websocket    101 upgrade + masked text/binary/ping frames + close
  rawclient.py HOST PORT raw PATH     one GET with Connection: close, print the raw reply
"""
import base64
import os
import socket
import struct
import sys
import time

TIMEOUT = 5.0


def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((host, port))
    return s


def hostport(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def read_until_close(s, limit=1 << 20):
    out = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and len(out) < limit:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        out += d
    return out


def pipeline(host, port, split=False):
    hp = hostport(host, port).encode()
    reqs = (b"GET /json/pipelined-1 HTTP/1.1\r\nHost: " + hp + b"\r\nUser-Agent: rawclient\r\n\r\n"
            b"HEAD /head HTTP/1.1\r\nHost: " + hp + b"\r\nUser-Agent: rawclient\r\n\r\n"
            b"GET /json/pipelined-3 HTTP/1.1\r\nHost: " + hp + b"\r\nUser-Agent: rawclient\r\n\r\n"
            b"GET /chunked HTTP/1.1\r\nHost: " + hp + b"\r\nUser-Agent: rawclient\r\nConnection: close\r\n\r\n")
    s = connect(host, port)
    if split:
        cut = reqs.index(b"HEAD /head") + 7  # cut inside the request line of the 2nd request
        cut2 = reqs.index(b"GET /json/pipelined-3") + 40  # and inside a header of the 3rd
        s.sendall(reqs[:cut])
        time.sleep(0.05)
        s.sendall(reqs[cut:cut2])
        time.sleep(0.05)
        s.sendall(reqs[cut2:])
    else:
        s.sendall(reqs)
    data = read_until_close(s)
    s.close()
    sys.stdout.write(data.decode("latin-1"))


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def websocket(host, port):
    key = base64.b64encode(os.urandom(16))
    s = connect(host, port)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: " + hostport(host, port).encode() + b"\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
              b"Origin: http://127.0.0.1:24482\r\n\r\n")
    time.sleep(0.05)
    for op, payload in [(0x1, b"text frame one"), (0x2, bytes(range(0, 200))), (0x9, b"ping"),
                        (0x1, b"GET /not-http HTTP/1.1\r\n\r\n")]:
        s.sendall(ws_frame(op, payload))
        time.sleep(0.02)
    s.sendall(ws_frame(0x8, struct.pack("!H", 1000) + b"bye"))
    data = read_until_close(s)
    s.close()
    print(repr(data[:300]))


def raw(host, port, path):
    s = connect(host, port)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + hostport(host, port).encode()
              + b"\r\nOrigin: http://127.0.0.1:24482\r\nConnection: close\r\n\r\n")
    data = read_until_close(s)
    s.close()
    print(repr(data[:400]))


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "pipeline":
        pipeline(host, port)
    elif mode == "pipeline-split":
        pipeline(host, port, split=True)
    elif mode == "websocket":
        websocket(host, port)
    elif mode == "raw":
        raw(host, port, sys.argv[4])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""corscope capture test server: raw-socket HTTP/1.x server producing edge cases.

Python 3 standard library only.  Listens on one address (127.0.0.1 or ::1) and
one port; every connection is served by a thread that parses requests from a
byte buffer (so pipelined requests are answered in order) and dispatches on
the path through ROUTES.  Handlers write raw bytes, so they can produce
malformed or unusual framing (bare LF, obs-fold, non-UTF-8 header bytes,
duplicated fields, chunk extensions and trailers, close-delimited bodies).

To add an endpoint: write `def h_name(conn, req)` and add it to ROUTES.
A handler returns True to keep the connection open, False to close it.

Usage: testserver.py [--host 127.0.0.1] [--port 24490] [--lifetime 300]
                     [--tls-cert CRT --tls-key KEY] [--page-origin ORIGIN]
The server exits by itself after --lifetime seconds (bounded).
--tls-cert/--tls-key: serve HTTPS (Python's ssl module, TLS 1.2/1.3, ALPN
http/1.1 only: HTTP/1.1 over TLS; record.sh https).  --page-origin: the page
origin some handlers name when the request has no Origin (default
http://127.0.0.1:24482).
"""
import argparse
import base64
import gzip
import hashlib
import socket
import ssl
import struct
import sys
import threading
import time
import zlib

PAGE_ORIGIN = "http://127.0.0.1:24482"
JSON = b'{"ok":true,"server":"testserver","items":[1,2,3,4,5,6,7,8,9,10]}\n'
BIG_TEXT = (b"corscope edge-case body line. " * 40 + b"\n") * 8


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.path = target.split("?", 1)[0]
        self.version = version
        self.headers = headers  # list of (lower-name, value) as str (latin-1)
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def recv_more(self, timeout=10.0):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def read_head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            j = self.buf.find(b"\n\n")
            if i >= 0 and (j < 0 or i < j):
                head, self.buf = self.buf[:i], self.buf[i + 4:]
                return head
            if j >= 0:
                head, self.buf = self.buf[:j], self.buf[j + 2:]
                return head
            self.recv_more()

    def read_exact(self, n):
        while len(self.buf) < n:
            self.recv_more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self.recv_more()
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers
                    while b"\r\n" not in self.buf:
                        self.recv_more()
                    t, self.buf = self.buf.split(b"\r\n", 1)
                    if not t:
                        return body
            body += self.read_exact(size)
            self.read_exact(2)

    def send(self, data):
        self.sock.sendall(data)

    def send_pieces(self, pieces, delay=0.004):
        """Each piece as its own TCP segment (TCP_NODELAY + short pause)."""
        for p in pieces:
            self.sock.sendall(p)
            time.sleep(delay)


def read_request(conn, expect_hook=None):
    head = conn.read_head()
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    method, target, version = lines[0].decode("latin-1").split(" ", 2)
    headers = []
    for ln in lines[1:]:
        if not ln:
            continue
        k, _, v = ln.decode("latin-1").partition(":")
        headers.append((k.strip().lower(), v.strip()))
    req = Request(method, target, version, headers, b"")
    if req.header("expect", "").lower() == "100-continue":
        conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    if req.header("transfer-encoding", "").lower() == "chunked":
        req.body = conn.read_chunked()
    elif req.header("content-length"):
        req.body = conn.read_exact(int(req.header("content-length")))
    return req


def response(status, headers, body=b"", version=b"HTTP/1.1", length=True):
    out = version + b" " + status + b"\r\n"
    for k, v in headers:
        out += k + b": " + v + b"\r\n"
    if length:
        out += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return out + b"\r\n" + body


def cors_headers(req):
    origin = req.header("origin")
    if not origin:
        return []
    return [(b"Access-Control-Allow-Origin", origin.encode("latin-1")),
            (b"Access-Control-Allow-Credentials", b"true"),
            (b"Vary", b"Origin")]


def keep(req):
    conn_hdr = req.header("connection", "").lower()
    if req.version == "HTTP/1.0":
        return conn_hdr == "keep-alive"
    return conn_hdr != "close"


# ---------------------------------------------------------------- handlers

def h_json(conn, req):
    """Plain Content-Length JSON (used for keep-alive and pipelining)."""
    body = b"" if req.method == "HEAD" else JSON
    conn.send(response(b"200 OK", [(b"Content-Type", b"application/json"),
                                   (b"X-Path", req.target.encode("latin-1"))]
                       + cors_headers(req), body))
    return keep(req)


def h_cors(conn, req):
    """CORS endpoint: answers preflights (204) and actual requests."""
    h = cors_headers(req)
    if req.method == "OPTIONS":
        h += [(b"Access-Control-Allow-Methods", b"GET, POST, PUT, DELETE"),
              (b"Access-Control-Allow-Headers", (req.header("access-control-request-headers") or "content-type").encode("latin-1")),
              (b"Access-Control-Max-Age", b"0")]
        conn.send(response(b"204 No Content", h, length=False))
    else:
        conn.send(response(b"200 OK", [(b"Content-Type", b"application/json")] + h, JSON))
    return keep(req)


def h_head(conn, req):
    """HEAD (and GET) with a Content-Length that the HEAD response must not carry a body for."""
    body = BIG_TEXT
    hdr = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
    conn.send(hdr if req.method == "HEAD" else hdr + body)
    return keep(req)


def h_chunked(conn, req):
    """Chunked body with chunk extensions and trailer fields, one chunk per segment."""
    parts = [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
             b"Trailer: X-Checksum, X-Trailer-Note\r\n\r\n"]
    for i, word in enumerate([b"first chunk\n", b"second;chunk\n", b"third chunk with more bytes\n"]):
        ext = [b"", b";name=value", b';quoted="a;b";flag'][i]
        parts.append(b"%x%s\r\n%s\r\n" % (len(word), ext, word))
    parts.append(b"0;last=1\r\nX-Checksum: 1234abcd\r\nX-Trailer-Note: trailers after last chunk\r\n\r\n")
    conn.send_pieces(parts)
    return keep(req)


def h_split(conn, req):
    """Response split in small segments, including mid-header-line and mid-body splits."""
    body = BIG_TEXT[:1200]
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Split: header split across segments\r\n"
            b"Access-Control-Allow-Origin: " + PAGE_ORIGIN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    pieces = [head[0:20], head[20:55], head[55:100], head[100:]]
    pieces += [body[i:i + 150] for i in range(0, len(body), 150)]
    conn.send_pieces(pieces)
    return keep(req)


def h_close(conn, req):
    """HTTP/1.0 style: no Content-Length, no chunking, body ends at connection close."""
    conn.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nServer: testserver-close\r\n\r\n")
    conn.send_pieces([BIG_TEXT[:500], BIG_TEXT[500:1000]])
    return False


def h_nocontent(conn, req):
    conn.send(b"HTTP/1.1 204 No Content\r\nX-Note: no body\r\n\r\n")
    return keep(req)


def h_etag(conn, req):
    if req.header("if-none-match") == '"v1"':
        conn.send(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: max-age=0\r\n\r\n')
    else:
        conn.send(response(b"200 OK", [(b"ETag", b'"v1"'), (b"Content-Type", b"application/json")], JSON))
    return keep(req)


def h_upload(conn, req):
    """POST target; 100 Continue is sent by read_request when the client expects it."""
    body = b'{"received":%d}\n' % len(req.body)
    conn.send(response(b"201 Created", [(b"Content-Type", b"application/json")] + cors_headers(req), body))
    return keep(req)


def _encoded(conn, req, enc, data):
    conn.send(response(b"200 OK", [(b"Content-Type", b"text/plain"), (b"Content-Encoding", enc),
                                   (b"Vary", b"Accept-Encoding")], data))
    return keep(req)


def h_gzip(conn, req):
    return _encoded(conn, req, b"gzip", gzip.compress(BIG_TEXT, mtime=0))


def h_deflate_zlib(conn, req):
    return _encoded(conn, req, b"deflate", zlib.compress(BIG_TEXT))


def h_deflate_raw(conn, req):
    c = zlib.compressobj(wbits=-15)
    return _encoded(conn, req, b"deflate", c.compress(BIG_TEXT) + c.flush())


def h_gzip_chunked(conn, req):
    data = gzip.compress(BIG_TEXT, mtime=0)
    parts = [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"]
    for i in range(0, len(data), 40):
        parts.append(b"%x\r\n%s\r\n" % (len(data[i:i + 40]), data[i:i + 40]))
    parts.append(b"0\r\n\r\n")
    conn.send_pieces(parts, delay=0.002)
    return keep(req)


def h_dup_acao(conn, req):
    """Two Access-Control-Allow-Origin fields (browsers reject multiple values)."""
    o = (req.header("origin") or PAGE_ORIGIN).encode("latin-1")
    conn.send(response(b"200 OK", [(b"Content-Type", b"application/json"),
                                   (b"Access-Control-Allow-Origin", o),
                                   (b"Access-Control-Allow-Origin", b"*")], JSON))
    return keep(req)


def h_upstream_cors(conn, req):
    """Backend for nginx proxy_pass: adds its own ACAO (nginx adds another)."""
    o = (req.header("origin") or "*").encode("latin-1")
    conn.send(response(b"200 OK", [(b"Content-Type", b"application/json"),
                                   (b"Access-Control-Allow-Origin", o)], JSON))
    return keep(req)


def h_longpoll(conn, req):
    """Long polling: hold the request ~1 s, then answer with credentialed CORS headers."""
    time.sleep(1.0)
    body = b'{"event":"long-poll answer after 1 s","cookie":"%s"}\n' % (req.header("cookie") or "").encode("latin-1")
    conn.send(response(b"200 OK", [(b"Content-Type", b"application/json"),
                                   (b"Cache-Control", b"no-store")] + cors_headers(req), body))
    return keep(req)


def h_obsfold(conn, req):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Folded: first part\r\n"
              b"  continued on a second line\r\n\tand a third\r\n"
              b"Access-Control-Allow-Origin:\r\n " + PAGE_ORIGIN.encode() + b"\r\nContent-Length: 6\r\n\r\nfolded")
    return keep(req)


def h_barelf(conn, req):
    conn.send(b"HTTP/1.1 200 OK\nContent-Type: text/plain\nX-Line-Endings: bare LF\n"
              b"Access-Control-Allow-Origin: *\nContent-Length: 8\n\nbare-lf\n")
    return keep(req)


def h_nonutf8(conn, req):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
              b"X-Latin1: caf\xe9 na\xefve \xa9 2024\r\nX-Invalid-UTF8: \xff\xfe\xc3\x28 end\r\n"
              b"Content-Disposition: attachment; filename=\"r\xe9sum\xe9.txt\"\r\n"
              b"Content-Length: 6\r\n\r\ncaf\xe9\r\n")
    return keep(req)


def h_websocket(conn, req):
    """101 upgrade, then echo WebSocket frames until a close frame."""
    key = req.header("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    conn.send(ws_frame(0x1, b"hello from server"))
    while True:
        op, payload = ws_read(conn)
        if op == 0x8:
            conn.send(ws_frame(0x8, payload[:2] or struct.pack("!H", 1000)))
            return False
        conn.send(ws_frame(0xA if op == 0x9 else op, payload))  # ping -> pong, else echo


WS_ALLOWED_ORIGINS = ("http://127.0.0.1:24484", "https://app.example")


def h_ws_origin_check(conn, req):
    """WebSocket endpoint with an Origin allow-list, like Socket.IO's `cors.origin` /
    `allowRequest` or SignalR's origin check: a handshake from any other Origin
    (page origin A included) is answered 403 and the connection closed."""
    if req.header("origin") not in WS_ALLOWED_ORIGINS:
        conn.send(response(b"403 Forbidden", [(b"Content-Type", b"application/json"), (b"Connection", b"close")],
                           b'{"error":"origin not allowed"}\n'))
        return False
    return h_websocket(conn, req)


def ws_frame(opcode, payload, mask=None):
    b1 = 0x80 | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b1, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b1, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b1, mbit | 127, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return hdr + mask + payload
    return hdr + payload


def ws_read(conn):
    h = conn.read_exact(2)
    op, n, masked = h[0] & 0x0F, h[1] & 0x7F, h[1] & 0x80
    if n == 126:
        n = struct.unpack("!H", conn.read_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", conn.read_exact(8))[0]
    mask = conn.read_exact(4) if masked else None
    data = conn.read_exact(n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return op, data


def h_connect(conn, req):
    """CONNECT: acknowledge and then act as the tunnel's far end ourselves
    (the tunnelled bytes are served by this same loop)."""
    conn.send(b"HTTP/1.1 200 Connection Established\r\nProxy-Agent: testserver\r\n\r\n")
    return True


def h_not_found(conn, req):
    conn.send(response(b"404 Not Found", [(b"Content-Type", b"text/plain")], b"not found\n"))
    return keep(req)


ROUTES = {
    "/json": h_json,
    "/cors": h_cors,
    "/head": h_head,
    "/chunked": h_chunked,
    "/split": h_split,
    "/close": h_close,
    "/nocontent": h_nocontent,
    "/etag": h_etag,
    "/upload": h_upload,
    "/gzip": h_gzip,
    "/deflate-zlib": h_deflate_zlib,
    "/deflate-raw": h_deflate_raw,
    "/gzip-chunked": h_gzip_chunked,
    "/dup-acao": h_dup_acao,
    "/upstream/cors": h_upstream_cors,
    "/obsfold": h_obsfold,
    "/barelf": h_barelf,
    "/nonutf8": h_nonutf8,
    "/ws": h_websocket,
    "/ws-origin-check": h_ws_origin_check,
    "/longpoll": h_longpoll,
}


def dispatch(conn, req):
    if req.method == "CONNECT":
        return h_connect(conn, req)
    path = req.path
    if "://" in req.target:  # absolute-form (proxy request)
        path = "/" + req.target.split("://", 1)[1].split("/", 1)[-1].split("?")[0]
    for prefix in sorted(ROUTES, key=len, reverse=True):
        if path == prefix or path.startswith(prefix + "/"):
            return ROUTES[prefix](conn, req)
    return h_not_found(conn, req)


def serve(sock, tls=None):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        try:
            sock.settimeout(10.0)
            sock = tls.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            sock.close()
            return
    conn = Conn(sock)
    try:
        while True:
            req = read_request(conn)
            if not dispatch(conn, req):
                break
    except (EOFError, ConnectionError, socket.timeout, ValueError, ssl.SSLError):
        pass
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=24490)
    ap.add_argument("--lifetime", type=float, default=300.0)
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    ap.add_argument("--page-origin", default="")
    a = ap.parse_args()
    global PAGE_ORIGIN
    if a.page_origin:
        PAGE_ORIGIN = a.page_origin
    tls = None
    if a.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(a.tls_cert, a.tls_key or None)
        tls.set_alpn_protocols(["http/1.1"])
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(64)
    ls.settimeout(0.5)
    deadline = time.monotonic() + a.lifetime
    print(f"testserver listening on {a.host}:{a.port}{' (TLS)' if tls else ''}", flush=True)
    while time.monotonic() < deadline:
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(s, tls), daemon=True).start()
    ls.close()


if __name__ == "__main__":
    sys.exit(main())

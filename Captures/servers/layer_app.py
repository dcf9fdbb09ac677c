#!/usr/bin/env python3
"""The application behind the front layers of record-layers.sh (stdlib only).

It does CORS itself, the way a framework's CORS middleware does: it reflects an allowed
Origin, answers preflights 204, and sends `Vary: Origin` -- except on /api/cached, which
forgets Vary on a cacheable answer (the mistake a shared cache in front turns into another
origin's answer). Paths with /missing/ answer 404 (with the CORS headers). Every answer carries `Server: layer-app/1`, so an answer without it was
made by a layer in front.

    python3 layer_app.py --port 24730 [--lifetime SECONDS]
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALLOWED_ORIGINS = {"http://127.0.0.1:24482", "http://127.0.0.1:24484"}


class Handler(BaseHTTPRequestHandler):
    server_version = "layer-app/1"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def cors(self, vary=True):
        origin = self.headers.get("Origin")
        if origin in ALLOWED_ORIGINS:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
        if vary:
            self.send_header("Vary", "Origin")

    def body(self, status, payload, extra=()):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        return data

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Token")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        if "/missing/" in path:
            # An error answer, with the app's own CORS headers (a layer in front may lose them).
            data = self.body(404, {"error": "not found", "path": path})
            self.cors()
        elif path.endswith("/cached"):
            data = self.body(200, {"items": [1, 2, 3]}, [("Cache-Control", "public, max-age=300")])
            self.cors(vary=False)
        else:
            data = self.body(200, {"path": path, "method": self.command},
                             [("Cache-Control", "no-store")])
            self.cors()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=24730)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    threading.Timer(args.lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()

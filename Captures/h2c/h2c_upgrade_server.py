"""An HTTP/1.1 server that accepts `Upgrade: h2c` (RFC 7540 §3.2) and answers in HTTP/2, with
Python's h2 (nginx 1.22 and nghttpd do not do the cleartext upgrade). Serves files from a folder
with CORS headers; one thread per connection; stops after --seconds.
Usage: python3 h2c_upgrade_server.py PORT ROOT SECONDS"""
import os
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events

port, root, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])


def respond(conn, stream_id, headers):
    path = headers.get(":path", "/").split("?")[0]
    file = os.path.join(root, path.lstrip("/"))
    origin = headers.get("origin")
    extra = [("access-control-allow-origin", origin), ("vary", "origin")] if origin else []
    if os.path.isfile(file):
        body = open(file, "rb").read()
        conn.send_headers(stream_id, [(":status", "200"), ("content-length", str(len(body))),
                                      ("content-type", "text/plain"), ("server", "h2c-upgrade-server")] + extra)
        conn.send_data(stream_id, body, end_stream=True)
    else:
        conn.send_headers(stream_id, [(":status", "404"), ("content-length", "0")] + extra, end_stream=True)


def serve(sock):
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(65536)
        if not data:
            return
        head += data
    head, rest = head.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "h2c" not in fields.get("upgrade", "").lower() or "http2-settings" not in fields:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        return
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_upgrade_connection(fields["http2-settings"])
    # Stream 1 is the upgrade request itself (half-closed from the client's side).
    request = {":method": method, ":path": target, "origin": fields.get("origin")}
    request = {k: v for k, v in request.items() if v is not None}
    respond(conn, 1, request)
    sock.sendall(conn.data_to_send())
    data = rest
    while True:
        if data:
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    respond(conn, event.stream_id, dict(event.headers))
                elif isinstance(event, h2.events.ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
            sock.sendall(conn.data_to_send())
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return
        if not data:
            return


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(8)
listener.settimeout(seconds)
try:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=lambda s=client: (serve(s), s.close()), daemon=True).start()
except socket.timeout:
    pass

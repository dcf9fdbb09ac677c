"""A preflight OPTIONS and its PUT on ONE HTTP/2 prior-knowledge connection, interleaved, with
Python's h2 (curl 7.88 cannot reuse a prior-knowledge connection: its second transfer fails).
Usage: python3 preflight_put.py HOST PORT ORIGIN"""
import socket
import sys

import h2.config
import h2.connection
import h2.events

host, port, origin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
authority = "%s:%d" % (host, port)
conn.send_headers(1, [(":method", "OPTIONS"), (":scheme", "http"), (":authority", authority), (":path", "/upload"),
                      ("origin", origin), ("access-control-request-method", "PUT"),
                      ("access-control-request-headers", "content-type,x-trace")], end_stream=True)
body = b'{"name":"new item"}'
conn.send_headers(3, [(":method", "PUT"), (":scheme", "http"), (":authority", authority), (":path", "/upload"),
                      ("origin", origin), ("content-type", "application/json"), ("x-trace", "7"),
                      ("content-length", str(len(body)))])
conn.send_data(3, body, end_stream=True)
sock.sendall(conn.data_to_send())
ended = set()
while len(ended) < 2:
    data = sock.recv(65536)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            print("stream", event.stream_id, dict(event.headers).get(":status"))
        elif isinstance(event, h2.events.DataReceived):
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
            ended.add(event.stream_id)
    sock.sendall(conn.data_to_send())
conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()

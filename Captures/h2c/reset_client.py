"""Three requests on ONE HTTP/2 prior-knowledge connection, the middle one cancelled by the client
(RST_STREAM CANCEL) in the same write as its HEADERS, before any response: stream 1 /plain.txt,
stream 3 /api/data.json (reset), stream 5 /dup.txt; then a PING and GOAWAY. Python's h2.
Usage: python3 reset_client.py HOST PORT ORIGIN"""
import socket
import sys

import h2.config
import h2.connection
import h2.errors
import h2.events

host, port, origin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
authority = "%s:%d" % (host, port)


def get(stream_id, path):
    conn.send_headers(stream_id, [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path),
                                  ("origin", origin)], end_stream=True)


get(1, "/plain.txt")
get(3, "/api/data.json")
conn.reset_stream(3, error_code=h2.errors.ErrorCodes.CANCEL)
get(5, "/dup.txt")
sock.sendall(conn.data_to_send())
ended = set()
while not {1, 5} <= ended:
    data = sock.recv(65536)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.DataReceived):
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
            ended.add(event.stream_id)
    sock.sendall(conn.data_to_send())
conn.ping(b"corscope")
conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()
print("streams ended:", sorted(ended))

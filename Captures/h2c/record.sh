#!/usr/bin/env bash
# Records the HTTP/2 cleartext captures the HTTP/2 analyzer is tested on (issue #12), from REAL
# loopback traffic: nginx 1.22 (prior-knowledge h2c), nghttpd (server push, padding, trailers),
# a small h2c-upgrade server on Python's h2 (h2c_upgrade_server.py: neither nginx nor nghttpd
# does the cleartext upgrade), nghttp, curl and h2 (preflight_put.py) as clients.
#
#   sudo Captures/h2c/record.sh
#
# Runs as root (apt-get, tcpdump on lo). Installs what is missing with apt-get (tcpdump, nginx-light,
# curl, nghttp2-server, nghttp2-client) and pip (h2, Python's HTTP/2 library). Servers listen on 127.0.0.1 ports 24640-24660 only; the
# script refuses to run when one is taken. Every wait is bounded and an EXIT trap stops everything it
# started. Writes into a temporary folder and moves the files over the old ones at the end:
#   nginx-prior-knowledge.pcap  prior knowledge against nginx: nghttp sends 4 GETs multiplexed on one
#                               connection (a gzip'd JSON, a duplicated Access-Control-Allow-Origin,
#                               a 300 KB body: flow control, WINDOW_UPDATE), then a preflight OPTIONS
#                               and its PUT (with a body) on one connection (preflight_put.py, h2)
#   nginx-reset.pcap            reset_client.py (h2) against nginx: stream 3 cancelled (RST_STREAM CANCEL)
#                               before its response, between two answered streams; PING, GOAWAY
#   nghttpd-push.pcap           nghttp (prior knowledge) against nghttpd: PUSH_PROMISE, padded DATA and
#                               HEADERS, response trailers
#   h2c-upgrade-curl.pcap       curl --http2 http://… against h2c_upgrade_server.py: Upgrade: h2c, 101,
#                               then HTTP/2 (the response to the upgrade request on stream 1)
#   h2c-upgrade-nghttp.pcap     nghttp -u against the same server: the upgrade, then a second request
#                               on stream 3
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NGINX_PORT=24641
NGHTTPD_PORT=24642
UPGRADE_PORT=24643
ORIGIN="http://app.test:24650"

log() { printf '[record-h2c %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    echo "record.sh must run as root (apt-get, tcpdump on lo)" >&2
    exit 1
fi

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v nghttpd >/dev/null || need+=(nghttp2-server)
command -v nghttp >/dev/null || need+=(nghttp2-client)
if [ "${#need[@]}" -gt 0 ]; then
    log "apt-get install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
python3 -c 'import h2' 2>/dev/null || { log "pip install h2"; python3 -m pip install -q h2; }

for port in $NGINX_PORT $NGHTTPD_PORT $UPGRADE_PORT; do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        echo "port $port is in use: stop what listens there first" >&2
        exit 1
    fi
done

WORK="$(mktemp -d /tmp/corscope-h2c.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {  # bounded: 10 s
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on $1 after 10 s" >&2
    exit 1
}

# tcpdump until the traffic is done: --immediate-mode and -U, or packets still in the kernel ring
# (TPACKET_V3 blocks) are lost when tcpdump is stopped right after the traffic.
capture() {  # capture NAME PORT COMMAND...
    local name="$1" port="$2"; shift 2
    timeout 60 tcpdump -i lo -s 0 -U --immediate-mode -w "$WORK/$name" "tcp port $port" 2>"$WORK/tcpdump.log" &
    local tcpdump_pid=$!
    for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
    "$@"
    sleep 0.5
    kill -INT "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
    log "$name: $(stat -c %s "$WORK/$name") bytes"
}

# ------------------------------------------------------------------ content
mkdir -p "$WORK/www/api" "$WORK/logs"
chmod 755 "$WORK"   # nginx workers (nobody) read the files
python3 - "$WORK/www" <<'PY'
import json, sys, random
root = sys.argv[1]
items = [{"id": i, "name": "item %d" % i, "tags": ["a", "b"]} for i in range(200)]
open(root + "/api/data.json", "w").write(json.dumps({"items": items}))
rng = random.Random(12)
open(root + "/large.bin", "wb").write(bytes(rng.getrandbits(8) for _ in range(300_000)))
open(root + "/index.html", "w").write("<!doctype html><link rel=stylesheet href=/style.css><p>h2c</p>\n")
open(root + "/style.css", "w").write("p { color: teal }\n" * 40)
open(root + "/plain.txt", "w").write("hello over h2c\n")
PY

# ------------------------------------------------------------------ nginx, prior knowledge
cat > "$WORK/nginx.conf" <<NGINX
daemon on;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $WORK/logs;
    default_type application/octet-stream;
    types { application/json json; text/plain txt; }
    server {
        listen 127.0.0.1:$NGINX_PORT http2;
        root $WORK/www;
        gzip on;
        gzip_types application/json;
        gzip_min_length 100;
        location /api/ {
            add_header Access-Control-Allow-Origin \$http_origin always;
            add_header Vary Origin always;
        }
        location = /dup.txt {
            alias $WORK/www/plain.txt;
            add_header Access-Control-Allow-Origin $ORIGIN;
            add_header Access-Control-Allow-Origin $ORIGIN;
        }
        location = /upload {
            if (\$request_method = OPTIONS) {
                add_header Access-Control-Allow-Origin \$http_origin always;
                add_header Access-Control-Allow-Methods "GET, PUT" always;
                add_header Access-Control-Allow-Headers "content-type, x-trace" always;
                add_header Access-Control-Max-Age 600 always;
                return 204;
            }
            add_header Access-Control-Allow-Origin \$http_origin always;
            return 200 "stored\n";
        }
    }
}
NGINX
/usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK"
wait_port $NGINX_PORT

nginx_clients() {
    local base="http://127.0.0.1:$NGINX_PORT"
    # nghttp sends every URI on one connection at once (curl 7.88's --parallel with
    # --http2-prior-knowledge fails its second transfer with "Error in the HTTP2 framing layer").
    timeout 30 nghttp -n -H "origin: $ORIGIN" -H "accept-encoding: gzip" \
        "$base/api/data.json" "$base/dup.txt" "$base/large.bin" "$base/plain.txt"
    # The preflight and its PUT on one connection, from Python's h2 (see preflight_put.py).
    timeout 30 python3 "$HERE/preflight_put.py" 127.0.0.1 $NGINX_PORT "$ORIGIN"
}
capture nginx-prior-knowledge.pcap $NGINX_PORT nginx_clients
capture nginx-reset.pcap $NGINX_PORT timeout 30 python3 "$HERE/reset_client.py" 127.0.0.1 $NGINX_PORT "$ORIGIN"

# ------------------------------------------------------------------ nghttpd: push, padding, trailers, upgrade
nghttpd --no-tls -a 127.0.0.1 -d "$WORK/www" -p/index.html=/style.css -b 7 --trailer "x-checksum: 1234" \
    $NGHTTPD_PORT >"$WORK/logs/nghttpd.log" 2>&1 &
PIDS+=($!)
wait_port $NGHTTPD_PORT

capture nghttpd-push.pcap $NGHTTPD_PORT \
    timeout 30 nghttp -n -H "origin: $ORIGIN" "http://127.0.0.1:$NGHTTPD_PORT/index.html" "http://127.0.0.1:$NGHTTPD_PORT/plain.txt"

# ------------------------------------------------------------------ h2c upgrade (Python h2 server)
python3 "$HERE/h2c_upgrade_server.py" $UPGRADE_PORT "$WORK/www" 60 >"$WORK/logs/upgrade.log" 2>&1 &
PIDS+=($!)
wait_port $UPGRADE_PORT
capture h2c-upgrade-curl.pcap $UPGRADE_PORT \
    timeout 30 curl -sS --http2 -o /dev/null -H "Origin: $ORIGIN" "http://127.0.0.1:$UPGRADE_PORT/plain.txt"
capture h2c-upgrade-nghttp.pcap $UPGRADE_PORT \
    timeout 30 nghttp -n -u -H "origin: $ORIGIN" "http://127.0.0.1:$UPGRADE_PORT/plain.txt" "http://127.0.0.1:$UPGRADE_PORT/style.css"

for f in nginx-prior-knowledge.pcap nginx-reset.pcap nghttpd-push.pcap h2c-upgrade-curl.pcap h2c-upgrade-nghttp.pcap; do
    mv "$WORK/$f" "$HERE/$f"
done
log "done: $(cd "$HERE" && ls *.pcap | tr '\n' ' ')"

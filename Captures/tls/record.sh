#!/usr/bin/env bash
# Records the TLS decryption stage's test captures (Tests/CorscopeTLSTests) from real peers on
# loopback: nginx 1.22 (OpenSSL 3) as the server, curl and openssl s_client as clients, each
# client writing its secrets to an NSS key log (SSLKEYLOGFILE / -keylogfile).
#
#   sudo Captures/tls/record.sh
#
# Writes, next to this script:
#   loopback-tls.pcap     every scenario below, one server port each (tcpdump on lo)
#   loopback-tls.keylog   the key log of every connection except the "missing key" ones
# The scenarios and what each connection negotiated are listed in README.md here.
#
# Runs as root (tcpdump on lo). Needs nginx, curl, openssl, tcpdump (apt: nginx-light curl
# openssl tcpdump). Servers listen on 127.0.0.1:24600-24614 only; every wait is bounded; an
# EXIT trap kills what this script started and removes its scratch folder (throwaway
# certificates, nginx config and logs).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d /tmp/corscope-tls-record.XXXXXX)"
NGINX_PID=""
TCPDUMP_PID=""

log() { printf '[tls-record %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
    sleep 0.3
    [ -n "$TCPDUMP_PID" ] && kill -9 "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$NGINX_PID" ] && kill -9 "$NGINX_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then echo "record.sh must run as root (tcpdump on lo)" >&2; exit 1; fi
for tool in nginx curl openssl tcpdump timeout; do
    command -v "$tool" >/dev/null || { echo "record.sh needs $tool (apt-get install nginx-light curl openssl tcpdump)" >&2; exit 1; }
done
for port in $(seq 24600 24614); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi
done

# ------------------------------------------------------------ certificates (throwaway)
log "certificates"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,DNS:*.test,IP:127.0.0.1" \
    -keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,DNS:*.test,IP:127.0.0.1" \
    -keyout "$WORK/ecdsa.key" -out "$WORK/ecdsa.crt" 2>/dev/null
# A body big enough to take two records (16 KiB of plaintext per record at most).
head -c 17000 /dev/zero | tr '\0' 'x' > "$WORK/big.txt"

# ------------------------------------------------------------ nginx
# server PORT HTTP2(yes/no) PROTOCOLS EXTRA-DIRECTIVES
server() {
    local port=$1 h2=$2 protocols=$3 extra=$4 listen="listen 127.0.0.1:$1 ssl"
    [ "$h2" = yes ] && listen="$listen http2"
    cat <<EOF
    server {
        $listen;
        ssl_certificate $WORK/rsa.crt;     ssl_certificate_key $WORK/rsa.key;
        ssl_certificate $WORK/ecdsa.crt;   ssl_certificate_key $WORK/ecdsa.key;
        ssl_protocols $protocols;
        $extra
        location = /big.txt { root $WORK; }
        location / { default_type text/plain; return 200 "hello from $port\n"; }
    }
EOF
}
FULL="ssl_session_cache off; ssl_session_tickets off;"
{
    cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
http {
    access_log $WORK/access.log;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
EOF
    server 24600 yes TLSv1.3 "$FULL"                          # 1.3 AES-128-GCM, h2
    server 24601 yes TLSv1.3 "$FULL"                          # 1.3 AES-256-GCM, HTTP/1.1 (ALPN http/1.1)
    server 24602 yes TLSv1.3 "$FULL"                          # 1.3 CHACHA20, h2
    server 24603 yes TLSv1.2 "$FULL"                          # 1.2 ECDHE-RSA AES-128-GCM, h2
    server 24604 no  TLSv1.2 "$FULL"                          # 1.2 ECDHE-RSA AES-256-GCM, HTTP/1.1 (no ALPN h2)
    server 24605 yes TLSv1.2 "$FULL"                          # 1.2 ECDHE-RSA CHACHA20, h2
    server 24606 yes TLSv1.2 "$FULL"                          # 1.2 ECDHE-ECDSA AES-128-GCM, h2
    server 24607 no  TLSv1.2 "$FULL"                          # 1.2 ECDHE-ECDSA CHACHA20, HTTP/1.1
    server 24608 no  TLSv1.2 "ssl_session_cache shared:ids:1m; ssl_session_tickets off;"  # 1.2 resumption by session id
    server 24609 no  TLSv1.2 "ssl_session_cache none; ssl_session_tickets on;"            # 1.2 resumption by ticket
    server 24610 yes TLSv1.3 "$FULL ssl_ecdh_curve X25519;"   # 1.3 HelloRetryRequest
    server 24611 no  TLSv1.3 "$FULL"                          # 1.3 KeyUpdate (openssl s_client)
    server 24612 yes TLSv1.3 "$FULL"                          # 1.3, key left out of the key log
    server 24613 no  TLSv1.2 "$FULL"                          # 1.2, key left out of the key log
    server 24614 no  TLSv1.3 "ssl_session_cache off; ssl_session_tickets on;"             # 1.3 resumption (PSK)
    echo "}"
} > "$WORK/nginx.conf"
nginx -t -q -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null || nginx -t -c "$WORK/nginx.conf" -p "$WORK"
log "nginx"
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/24614) 2>/dev/null && break
    sleep 0.1
done
(exec 3<>/dev/tcp/127.0.0.1/24614) 2>/dev/null || { echo "nginx did not start" >&2; cat "$WORK/error.log" >&2; exit 1; }

# ------------------------------------------------------------ capture
log "tcpdump"
tcpdump -i lo -s 0 -U --immediate-mode -n -w "$WORK/capture.pcap" 'tcp portrange 24600-24614' 2>"$WORK/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 50); do
    grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break
    sleep 0.1
done
sleep 0.5

KEYLOG="$WORK/keys.log"
DROPPED="$WORK/dropped.log"
: > "$KEYLOG"; : > "$DROPPED"
# fetch KEYLOG NAME PORT PATHS... -- CURL-OPTIONS...   (NAME resolves to 127.0.0.1: it is the SNI)
fetch() {
    local keylog=$1 name=$2 port=$3; shift 3
    local urls=()
    while [ "$1" != "--" ]; do urls+=(-o /dev/null "https://$name:$port$1"); shift; done
    shift
    SSLKEYLOGFILE="$keylog" timeout 20 curl -sS -k --max-time 10 \
        --resolve "$name:$port:127.0.0.1" "$@" "${urls[@]}"
    sleep 0.2
}

log "TLS 1.3, three suites"
fetch "$KEYLOG" tls13-aes128.test 24600 / /big.txt -- --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 --http2
fetch "$KEYLOG" tls13-aes256.test 24601 / -- --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 --http1.1
fetch "$KEYLOG" tls13-chacha.test 24602 / -- --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 --http2

log "TLS 1.2, RSA and ECDSA, three AEADs"
fetch "$KEYLOG" tls12-rsa-aes128.test 24603 / /big.txt -- --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 --http2
fetch "$KEYLOG" tls12-rsa-aes256.test 24604 / -- --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384 --http1.1
fetch "$KEYLOG" tls12-rsa-chacha.test 24605 / -- --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 --http2
fetch "$KEYLOG" tls12-ecdsa-aes128.test 24606 / -- --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 --http2
fetch "$KEYLOG" tls12-ecdsa-chacha.test 24607 / -- --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 --http1.1

log "TLS 1.2 resumption: session id (curl), then ticket (openssl s_client); two connections each"
fetch "$KEYLOG" resume-id.test 24608 /first /second -- --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 --http1.1 -H "Connection: close"
# curl does not present nginx's TLS 1.2 ticket again; openssl s_client does, with -sess_out/-sess_in.
for step in "-sess_out $WORK/ticket.session" "-sess_in $WORK/ticket.session"; do
    # shellcheck disable=SC2086
    { printf 'GET /%s HTTP/1.1\r\nHost: resume-ticket.test\r\nConnection: close\r\n\r\n' "${step%% *}"; sleep 1; } |
        timeout 15 openssl s_client -connect 127.0.0.1:24609 -servername resume-ticket.test -tls1_2 \
            -cipher ECDHE-RSA-AES256-GCM-SHA384 -alpn http/1.1 -keylogfile "$KEYLOG" $step >/dev/null 2>&1 || true
    sleep 0.2
done

log "TLS 1.3 HelloRetryRequest (the client's key share is P-384, the server takes X25519 only)"
fetch "$KEYLOG" hrr.test 24610 / -- --tlsv1.3 --curves P-384:X25519 --http2

log "TLS 1.3 KeyUpdate (openssl s_client: a line 'K' asks for one, and the server answers with its own)"
{
    printf 'GET /before HTTP/1.1\r\nHost: keyupdate.test\r\n\r\n'
    sleep 0.5
    printf 'K\n'
    sleep 0.5
    printf 'GET /after HTTP/1.1\r\nHost: keyupdate.test\r\nConnection: close\r\n\r\n'
    sleep 1
} | timeout 15 openssl s_client -connect 127.0.0.1:24611 -servername keyupdate.test -tls1_3 -alpn http/1.1 \
        -keylogfile "$KEYLOG" >/dev/null 2>&1 || true
sleep 0.2

log "keys left out of the key log (TLS 1.3 and 1.2)"
fetch "$DROPPED" nokey13.test 24612 / -- --tlsv1.3 --http2
fetch "$DROPPED" nokey12.test 24613 / -- --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 --http1.1

log "TLS 1.3 resumption (PSK from a NewSessionTicket)"
fetch "$KEYLOG" resume13.test 24614 /first /second -- --tlsv1.3 --http1.1 -H "Connection: close"

# Packets still in the kernel's capture buffer are lost when tcpdump stops: give it time.
sleep 2
kill -INT "$TCPDUMP_PID"
for _ in $(seq 50); do kill -0 "$TCPDUMP_PID" 2>/dev/null || break; sleep 0.1; done
TCPDUMP_PID=""

# ------------------------------------------------------------ check and keep
connections=$(tcpdump -r "$WORK/capture.pcap" -n 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0' 2>/dev/null | wc -l)
log "captured $connections connections, $(wc -l < "$KEYLOG") key log lines"
[ "$connections" -ge 18 ] || { echo "expected at least 18 connections, got $connections" >&2; exit 1; }
grep -q "CLIENT_RANDOM" "$KEYLOG" && grep -q "SERVER_TRAFFIC_SECRET_0" "$KEYLOG" || { echo "key log incomplete" >&2; exit 1; }
cp "$WORK/capture.pcap" "$HERE/loopback-tls.pcap"
cp "$KEYLOG" "$HERE/loopback-tls.keylog"
log "wrote $HERE/loopback-tls.pcap ($(wc -c < "$HERE/loopback-tls.pcap") bytes) and loopback-tls.keylog"

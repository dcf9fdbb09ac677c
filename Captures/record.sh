#!/usr/bin/env bash
# Re-record every corscope sample capture from REAL loopback traffic.
#
#   sudo Captures/record.sh            # everything (deps, captures, variants)
#   Captures/record.sh nginx edge      # only some groups
#   groups: nginx edge nano browser https sll ipv6 firefox layers variants verify   (default: all of them)
#   (firefox runs record-firefox.sh: Firefox ESR in its own network namespace, own deps)
#   (layers runs record-layers.sh: HAProxy, Varnish, Caddy, Apache in front of an app -> layers/)
#   (https: the Chromium suite over TLS + HTTP/2 -> chromium-https/; throwaway CA,
#    nginx with ssl/http2 on 24700-24709, testserver on 24710 (plain upstream) and
#    24711 (TLS), tcpdump on lo, Chromium's --ssl-key-log-file, editcap --inject-secrets,
#    tshark check; needs openssl; fails (exit 1, nothing installed) if the check fails)
#
# Runs as root (tcpdump/dumpcap on lo).  Installs missing dependencies with
# apt-get (tcpdump tshark nginx-light curl chromium chromium-driver python3-pip)
# and pip (selenium).  Ports 24480-24485 (nginx) and 24490/24491 (testserver)
# must be free (the script refuses to run otherwise).  Every server listens on 127.0.0.1 / ::1 high ports only,
# every wait is bounded, and an EXIT trap kills everything this script started.
# Idempotent: outputs are written to a temp dir and moved over the old files.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

GROUPS_ALL="nginx edge nano browser https sll ipv6 firefox layers variants verify"
GROUPS_RUN="${*:-$GROUPS_ALL}"
PAGE_ORIGIN="http://127.0.0.1:24482"
PORTS_FILTER="tcp portrange 24480-24499"
PY="${PYTHON:-python3}"

log() { printf '[record %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
want() { [[ " $GROUPS_RUN " == *" $1 "* ]]; }

if [ "$(id -u)" != 0 ]; then
    echo "record.sh must run as root (apt-get, tcpdump/dumpcap on lo)" >&2
    exit 1
fi

# ------------------------------------------------------------------ deps
APT_UPDATED=0
apt_install() {
    [ "$#" -gt 0 ] || return 0
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        APT_UPDATED=1
    fi
    # wireshark-common asks whether non-root users may capture: answer "no".
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

drop_browser() {  # the browser groups are optional: record the rest, say why
    log "WARNING: $* -- skipping the browser and https groups (chromium-cors.*, chromium-https/* not updated)"
    GROUPS_RUN=" $GROUPS_RUN "; GROUPS_RUN="${GROUPS_RUN// browser / }"; GROUPS_RUN="${GROUPS_RUN// https / }"
}

ensure_deps() {
    local need=()
    command -v tcpdump >/dev/null || need+=(tcpdump)
    command -v tshark >/dev/null || need+=(tshark)
    command -v dumpcap >/dev/null || need+=(tshark)
    command -v editcap >/dev/null || need+=(tshark)
    command -v capinfos >/dev/null || need+=(tshark)
    command -v nginx >/dev/null || need+=(nginx-light)
    command -v curl >/dev/null || need+=(curl)
    command -v gzip >/dev/null || need+=(gzip)
    command -v "$PY" >/dev/null || need+=(python3)
    if want https; then command -v openssl >/dev/null || need+=(openssl); fi
    # shellcheck disable=SC2207
    need=($(printf '%s\n' "${need[@]}" | sort -u))
    apt_install "${need[@]}"
    want browser || want https || return 0
    need=()
    [ -x /usr/bin/chromium ] || need+=(chromium)
    [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
    apt_install "${need[@]}" || { drop_browser "apt-get install ${need[*]} failed"; return 0; }
    if ! "$PY" -c 'import selenium' 2>/dev/null; then
        if ! "$PY" -m pip --version >/dev/null 2>&1; then
            apt_install python3-pip || { drop_browser "apt-get install python3-pip failed"; return 0; }
        fi
        log "pip install selenium"
        "$PY" -m pip install -q selenium 2>/dev/null ||
            "$PY" -m pip install -q --break-system-packages selenium ||   # Debian 12: PEP 668
            { drop_browser "pip install selenium failed (no PyPI access?)"; return 0; }
    fi
}

# ------------------------------------------------------------------ process bookkeeping
TMP="$(mktemp -d /tmp/corscope-record.XXXXXX)"
chmod 755 "$TMP"
PIDS=()
cleanup() {
    local rc=$?
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill "${PIDS[$i]}" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {  # host port: wait (max 10 s) until something accepts on it
    local host=$1 port=$2
    for _ in $(seq 1 100); do
        if "$PY" -c "import socket,sys; socket.create_connection(('$host',$port),0.2).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "nothing listening on $host:$port"; return 1
}

require_free() {  # host port...: refuse to record someone else's server
    local host=$1; shift
    for port in "$@"; do
        if "$PY" -c "import socket; socket.create_connection(('$host',$port),0.3).close()" 2>/dev/null; then
            log "ERROR: $host:$port is already in use by another process; stop it or free the port (nothing recorded)"
            exit 1
        fi
    done
}

start_nginx() {
    require_free 127.0.0.1 24480 24482 24483 24484 24485
    local pfx="$TMP/nginx"
    rm -rf "$pfx"; mkdir -p "$pfx/tmp"; cp -r "$HERE/servers/www" "$pfx/www"
    chmod -R a+rX "$pfx"
    nginx -p "$pfx/" -c "$HERE/servers/nginx-cors.conf" -e "$pfx/error.log" -t -q
    timeout 600 nginx -p "$pfx/" -c "$HERE/servers/nginx-cors.conf" -e "$pfx/error.log" &
    PIDS+=($!)
    NGINX_STARTED=1
    wait_port 127.0.0.1 24480; wait_port 127.0.0.1 24482; wait_port 127.0.0.1 24483
}

start_testserver() {  # host port
    require_free "$1" "$2"
    "$PY" "$HERE/servers/testserver.py" --host "$1" --port "$2" --lifetime 600 >"$TMP/testserver-$2.log" 2>&1 &
    PIDS+=($!)
    [ "$1:$2" = 127.0.0.1:24490 ] && TS4_STARTED=1
    wait_port "$1" "$2"
}

stop_pid() {  # stop one of our processes and forget it
    local p=$1
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    local keep=()
    for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    PIDS=("${keep[@]}")
}

CAP_PID=""
TS4_STARTED=0
NGINX_STARTED=0
cap_start() {  # tool outfile [extra args...]   tool = tcpdump | dumpcap
    local tool=$1 out=$2; shift 2
    local err="$TMP/cap.err"; : >"$err"
    if [ "$tool" = dumpcap ]; then
        dumpcap -q -i lo -f "$PORTS_FILTER" -w "$out" "$@" 2>"$err" &
    else
        tcpdump -Z root -n -U --immediate-mode -B 8192 -s 0 "$@" -w "$out" "$PORTS_FILTER" 2>"$err" &
    fi
    CAP_PID=$!; PIDS+=("$CAP_PID")
    for _ in $(seq 1 100); do  # wait (max 10 s) for the capture to be live
        grep -qiE 'listening on|capturing on' "$err" && break
        kill -0 "$CAP_PID" 2>/dev/null || { cat "$err" >&2; return 1; }
        sleep 0.1
    done
    sleep 0.3
}
cap_stop() {
    sleep 0.5  # let the last FIN/ACKs land
    kill -INT "$CAP_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$CAP_PID"
    grep -iE 'packets (captured|received)|dropped' "$TMP/cap.err" >&2 || true
    if grep -qE '^[1-9][0-9]* packets dropped by kernel' "$TMP/cap.err"; then
        log "WARNING: the kernel dropped packets; re-run this group"
    fi
}

install_capture() {  # tmpfile name
    mv -f "$1" "$HERE/$2"; chmod 644 "$HERE/$2"
    log "wrote $2 ($(stat -c %s "$HERE/$2") bytes)"
}

# curl wrapper: never aborts the script, always bounded
c() { curl -sS -m 5 "$@" >/dev/null || log "curl exit $? for: $*"; }
O=(-H "Origin: $PAGE_ORIGIN")

# ------------------------------------------------------------------ traffic
nginx_traffic() {
    local A=http://127.0.0.1:24480
    # keep-alive: several requests on one connection
    c "${O[@]}" "$A/api/noalways/ok" "$A/api/noalways/notfound" "$A/api/always/notfound" "$A/api/noalways/error"
    # origin reflection with a cookie, wildcard + credentials
    c "${O[@]}" -b "session=s3cr3t" "$A/api/reflect"
    c -H "Origin: http://evil.example" -b "session=s3cr3t" "$A/api/reflect"
    c "${O[@]}" -b "session=s3cr3t" "$A/api/wildcard-creds"
    # preflights: 204, narrow, 405 (static), redirect to login
    local PF=(-X OPTIONS "${O[@]}" -H "Access-Control-Request-Method: PUT"
              -H "Access-Control-Request-Headers: content-type,x-custom-token")
    c "${PF[@]}" "$A/api/preflight-204"
    c "${O[@]}" -X PUT -H "Content-Type: application/json" -H "X-Custom-Token: t0k3n" -b "session=s3cr3t" \
        --data '{"put":true}' "$A/api/preflight-204"
    c "${PF[@]}" "$A/api/preflight-narrow"
    c "${PF[@]}" "$A/static/data.json"
    c -X OPTIONS "${O[@]}" -H "Access-Control-Request-Method: DELETE" "$A/api/private"
    c "${O[@]}" -X POST --data 'x=1' "$A/static/data.json"      # 405 for POST on a static file
    # gzip'd JSON (chunked) and the identity version, HEAD
    c "${O[@]}" --compressed "$A/api/data.json"
    c "${O[@]}" "$A/api/data.json"
    c "${O[@]}" -I "$A/static/data.json"
    # proxy_pass: duplicated ACAO, and the hidden variant (also records nginx->testserver hop)
    c "${O[@]}" "$A/proxy/cors" "$A/proxy-hide/cors"
    # redirects to another origin (followed: second connection to :24483)
    c "${O[@]}" -L "$A/api/redirect-301"
    c "${O[@]}" -L "$A/api/redirect-302"
    c "${O[@]}" "$A/api/redirect-nocors"
    # HTTP/1.0 client (connection closes after the response)
    c -0 "${O[@]}" "$A/api/wildcard"
    # page origin (Set-Cookie)
    c "$PAGE_ORIGIN/index.html"
}

edge_traffic() {  # host port
    local H=$1 P=$2 B
    if [[ $H == *:* ]]; then B="http://[$H]:$P"; else B="http://$H:$P"; fi
    # keep-alive with several requests, incl. 304 via --next (same connection)
    c "${O[@]}" "$B/json/ka-1" "$B/json/ka-2" "$B/etag" --next -H 'If-None-Match: "v1"' "$B/etag"
    # pipelining (several requests in one segment; and split across segments)
    "$PY" "$HERE/clients/rawclient.py" "$H" "$P" pipeline >/dev/null
    "$PY" "$HERE/clients/rawclient.py" "$H" "$P" pipeline-split >/dev/null
    # chunked with extensions + trailers; response split into small segments
    c "$B/chunked" "$B/split"
    # close-delimited HTTP/1.0 response
    c -0 "$B/close"
    # HEAD with Content-Length (and the GET), 204
    c -I "$B/head"
    c "$B/head" "$B/nocontent"
    # 100-continue, and a chunked request body
    c "${O[@]}" -H 'Expect: 100-continue' -H 'Content-Type: application/json' --data '{"upload":"expect-100"}' "$B/upload"
    c -H 'Transfer-Encoding: chunked' --data 'chunked request body' "$B/upload"
    # content codings (gzip, zlib deflate, raw deflate, gzip+chunked)
    c --compressed "$B/gzip" "$B/deflate-zlib" "$B/deflate-raw" "$B/gzip-chunked"
    # CORS preflight + duplicated ACAO
    c -X OPTIONS "${O[@]}" -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type' "$B/cors"
    c "${O[@]}" "$B/dup-acao"
    # malformed-ish framing: obs-fold, bare LF, non-UTF-8 header bytes
    c "$B/obsfold"
    c "$B/barelf"
    c "$B/nonutf8"
    # CONNECT tunnel (the server acts as the tunnel's far end)
    c -p -x "$B" "$B/json/through-tunnel"
    # WebSocket upgrade + frames
    "$PY" "$HERE/clients/rawclient.py" "$H" "$P" websocket >/dev/null
}

# ------------------------------------------------------------------ https group
# Ports (127.0.0.1 only): 24700 API h2 / 24701 the same API server, HTTP/1.1 over TLS /
# 24702 page A / 24703 third origin (TLS 1.2 only) / 24704 page B / 24705 cache upstream
# (plaintext, behind nginx) / 24706-24709 one forced TLS suite each / 24710 testserver
# (plaintext proxy_pass upstream) / 24711 testserver over TLS (Python ssl, HTTP/1.1).
HTTPS_PORTS=(24700 24701 24702 24703 24704 24705 24706 24707 24708 24709 24710 24711)
HTTPS_FILTER="tcp portrange 24700-24730"
HTTPS_URL_MAP="http://127.0.0.1:24480=https://127.0.0.1:24700,http://localhost:24480=https://localhost:24701"
HTTPS_URL_MAP+=",http://127.0.0.1:24483=https://127.0.0.1:24703,http://127.0.0.1:24490=https://127.0.0.1:24711"
HTTPS_URL_MAP+=",ws://127.0.0.1:24490=wss://127.0.0.1:24711"
HTTPS_RESOLVER="MAP *.test 127.0.0.1, MAP localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

https_pki() {  # dir: throwaway CA + server certificate; prints the SPKI pins (server,CA)
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=corscope throwaway CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:api.test,DNS:sso.test" \
        "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" >"$d/server.ext"
    openssl x509 -req -days 2 -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
    cat "$d/server.crt" "$d/ca.crt" >"$d/chain.crt"
    chmod 644 "$d"/*.crt "$d"/*.key
    local pins=() c
    for c in server ca; do
        pins+=("$(openssl x509 -in "$d/$c.crt" -pubkey -noout | openssl pkey -pubin -outform der |
                  openssl dgst -sha256 -binary | base64)")
    done
    (IFS=,; echo "${pins[*]}")
}

https_group() {
    log "Chromium CORS capture over HTTPS (TLS + HTTP/2; tcpdump, key log, editcap --inject-secrets)"
    require_free 127.0.0.1 "${HTTPS_PORTS[@]}"
    local D="$TMP/https" pfx="$TMP/https/nginx" spki
    mkdir -p "$D" "$pfx/tmp"
    spki=$(https_pki "$D/pki")
    log "throwaway CA + server certificate (127.0.0.1, localhost, api.test, sso.test); SPKI pins $spki"
    "$PY" "$HERE/servers/make_https_conf.py" --cert "$D/pki/chain.crt" --key "$D/pki/server.key" \
        --out "$D/nginx-https.conf"
    cp -r "$HERE/servers/www" "$pfx/www"
    chmod -R a+rX "$D"
    nginx -p "$pfx/" -c "$D/nginx-https.conf" -e "$pfx/error.log" -t -q
    timeout 600 nginx -p "$pfx/" -c "$D/nginx-https.conf" -e "$pfx/error.log" &
    PIDS+=($!)
    "$PY" "$HERE/servers/testserver.py" --host 127.0.0.1 --port 24710 --lifetime 600 \
        --page-origin https://127.0.0.1:24702 >"$D/testserver-24710.log" 2>&1 &
    PIDS+=($!)
    "$PY" "$HERE/servers/testserver.py" --host 127.0.0.1 --port 24711 --lifetime 600 \
        --page-origin https://127.0.0.1:24702 --tls-cert "$D/pki/chain.crt" --tls-key "$D/pki/server.key" \
        >"$D/testserver-24711.log" 2>&1 &
    PIDS+=($!)
    local p
    for p in "${HTTPS_PORTS[@]}"; do wait_port 127.0.0.1 "$p"; done

    local base="$D/chromium-https" brc=0 B0
    B0=$(date +%s)
    : >"$base.keylog"
    PORTS_FILTER="$HTTPS_FILTER" cap_start tcpdump "$base.pcap" -i lo
    timeout 180 "$PY" "$HERE/browser/run_browser.py" --out "$base.results.json" --har "$base.har" \
        --page https://127.0.0.1:24702/index.html --page-b https://127.0.0.1:24704/index.html \
        --url-map "$HTTPS_URL_MAP" --extra https --host-resolver-rules "$HTTPS_RESOLVER" \
        --chromium-arg="--ssl-key-log-file=$base.keylog" \
        --chromium-arg="--ignore-certificate-errors-spki-list=$spki" || brc=$?
    cap_stop
    if [ "$brc" != 0 ] && [ "$brc" != 3 ]; then
        log "ERROR: Chromium run over HTTPS FAILED (exit $brc); chromium-https/* not updated"
        exit 1
    fi
    [ "$brc" = 3 ] && log "WARNING: Chromium disagrees with some scenario's expect (see MISMATCH above): fix expect/why"
    log "Chromium run took $(( $(date +%s) - B0 )) s; key log: $(wc -l <"$base.keylog") lines"
    [ -s "$base.keylog" ] || { log "ERROR: Chromium wrote no key log"; exit 1; }
    editcap --inject-secrets "tls,$base.keylog" "$base.pcap" "$base.pcapng"
    # tshark on the pcapng alone (its Decryption Secrets Block): HTTP/2 HEADERS must decrypt,
    # and every scenario's ?scenario= request must be in the decrypted traffic.
    local nh
    nh=$(tshark -n -r "$base.pcapng" -Y 'http2.type==1' 2>/dev/null | wc -l)
    log "tshark -r chromium-https.pcapng -Y http2.type==1: $nh frames with HEADERS"
    if [ "$nh" = 0 ] || ! "$PY" "$HERE/browser/check_capture.py" --tls "$base" >&2; then
        local keep
        keep=$(mktemp -d /tmp/corscope-https-failed.XXXXXX)
        cp "$base".* "$pfx/error.log" "$D"/testserver-*.log "$keep/" 2>/dev/null || true
        log "ERROR: the HTTPS capture does not decrypt or misses scenario requests (see above);"
        log "ERROR: chromium-https/* NOT updated; this run's files are kept in $keep"
        exit 1
    fi
    mkdir -p "$HERE/chromium-https"
    local f
    for f in pcap keylog pcapng har results.json; do
        install_capture "$base.$f" "chromium-https/chromium-https.$f"
    done
}

# ------------------------------------------------------------------ groups
ensure_deps
log "groups: $GROUPS_RUN"
T0=$(date +%s)

if want nginx; then
    log "nginx CORS capture"
    start_testserver 127.0.0.1 24490   # proxy_pass upstream
    start_nginx
    cap_start tcpdump "$TMP/nginx-cors.pcap" -i lo
    nginx_traffic
    cap_stop
    install_capture "$TMP/nginx-cors.pcap" nginx-cors.pcap
    gzip -9 -n -c "$HERE/nginx-cors.pcap" >"$TMP/nginx-cors.pcap.gz"
    install_capture "$TMP/nginx-cors.pcap.gz" nginx-cors.pcap.gz
fi

if want edge || want nano || want sll || want browser; then
    [ "$TS4_STARTED" = 1 ] || start_testserver 127.0.0.1 24490
fi

if want edge; then
    log "HTTP/1.x edge-case capture (testserver)"
    cap_start tcpdump "$TMP/edge-http1.pcap" -i lo
    edge_traffic 127.0.0.1 24490
    cap_stop
    install_capture "$TMP/edge-http1.pcap" edge-http1.pcap
fi

if want nano; then
    log "nanosecond pcap"
    cap_start tcpdump "$TMP/keepalive-nano.pcap" -i lo --time-stamp-precision=nano
    c "${O[@]}" "http://127.0.0.1:24490/json/nano-1" "http://127.0.0.1:24490/chunked" "http://127.0.0.1:24490/split"
    "$PY" "$HERE/clients/rawclient.py" 127.0.0.1 24490 pipeline >/dev/null
    cap_stop
    install_capture "$TMP/keepalive-nano.pcap" keepalive-nano.pcap
fi

if want browser || want sll; then
    [ "$NGINX_STARTED" = 1 ] || start_nginx
fi

if want browser; then
    # One Chromium run -> chromium/chromium-cors.{pcapng,results.json,har}
    # (the differential's inputs; see README "Chromium differential").
    log "Chromium CORS capture (pcapng via dumpcap, results + HAR from CDP)"
    mkdir -p "$HERE/chromium"
    B0=$(date +%s)
    cap_start dumpcap "$TMP/chromium-cors.pcapng"
    brc=0
    timeout 120 "$PY" "$HERE/browser/run_browser.py" --out "$TMP/chromium-cors.results.json" \
        --har "$TMP/chromium-cors.har" || brc=$?
    cap_stop
    if [ "$brc" = 0 ] || [ "$brc" = 3 ]; then
        [ "$brc" = 3 ] && log "WARNING: Chromium disagrees with some scenario's expect (see MISMATCH above); recorded anyway, Chromium is the truth: fix expect/why"
        install_capture "$TMP/chromium-cors.pcapng" chromium/chromium-cors.pcapng
        install_capture "$TMP/chromium-cors.results.json" chromium/chromium-cors.results.json
        install_capture "$TMP/chromium-cors.har" chromium/chromium-cors.har
        log "Chromium run took $(( $(date +%s) - B0 )) s; cross-checking with tshark"
        "$PY" "$HERE/browser/check_capture.py" "$HERE/chromium/chromium-cors" >&2 ||
            log "WARNING: check_capture.py found problems (see above)"
        "$PY" "$HERE/browser/readme_table.py" || log "WARNING: README.md scenario table not updated"
    else
        log "Chromium run FAILED (exit $brc); chromium/chromium-cors.* not updated"
    fi
fi

if want https; then
    https_group
fi

if want sll; then
    log "Linux cooked captures (tcpdump -i any): SLL2 (default) and SLL v1"
    variants=(sll2)
    dlts="$(tcpdump -i any -L 2>&1 || true)"
    if grep -qE '^ *LINUX_SLL( |$)' <<<"$dlts"; then variants+=(sll1); else
        log "this tcpdump/libpcap cannot write LINUX_SLL (v1) for -i any: any-sll1.pcap not updated"
    fi
    for v in "${variants[@]}"; do
        args=(-i any)
        [ "$v" = sll1 ] && args+=(-y LINUX_SLL)
        cap_start tcpdump "$TMP/any-$v.pcap" "${args[@]}"
        c "${O[@]}" "http://127.0.0.1:24480/api/noalways/ok" "http://127.0.0.1:24480/api/noalways/notfound"
        c -X OPTIONS "${O[@]}" -H 'Access-Control-Request-Method: PUT' "http://127.0.0.1:24480/api/preflight-204"
        c "${O[@]}" "http://127.0.0.1:24480/proxy/cors"
        c "http://127.0.0.1:24490/chunked"
        cap_stop
        install_capture "$TMP/any-$v.pcap" "any-$v.pcap"
    done
fi

if want ipv6 && ! grep -qE ' lo$' /proc/net/if_inet6 2>/dev/null; then
    log "IPv6 is not available on lo here: ipv6-edge.pcap not updated"
elif want ipv6; then
    log "IPv6 capture (testserver on ::1)"
    start_testserver ::1 24491
    cap_start tcpdump "$TMP/ipv6-edge.pcap" -i lo
    B="http://[::1]:24491"
    c -g "${O[@]}" "$B/json/v6-1" "$B/json/v6-2" "$B/chunked"
    c -g -X OPTIONS "${O[@]}" -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type' "$B/cors"
    c -g "${O[@]}" -X PUT -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data '{"v6":true}' "$B/cors"
    c -g "$B/dup-acao" "$B/gzip" --compressed
    "$PY" "$HERE/clients/rawclient.py" ::1 24491 pipeline >/dev/null
    c -g -0 "$B/close"
    cap_stop
    install_capture "$TMP/ipv6-edge.pcap" ipv6-edge.pcap
fi

if want firefox; then
    # Firefox ESR -> firefox/firefox-cors.{pcapng,results.json}: its own script, which runs
    # its own nginx + testserver (same config) inside a private network namespace, so the
    # servers this script may still be running on the host's ports do not clash.
    log "Firefox CORS capture (record-firefox.sh)"
    "$HERE/record-firefox.sh" || log "WARNING: record-firefox.sh failed (exit $?); firefox/firefox-cors.* not updated"
fi

if want layers; then
    # Real front layers in their usual misconfigurations -> layers/<layer>-{edge,app}.pcap: its own
    # script, ports 24720-24739, own deps (haproxy varnish caddy apache2).
    log "front layers (record-layers.sh)"
    "$HERE/record-layers.sh" || log "WARNING: record-layers.sh failed (exit $?); layers/* not updated"
fi

if want variants; then
    log "variants"
    "$PY" "$HERE/make-variants.py"
fi

if want verify; then
    log "tshark cross-check -> tshark-summary.txt"
    "$HERE/verify.sh" >/dev/null
fi

log "done in $(( $(date +%s) - T0 )) s"

#!/usr/bin/env bash
# Record real front layers -- HAProxy, Varnish, Caddy and Apache httpd -- in front of a small
# CORS-doing app (servers/layer_app.py), each in the misconfigurations people hit, with curl as
# the browser (it sends what a browser would: Origin, a preflight before a PUT, no request
# after a failed preflight):
#
#   sudo Captures/record-layers.sh [haproxy varnish caddy apache nginx nginx-cache]   (default: all)
#
# Writes layers/<layer>-edge.pcap (the client's side of the layer, port 2472x) and
# layers/<layer>-app.pcap (the same exchanges between the layer and the app, port 24730),
# recorded at the same time by two tcpdumps on lo, for the layer fingerprints and for
# `corscope diff`. The configurations are servers/layers/* (each lists its mistakes).
#
# Ports (127.0.0.1 only): 24720 HAProxy, 24721 Varnish, 24722 Caddy, 24723 Apache, 24724 nginx,
# 24725 nginx caching, 24730 the app; 24739 must stay closed (HAProxy's dead backend). The
# script refuses to run if one of them is taken. Installs what is missing with apt-get (haproxy
# varnish caddy apache2 nginx-light tcpdump curl python3). Every wait is bounded; an EXIT trap stops every process it started.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
PY="${PYTHON:-python3}"
LAYERS="${*:-haproxy varnish caddy apache nginx nginx-cache}"
A="http://127.0.0.1:24482"   # page origin A (as in the other recordings)
B="http://127.0.0.1:24484"   # page origin B
APP_PORT=24730

log() { printf '[record-layers %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ "$(id -u)" != 0 ]; then echo "record-layers.sh must run as root (apt-get, tcpdump on lo)" >&2; exit 1; fi

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] || need+=(varnish)
command -v caddy >/dev/null || need+=(caddy)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v nginx >/dev/null || need+=(nginx-light)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v curl >/dev/null || need+=(curl)
command -v "$PY" >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
    log "apt-get install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    # The packages' own services are not wanted: policy-rc.d keeps them from starting.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" || { rm -f /usr/sbin/policy-rc.d; exit 1; }
    rm -f /usr/sbin/policy-rc.d
fi

TMP="$(mktemp -d /tmp/corscope-layers.XXXXXX)"
chmod 755 "$TMP"
PIDS=()
cleanup() {
    local rc=$?
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    # Apache and Varnish fork their workers: stop what is left of them by their pid files.
    for f in "$TMP"/apache.pid "$TMP"/varnish/varnishd.pid "$TMP"/nginx/nginx.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    sleep 0.3
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$1),0.3).close()" 2>/dev/null; }
wait_port() {  # port: wait (max 10 s) until something accepts on it
    for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
    log "nothing listening on 127.0.0.1:$1"; return 1
}
for port in 24720 24721 24722 24723 24724 24725 $APP_PORT 24739; do
    if port_open "$port"; then log "ERROR: 127.0.0.1:$port is in use (nothing recorded)"; exit 1; fi
done

stop_pid() {
    local p=$1
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

"$PY" "$HERE/servers/layer_app.py" --port $APP_PORT --lifetime 600 >"$TMP/app.log" 2>&1 &
PIDS+=($!)
wait_port $APP_PORT

CAPS=()
cap_start() {  # name front-port: one tcpdump per side of the layer
    local name=$1 port=$2 side filter
    CAPS=()
    for side in edge app; do
        if [ $side = edge ]; then filter="tcp port $port"; else filter="tcp port $APP_PORT"; fi
        tcpdump -Z root -n -U --immediate-mode -B 8192 -s 0 -i lo -w "$TMP/$name-$side.pcap" "$filter" 2>"$TMP/$name-$side.err" &
        CAPS+=($!); PIDS+=($!)
    done
    for side in edge app; do
        for _ in $(seq 1 100); do grep -q 'listening on' "$TMP/$name-$side.err" && break; sleep 0.1; done
    done
    sleep 0.3
}
cap_stop() {  # name
    local name=$1 p side
    sleep 0.5   # the last FIN/ACKs
    for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${CAPS[@]}"; do stop_pid "$p"; done
    mkdir -p "$HERE/layers"
    for side in edge app; do
        grep -E 'packets (captured|dropped by kernel)' "$TMP/$name-$side.err" >&2 || true
        mv -f "$TMP/$name-$side.pcap" "$HERE/layers/$name-$side.pcap"
        chmod 644 "$HERE/layers/$name-$side.pcap"
        log "wrote layers/$name-$side.pcap ($(stat -c %s "$HERE/layers/$name-$side.pcap") bytes)"
    done
}

# curl as the page's fetch(): never aborts the script, always bounded.
c() { curl -sS -m 5 -o /dev/null "$@" || log "curl exit $? for: $*"; }
get() { c -H "Origin: $1" "$2"; }                              # origin url
preflight() {                                                  # origin url: OPTIONS for a PUT with JSON
    c -X OPTIONS -H "Origin: $1" -H "Access-Control-Request-Method: PUT" \
      -H "Access-Control-Request-Headers: content-type" "$2"
}
put() { c -X PUT -H "Origin: $1" -H "Content-Type: application/json" --data '{"n":1}' "$2"; }
passing() {  # base: a GET and a preflighted PUT that pass, so each capture has both
    get "$A" "$1/api/items/1"
    preflight "$A" "$1/api/items/2"; put "$A" "$1/api/items/2"
}

for layer in $LAYERS; do
    case $layer in
    haproxy)
        log "HAProxy on :24720"
        haproxy -f "$HERE/servers/layers/haproxy.cfg" -c -q
                timeout 120 haproxy -f "$HERE/servers/layers/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
        pid=$!; PIDS+=($pid); wait_port 24720
        cap_start haproxy 24720
        sleep 1.2   # the health check marks the dead server down
        base=http://127.0.0.1:24720
        passing $base
        get "$A" $base/dup/items/3                 # two ACAO lines: blocked
        preflight "$A" $base/deny/items/4          # 403 from HAProxy: blocked, no PUT follows
        get "$A" $base/down/items/5                # 503 from HAProxy: blocked
        cap_stop haproxy; stop_pid $pid ;;
    varnish)
        log "Varnish on :24721"
        mkdir -p "$TMP/varnish"
                timeout 120 /usr/sbin/varnishd -F -a 127.0.0.1:24721 -f "$HERE/servers/layers/varnish.vcl" \
            -n "$TMP/varnish" -s malloc,32m -P "$TMP/varnish/varnishd.pid" >"$TMP/varnish.log" 2>&1 &
        pid=$!; PIDS+=($pid); wait_port 24721
        cap_start varnish 24721
        base=http://127.0.0.1:24721
        passing $base
        get "$A" $base/api/cached                  # stored with A's ACAO, no Vary
        sleep 1.1                                  # Age 1: the hit is visible
        get "$B" $base/api/cached                  # B gets A's answer from the cache: blocked
        cap_stop varnish; stop_pid $pid ;;
    caddy)
        log "Caddy on :24722"
        mkdir -p "$TMP/caddy"
        caddy validate --config "$HERE/servers/layers/Caddyfile" --adapter caddyfile >"$TMP/caddy-validate.log" 2>&1 \
            || { cat "$TMP/caddy-validate.log" >&2; exit 1; }
                HOME="$TMP/caddy" XDG_DATA_HOME="$TMP/caddy" XDG_CONFIG_HOME="$TMP/caddy" timeout 120 \
            caddy run --config "$HERE/servers/layers/Caddyfile" --adapter caddyfile >"$TMP/caddy.log" 2>&1 &
        pid=$!; PIDS+=($pid); wait_port 24722
        cap_start caddy 24722
        base=http://127.0.0.1:24722
        passing $base
        get "$A" $base/strip/items/3               # the app's ACAO stripped: blocked
        preflight "$A" $base/opts/items/4          # Caddy's own 204 without CORS: blocked
        cap_stop caddy; stop_pid $pid ;;
    apache)
        log "Apache httpd on :24723"
        apache2 -f "$HERE/servers/layers/apache.conf" -C "Define RUN_DIR $TMP" -t >/dev/null 2>"$TMP/apache-t.log" \
            || { cat "$TMP/apache-t.log" >&2; exit 1; }
                timeout 120 apache2 -f "$HERE/servers/layers/apache.conf" -C "Define RUN_DIR $TMP" -DFOREGROUND >"$TMP/apache.log" 2>&1 &
        pid=$!; PIDS+=($pid); wait_port 24723
        cap_start apache 24723
        base=http://127.0.0.1:24723
        passing $base
        get "$A" $base/dup/items/3                 # Header always set + the app's copy: blocked
        preflight "$A" $base/deny/items/4          # 403 from Apache: blocked
        get "$A" $base/fixed/items/5               # the fix: one ACAO, passes
        cap_stop apache; stop_pid $pid ;;
    nginx|nginx-cache)
        port=24724; [ $layer = nginx-cache ] && port=24725
        log "$layer on :$port"
        if [ ! -d "$TMP/nginx" ]; then
            mkdir -p "$TMP/nginx/tmp" "$TMP/nginx/cache"
            # user "api", password "secret": only for the 401 the preflight gets (it carries none).
            printf 'api:%s\n' "$(openssl passwd -apr1 secret 2>/dev/null || echo '$apr1$x$x')" > "$TMP/nginx/htpasswd"
            chmod -R a+rwX "$TMP/nginx"
            nginx -p "$TMP/nginx/" -c "$HERE/servers/layers/nginx.conf" -e "$TMP/nginx/error.log" -t -q
            timeout 300 nginx -p "$TMP/nginx/" -c "$HERE/servers/layers/nginx.conf" -e "$TMP/nginx/error.log" &
            PIDS+=($!)
        fi
        wait_port $port
        cap_start $layer $port
        base=http://127.0.0.1:$port
        passing $base
        if [ $layer = nginx ]; then
            get "$A" $base/dup/items/3             # add_header on top of the app's ACAO: blocked
            get "$A" $base/hide/items/4            # proxy_hide_header, nothing added: blocked
            get "$A" $base/noalways/items/5        # the app's 404, nginx's add_header without always: blocked
            preflight "$A" $base/auth/items/6      # auth_basic answers OPTIONS 401: blocked
        else
            get "$A" $base/api/cached              # stored with A's ACAO (the key has no Origin)
            get "$B" $base/api/cached              # B gets A's answer from the cache: blocked
        fi
        cap_stop $layer ;;
    *) log "unknown layer $layer (haproxy varnish caddy apache nginx nginx-cache)"; exit 2 ;;
    esac
done
log "done"

#!/usr/bin/env bash
# Record real Firefox ESR running the browser scenarios (browser/scenarios.py) against the
# same nginx config and test server as the Chromium recording:
#
#   sudo Captures/record-firefox.sh             # in a private network namespace (default as root)
#   Captures/record-firefox.sh --no-netns       # on the host's loopback (ports must be free)
#
# Writes firefox/firefox-cors.results.json (Firefox's verdict per scenario: what JS saw,
# blocked, the console's CORS reason key and text; see browser/run_firefox.py) and
# firefox/firefox-cors.pcapng (dumpcap on lo, tcp ports 24480-24499, the same run).
#
# Why a namespace: the servers need the fixed ports 24480-24485 and 24490, which another
# recording (record.sh's nginx/browser groups) may be using on the host at the same time.
# As root, the script creates its own namespace (`ip netns add corscope-ff-<pid>`, only
# `lo`, no route out: Firefox cannot reach anything else either), re-runs itself inside it,
# and deletes the namespace on exit.  Dependencies are installed before that (apt-get:
# firefox-esr nginx-light tshark python3-pip; pip: marionette-driver -- no geckodriver).
#
# Every wait is bounded; an EXIT trap stops every process this script started.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
PY="${PYTHON:-python3}"
FIREFOX="${FIREFOX:-/usr/bin/firefox-esr}"
PORTS_FILTER="tcp portrange 24480-24499"
USE_NETNS=1
[ "${1:-}" = "--no-netns" ] && USE_NETNS=0

log() { printf '[record-firefox %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ outside: deps + namespace
if [ -z "${CORSCOPE_FF_INSIDE:-}" ]; then
    if [ "$(id -u)" = 0 ]; then
        need=()
        [ -x "$FIREFOX" ] || need+=(firefox-esr)
        command -v nginx >/dev/null || need+=(nginx-light)
        command -v dumpcap >/dev/null || need+=(tshark)
        "$PY" -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
        if [ "${#need[@]}" -gt 0 ]; then
            echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
            log "apt-get install ${need[*]}"
            DEBIAN_FRONTEND=noninteractive timeout 900 apt-get update -q
            DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q "${need[@]}"
        fi
    fi
    if ! "$PY" -c 'import marionette_driver' 2>/dev/null; then
        log "pip install marionette-driver"
        timeout 300 "$PY" -m pip install -q marionette-driver 2>/dev/null ||
            timeout 300 "$PY" -m pip install -q --break-system-packages marionette-driver   # Debian 12: PEP 668
    fi
    for tool in "$FIREFOX" nginx dumpcap; do
        command -v "$tool" >/dev/null || { log "ERROR: $tool not found"; exit 1; }
    done
    if [ "$USE_NETNS" = 1 ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
        NS="corscope-ff-$$"
        ip netns add "$NS"
        trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
        ip netns exec "$NS" ip link set lo up
        log "recording inside network namespace $NS"
        rc=0
        CORSCOPE_FF_INSIDE="$NS" PYTHON="$PY" FIREFOX="$FIREFOX" \
            timeout 600 ip netns exec "$NS" "$HERE/$(basename "${BASH_SOURCE[0]}")" --no-netns || rc=$?
        exit "$rc"
    fi
    [ "$USE_NETNS" = 1 ] && log "no network namespace (needs root and ip): using the host's loopback"
    export CORSCOPE_FF_INSIDE=host
fi

# ------------------------------------------------------------------ inside: servers, capture, Firefox
TMP="$(mktemp -d /tmp/corscope-record-firefox.XXXXXX)"
chmod 755 "$TMP"
PIDS=()
cleanup() {
    local rc=$?
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$1),0.3).close()" 2>/dev/null; }
wait_port() {  # max 10 s
    for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
    log "nothing listening on 127.0.0.1:$1"; return 1
}
for port in 24480 24482 24483 24484 24485 24490; do
    if port_open "$port"; then
        log "ERROR: 127.0.0.1:$port is already in use; stop it or run as root (own namespace). Nothing recorded."
        exit 1
    fi
done

"$PY" "$HERE/servers/testserver.py" --host 127.0.0.1 --port 24490 --lifetime 600 >"$TMP/testserver.log" 2>&1 &
PIDS+=($!)
mkdir -p "$TMP/nginx/tmp"; cp -r "$HERE/servers/www" "$TMP/nginx/www"; chmod -R a+rX "$TMP/nginx"
nginx -p "$TMP/nginx/" -c "$HERE/servers/nginx-cors.conf" -e "$TMP/nginx/error.log" -t -q
timeout 600 nginx -p "$TMP/nginx/" -c "$HERE/servers/nginx-cors.conf" -e "$TMP/nginx/error.log" &
PIDS+=($!)
for port in 24490 24480 24482 24483 24484 24485; do wait_port "$port"; done

dumpcap -q -i lo -f "$PORTS_FILTER" -w "$TMP/firefox-cors.pcapng" 2>"$TMP/cap.err" &
CAP=$!; PIDS+=("$CAP")
for _ in $(seq 1 100); do  # max 10 s for the capture to be live
    grep -qiE 'capturing on' "$TMP/cap.err" && break
    kill -0 "$CAP" 2>/dev/null || { cat "$TMP/cap.err" >&2; exit 1; }
    sleep 0.1
done
sleep 0.3

log "Firefox run ($("$FIREFOX" --version 2>/dev/null || echo "$FIREFOX"))"
T0=$(date +%s)
frc=0
timeout 300 "$PY" "$HERE/browser/run_firefox.py" --firefox "$FIREFOX" \
    --out "$TMP/firefox-cors.results.json" || frc=$?

sleep 0.5  # the last FIN/ACKs
kill -INT "$CAP" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$CAP" 2>/dev/null || break; sleep 0.1; done
grep -iE 'packets (captured|received)|dropped' "$TMP/cap.err" >&2 || true

if [ "$frc" != 0 ]; then
    log "Firefox run FAILED (exit $frc); firefox/firefox-cors.* not updated"
    exit "$frc"
fi
mkdir -p "$HERE/firefox"
for f in firefox-cors.pcapng firefox-cors.results.json; do
    mv -f "$TMP/$f" "$HERE/firefox/$f"; chmod 644 "$HERE/firefox/$f"
    log "wrote firefox/$f ($(stat -c %s "$HERE/firefox/$f") bytes)"
done
log "done in $(( $(date +%s) - T0 )) s"

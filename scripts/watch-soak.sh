#!/usr/bin/env bash
# A soak run of `corscope watch`: SECONDS of mixed real traffic replayed at a steady rate, with
# bursts of hostile input between rounds, while watch captures it; then SIGINT. Then the atomic
# report writes: watch rewrites a full JSON report 20 times a second while traffic flows, a
# reader parses the file as fast as it can, and watch is killed with SIGKILL SOAK_KILLS times
# (default 5) at random moments, restarted after each. Prints one JSON object: what was sent,
# what watch saw and the kernel dropped, watch's memory sampled every second (VmRSS, and
# RssAnon: VmRSS also counts the kernel capture ring, mapped and touched as it fills), how it
# stopped, its final report, and the reads and parses of the kill phase.
#
#   scripts/watch-soak.sh SECONDS OUT_DIR        (as root: it creates a network namespace)
#
# Where: a network namespace of its own (corscope-soak-<pid>) with a veth pair; tcpreplay sends
# onto one end and watch captures the other. The packets carry loopback addresses, so the kernel
# drops them after the capture point: nothing answers, nothing leaves the namespace, and every
# packet sent is either seen by watch or counted as a kernel drop.
#
# Traffic, per round: the committed Ethernet captures (HTTP/1 through nginx and Chromium and
# Firefox, HTTP/2 cleartext, HTTPS with its key log) at SOAK_PPS packets/s (default 20,000); every
# round one hostile burst at full speed, taken in turn from scripts/hostile's generators at a
# small size (a SYN flood, segments in reverse order, unanswered pipelined requests, 20,000
# headers, a 1 MB header line, a fragment flood, invalid UTF-8, a gzip bomb).
#
# Environment: CORSCOPE (default .build/debug/corscope), SOAK_PPS, SOAK_SCALE (multiplies the
# burst sizes; default 1), SOAK_KILLS, SOAK_WATCH_ARGS (more options for watch: a short run passes
# a short --idle-timeout, so that it reaches the steady state an hour reaches with the default). Findings are written as NDJSON to /dev/null (an hour of
# them is gigabytes), and watch's stdout too.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: $0 SECONDS OUT_DIR}
out=${2:?usage: $0 SECONDS OUT_DIR}
corscope=$(realpath "${CORSCOPE:-.build/debug/corscope}")
pps=${SOAK_PPS:-20000}
scale=${SOAK_SCALE:-1}
mkdir -p "$out"
out=$(realpath "$out")
ns=corscope-soak-$$
watch_pid=""
sampler_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  [ -n "$watch_pid" ] && kill -KILL "$watch_pid" 2>/dev/null || true
  [ -n "${loop_pid:-}" ] && kill -KILL "$loop_pid" 2>/dev/null || true
  [ -n "${poller_pid:-}" ] && kill -KILL "$poller_pid" 2>/dev/null || true
  # Whatever still runs in the namespace (tcpreplay, watch) goes with it.
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
inns=(ip netns exec "$ns")
if ! ip netns add "$ns" 2> "$out/netns.err"; then
  echo "watch-soak: cannot create a network namespace: $(cat "$out/netns.err")" >&2
  exit 77   # "skipped": the soak needs CAP_SYS_ADMIN
fi
if ! "${inns[@]}" ip link add veth-replay type veth peer name veth-watch 2> "$out/netns.err"; then
  echo "watch-soak: cannot create a veth pair in the namespace: $(cat "$out/netns.err")" >&2
  exit 77
fi
for link in veth-replay veth-watch; do
  # Loopback captures carry segments up to 64 KiB; no IPv6 chatter of the links' own (where
  # /proc/sys is read-only that chatter stays, and the packet counts may be off by a few).
  "${inns[@]}" ip link set "$link" mtu 65535
  "${inns[@]}" sysctl -qw "net.ipv6.conf.$link.disable_ipv6=1" 2> /dev/null || true
  "${inns[@]}" ip link set "$link" up
done

# The hostile bursts, generated once (deterministic, small).
bursts=()
mkdir -p "$out/bursts"
for spec in "syn-flood 20000" "reverse-segments 20000" "pending-requests 20" "many-headers 20000" \
            "long-header-line 1000000" "fragment-flood 20000" "invalid-utf8-pcap 2000" "gzip-bomb 100000000"; do
  set -- $spec
  file="$out/bursts/$1.pcap"
  [ -s "$file" ] || python3 "scripts/hostile/gen-$1.py" "$(( $2 * scale ))" "$file" > /dev/null
  bursts+=("$file")
done
normal=(Captures/nginx-cors.pcap Captures/edge-http1.pcap Captures/keepalive-nano.pcap Captures/ipv6-edge.pcap
        Captures/chromium/chromium-cors.pcapng Captures/firefox/firefox-cors.pcapng Captures/h2c/*.pcap
        Captures/chromium-https/chromium-https.pcap Captures/tls/loopback-tls.pcap)
cat Captures/chromium-https/chromium-https.keylog Captures/tls/loopback-tls.keylog > "$out/keys.log"

"${inns[@]}" "$corscope" watch -i veth-watch --tls-keylog "$out/keys.log" --output "$out/report.json" \
  --report-interval 1 --events /dev/null ${SOAK_WATCH_ARGS:-} > /dev/null 2> "$out/watch.err" &
watch_pid=$!
# Memory every second: "<seconds since start> <VmRSS kB> <RssAnon kB>".
( start=$(date +%s.%N)
  while kill -0 "$watch_pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ { v = $2 } /^RssAnon:/ { a = $2 } END { if (v != "") print v, a }' "/proc/$watch_pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }') $rss"
    sleep 1
  done > "$out/rss.txt" ) &
sampler_pid=$!
# The capture is open once the first report is written (one a second from the start).
for _ in $(seq 1 300); do [ -s "$out/report.json" ] && break; sleep 0.1; done
[ -s "$out/report.json" ] || { echo "watch-soak: watch wrote no report within 30 s: $(cat "$out/watch.err")" >&2; exit 1; }

sent=0 rounds=0 burst_count=0
started=$(date +%s)
: > "$out/tcpreplay.txt"
replay() {  # replay ARGS… FILE: sends, adds what tcpreplay says it sent to $sent
  local line
  line=$("${inns[@]}" tcpreplay -i veth-replay "$@" 2>&1 | tee -a "$out/tcpreplay.txt" | grep -o 'Actual: [0-9]* packets' || true)
  sent=$(( sent + ${line//[^0-9]/} + 0 ))
}
while [ $(( $(date +%s) - started )) -lt "$seconds" ]; do
  for file in "${normal[@]}"; do replay --pps="$pps" "$file"; done
  replay --topspeed "${bursts[$(( rounds % ${#bursts[@]} ))]}"
  burst_count=$(( burst_count + 1 ))
  rounds=$(( rounds + 1 ))
done
# The last packets reach watch: wait (up to 60 s) until its report accounts for every packet sent.
accounted() { python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); print(r["packets"] + r["kernel"]["dropped"])' "$out/report.json" 2>/dev/null || echo 0; }
for _ in $(seq 1 300); do [ "$(accounted)" -ge "$sent" ] && break; sleep 0.2; done
stop_started=$(date +%s.%N)
kill -INT "$watch_pid"
status=0
for _ in $(seq 1 300); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$watch_pid" 2>/dev/null; then
  kill -KILL "$watch_pid"; status=killed
  wait "$watch_pid" 2>/dev/null || true
else
  wait "$watch_pid" || status=$?
fi
stop_seconds=$(awk -v s="$stop_started" -v n="$(date +%s.%N)" 'BEGIN { printf "%.2f", n - s }')
watch_pid=""
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

# SIGKILL while the report is rewritten: traffic keeps flowing, a reader keeps parsing.
kills=${SOAK_KILLS:-5}
mkdir -p "$out/kill"
rm -f "$out/kill/report.json" "$out/kill/stop"
( while :; do for file in "${normal[@]}"; do "${inns[@]}" tcpreplay -i veth-replay --pps="$pps" "$file" > /dev/null 2>&1; done; done ) &
loop_pid=$!
python3 - "$out/kill" > "$out/kill/poll.json" <<'PY' &
import json, os, sys, time
folder = sys.argv[1]
reads = torn = 0
examples = []
while not os.path.exists(folder + "/stop"):
    try:
        data = open(folder + "/report.json", "rb").read()
    except FileNotFoundError:
        time.sleep(0.001); continue
    reads += 1
    try:
        json.loads(data)
    except ValueError as error:
        torn += 1
        if len(examples) < 3: examples.append("%d bytes: %s" % (len(data), error))
    time.sleep(0.001)
print(json.dumps({"reads": reads, "torn": torn, "examples": examples}))
PY
poller_pid=$!
after_kills=()
for kill_number in $(seq 1 "$kills"); do
  "${inns[@]}" "$corscope" watch -i veth-watch --tls-keylog "$out/keys.log" --format json --output "$out/kill/report.json"     --report-interval 0.05 --events /dev/null > /dev/null 2>> "$out/kill/watch.err" &
  watch_pid=$!
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.8 + (r % 100) / 100 }')"
  kill -KILL "$watch_pid"
  wait "$watch_pid" 2>/dev/null || true
  watch_pid=""
  after_kills+=("$(python3 -c 'import json, sys
try: json.load(open(sys.argv[1])); print("complete")
except FileNotFoundError: print("absent")
except ValueError: print("torn")' "$out/kill/report.json")")
done
touch "$out/kill/stop"
wait "$poller_pid" || true
poller_pid=""
{ kill -KILL "$loop_pid" && wait "$loop_pid"; } 2>/dev/null || true   # without the shell's "Killed" line
loop_pid=""
ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true

python3 - "$out" "$seconds" "$sent" "$rounds" "$burst_count" "$status" "$stop_seconds" "${after_kills[@]}" <<'PY'
import json, sys
out, seconds, sent, rounds, bursts, status, stop = sys.argv[1:8]
memory = [[float(t), int(rss), int(anon)] for t, rss, anon in (line.split() for line in open(out + "/rss.txt") if len(line.split()) == 3)]
try:
    report = json.load(open(out + "/report.json"))
except Exception as error:
    report = {"error": str(error)}
try:
    poll = json.load(open(out + "/kill/poll.json"))
except Exception as error:
    poll = {"error": str(error)}
summary = {"seconds": int(seconds), "packetsSent": int(sent), "rounds": int(rounds), "hostileBursts": int(bursts),
           "exitStatus": status if status == "killed" else int(status), "secondsToStop": float(stop),
           "memoryKB": memory, "report": report,
           "killNine": {"kills": len(sys.argv) - 8, "afterEachKill": sys.argv[8:], **poll}}
print(json.dumps(summary))
# For a person: the same in a few lines, on stderr.
kernel = report.get("kernel", {})
third = [m for m in memory if m[0] <= memory[-1][0] / 3] if memory else []
last = [m for m in memory if m[0] >= 2 * memory[-1][0] / 3] if memory else []
mb = lambda rows, i: max((r[i] for r in rows), default=0) // 1024
print("soak: %s s, %s rounds, %s hostile bursts; %s packets sent, watch saw %s, the kernel dropped %s (%s lost in between); %s exchanges"
      % (seconds, rounds, bursts, sent, report.get("packets"), kernel.get("dropped"),
         int(sent) - (report.get("packets") or 0) - (kernel.get("dropped") or 0), report.get("exchanges")), file=sys.stderr)
print("memory (MB, peak): heap (RssAnon) first third %d, last third %d, whole run %d; VmRSS with the capture ring %d"
      % (mb(third, 2), mb(last, 2), mb(memory, 2), mb(memory, 1)), file=sys.stderr)
print("stop: SIGINT, exit %s in %s s; SIGKILL x%d: after each %s; %d reads of the rewritten report, %d torn"
      % (status, stop, len(sys.argv) - 8, ",".join(sys.argv[8:]), poll.get("reads", 0), poll.get("torn", 0)), file=sys.stderr)
PY

#!/usr/bin/env bash
# The hostile-input suite at full size (issue 11): every generator in scripts/hostile/ writes its
# case into a temporary folder (each file deleted once read), the release corscope reads it
#   - `analyze --format json` (to /dev/null): wall time and peak RSS, against the issue's bounds
#     (under 256 MB RSS; under 10 s per 100 MB of input, at least 1 s for process start-up)
#   - `exchanges --stats --json`: what the caps dropped or skipped
# and a table is printed: case, input size, time, peak RSS, what was dropped, pass/fail.
#
#   scripts/hostile/run.sh [scale]        scale multiplies every size (default 1: the issue's sizes)
#   CORSCOPE=path/to/corscope scripts/hostile/run.sh    (default .build/release/corscope)
#   HOSTILE_CASES="syn-flood gzip-bomb" scripts/hostile/run.sh    only these cases
#   HOSTILE_TMP=/big/disk scripts/hostile/run.sh        where the inputs are written (default $TMPDIR)
#
# Exit status 0 when every case passed, 1 when one failed. Needs python3 and /usr/bin/time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scale="${1:-1}"
corscope="${CORSCOPE:-$root/.build/release/corscope}"
[ -x "$corscope" ] || { echo "run.sh: $corscope is not built (swift build -c release --product corscope)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

# case, full size (the issue's where it gives one)
cases=(
  "syn-flood 1000000"
  "reverse-segments 1000000"
  "random-segments 1000000"
  "long-header-line 1000000000"
  "many-headers 100000"
  "gzip-bomb 10000000000"
  "pending-requests 10000"
  "fragment-flood 1000000"
  "invalid-utf8-pcap 100000"
  "truncated-pcap 3000"
  "truncated-pcapng 3000"
  "truncated-pcap-gz 3000"
  "nested-har 1000000"
  "har-long-string 500000000"
  "invalid-utf8-har 100000"
  "truncated-har 500"
)

work="$(mktemp -d "${HOSTILE_TMP:-${TMPDIR:-/tmp}}/corscope-hostile.XXXXXX")"
trap 'rm -rf "$work"' EXIT
results="$work/results.tsv"
: >"$results"

for entry in "${cases[@]}"; do
  read -r name size <<<"$entry"
  if [ -n "${HOSTILE_CASES:-}" ] && [[ " $HOSTILE_CASES " != *" $name "* ]]; then continue; fi
  size=$(python3 -c "print(max(1, int($size * $scale)))")
  input="$work/$name.input"
  echo "== $name $size" >&2
  gen_start=$(date +%s.%N)
  python3 "$here/gen-$name.py" "$size" "$input"
  gen_seconds=$(python3 -c "print(round($(date +%s.%N) - $gen_start, 1))")
  bytes=$(stat -c %s "$input")
  # The bound is per 100 MB of capture: a gzip'd capture is measured by what it holds.
  capture_bytes=$bytes
  if [ "$(head -c 2 "$input" | od -An -tx1 | tr -d ' ')" = "1f8b" ]; then capture_bytes=$( (gzip -dc "$input" 2>/dev/null || true) | wc -c); fi
  set +e
  /usr/bin/time -f "%M %e" -o "$work/analyze.time" "$corscope" analyze --format json --output /dev/null "$input" \
    >/dev/null 2>"$work/analyze.err"
  analyze_status=$?
  /usr/bin/time -f "%M %e" -o "$work/stats.time" "$corscope" exchanges --stats --json "$input" \
    >"$work/stats.json" 2>"$work/stats.err"
  stats_status=$?
  set -e
  rm -f "$input"
  python3 - "$name" "$size" "$bytes" "$gen_seconds" "$analyze_status" "$stats_status" "$work" "$capture_bytes" >>"$results" <<'EOF'
import json, sys
name, size, nbytes, gen_seconds, analyze_status, stats_status, work, capture_bytes = sys.argv[1:]
nbytes, analyze_status, stats_status, capture_bytes = int(nbytes), int(analyze_status), int(stats_status), int(capture_bytes)
def rusage(path):
    lines = [l for l in open(path).read().split("\n") if l.strip()]
    rss_kb, seconds = lines[-1].split()
    return int(rss_kb) * 1024, float(seconds)
rss, seconds = rusage(f"{work}/analyze.time")
stats_rss, stats_seconds = rusage(f"{work}/stats.time")
try:
    stats = json.loads(open(f"{work}/stats.json").read().strip().split("\n")[-1])
except Exception:
    stats = {}
dropped_keys = ["evicted_connections", "gaps", "gap_bytes", "gaps_forced_by_buffer_cap",
                "gaps_forced_by_total_buffer_cap", "retransmitted_bytes", "late_bytes", "skipped_http_bytes",
                "skipped_packets.ip_fragments_dropped", "anomaly.header_too_large",
                "anomaly.decompression_cap_reached", "anomaly.pending_request_evicted",
                "anomaly.non_utf8_header_bytes"]
dropped = [f"{k}={stats[k]}" for k in dropped_keys if stats.get(k)]
warnings = [l for l in open(f"{work}/stats.err").read().split("\n") if "warning" in l]
if warnings:
    text = warnings[0].strip().split(".input: ", 1)[-1]
    dropped.append("warning: " + text[:110])
bound = max(1.0, 10.0 * capture_bytes / 100e6)
problems = []
if rss >= 256 << 20: problems.append("RSS")
if seconds >= bound: problems.append(f"time>{bound:.1f}s")
if analyze_status not in (0, 1): problems.append(f"analyze exit {analyze_status}")
if stats_status != 0: problems.append(f"exchanges exit {stats_status}")
verdict = "pass" if not problems else "FAIL " + ",".join(problems)
print("\t".join([name, size, f"{nbytes / 1e6:.1f} MB", gen_seconds, f"{seconds:.2f}", f"{rss / 2**20:.0f} MB",
                 f"{stats_seconds:.2f}", f"{stats.get('exchanges', '?')}", "; ".join(dropped) or "-", verdict]))
EOF
  tail -1 "$results" >&2
done

python3 - "$results" "$corscope" "$scale" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
head = ["case", "size", "input", "gen s", "analyze s", "analyze RSS", "stats s", "exchanges", "dropped / skipped (exchanges --stats)", "bounds"]
print(f"hostile inputs, {sys.argv[2]}, scale {sys.argv[3]}")
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" for _ in head) + "|")
for r in rows:
    print("| " + " | ".join(r) + " |")
sys.exit(0 if all(r[-1] == "pass" for r in rows) else 1)
EOF

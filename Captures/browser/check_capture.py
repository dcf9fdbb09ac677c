#!/usr/bin/env python3
"""Cross-check a Chromium recording: results JSON + HAR against the pcapng (tshark).

For every scenario of chromium/<base>.results.json:
  * Chromium's outcome (JS ok / blocked) equals `expect`;
  * every request DevTools saw for it (URL with ?scenario=<name>) is on the
    wire (tshark: method + path + query), except actual requests that Chromium
    never sent because their preflight failed, and requests answered from
    Chromium's HTTP cache (`fromCache` in the results);
  * the wire has no request for the scenario that DevTools did not report;
    scenarios that share one URL (`tag`) are compared with the wire together;
  * special checks: preflight-cache-600 has 1 OPTIONS + 2 PUT,
    preflight-cache-0 and preflight-cache-600-nostore 2 + 2,
    shared-cache-origin-b was answered with `X-Cache-Status: HIT`,
    the WebSocket handshake got 101 (websocket-origin-rejected: 403);
    img/nocors requests carry no Origin; shared-cache-primed-no-origin-prime
    was a MISS, shared-cache-primed-no-origin a HIT without ACAO;
    browser-cache-reuse was answered from the cache (nothing on the wire).
Prints one line per scenario (wire requests as METHOD/status) and exits 1 on
any failure.

Usage: check_capture.py [Captures/chromium/chromium-cors]   (base path, no extension)
"""
import collections
import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
base = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "chromium", "chromium-cors")
res = json.load(open(base + ".results.json"))
har = json.load(open(base + ".har"))
TS = ["tshark", "-n", "-d", "tcp.port==24480-24499,http", "-o", "tcp.reassemble_out_of_order:TRUE",
      "-r", base + ".pcapng"]


def tshark(filt, *fields):
    args = TS + ["-Y", filt, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
    return [ln.split("\t") for ln in out.splitlines() if ln.strip()]


def scen(uri):
    m = re.search(r"[?&]scenario=([^&#|]+)", uri)
    return m.group(1) if m else None


# requests on the wire per scenario: (method, path?query, frame), responses by request frame
wire = collections.defaultdict(list)
for frame, stream, meth, uri, host, lines in tshark("http.request", "frame.number", "tcp.stream",
                                                     "http.request.method", "http.request.uri", "http.host",
                                                     "http.request.line"):
    for m, u in zip(meth.split("|"), uri.split("|")):
        s = scen(u)
        if s:
            wire[s].append((m, u, host, lines))  # lines: header lines of the frame's request(s)
resp = collections.defaultdict(list)
for code, uri, lines in tshark("http.response", "http.response.code", "http.response_for.uri", "http.response.line"):
    for c, u in zip(code.split("|"), uri.split("|")):
        s = scen(u)
        if s:
            resp[s].append((c, u, lines))

UPSTREAM_PATHS = ("/upstream/", "/resource", "/noorigin/")  # proxy_pass targets (servers/nginx-cors.conf)


def has_header(lines, name):
    return any(ln.lower().startswith(name.lower() + ":") for ln in lines.split("|"))


def need_of(r):
    """What DevTools says should be on the wire for result r: Counter of (method, target)."""
    need = collections.Counter()
    for d in r["devtools"]:
        if d["event"] not in ("responseReceived", "loadingFailed", "redirect", "webSocketHandshakeResponseReceived",
                              "webSocketFrameError"):
            continue
        if d["event"] == "webSocketFrameError" and "handshake" not in (d.get("errorMessage") or ""):
            continue
        u = urlsplit(d["url"])
        target = u.path + ("?" + u.query if u.query else "")
        err = (d.get("corsErrorStatus") or {}).get("corsError") or ""
        if (d["event"] == "loadingFailed" and not d.get("preflight")
                and (err.startswith("Preflight") or err.endswith("PreflightResponse"))):
            continue  # never sent: its preflight failed
        if d.get("fromCache"):
            continue  # answered from Chromium's HTTP cache
        need[(d["method"], target)] += 1
    return need


group = collections.defaultdict(list)  # URL tag -> results using it, in run order
for r in res["results"]:
    group[r.get("tag", r["name"])].append(r)
fail = 0
for r in res["results"]:
    name = r["name"]
    tag = r.get("tag", name)
    problems = []
    got = "ok" if r.get("js") == "ok" else "blocked"
    if got != r["expect"]:
        problems.append(f"outcome {got} != expect {r['expect']}")
    onwire = collections.Counter((m, u) for m, u, _h, _l in wire.get(name, []))
    # what DevTools says should be on the wire (a shared URL is checked with its first scenario)
    need = collections.Counter()
    if group[tag][0] is r:
        for g in group[tag]:
            need += need_of(g)
    for k in list(onwire):
        if k not in need and k[1].startswith(UPSTREAM_PATHS):
            del onwire[k]  # nginx -> upstream hop of a proxied request (not a browser request)
    for k, n in need.items():
        if onwire[k] < n:
            problems.append(f"DevTools reports {n}x {k[0]} {k[1]} but the wire has {onwire[k]}")
    for k, n in onwire.items():
        if need[k] < n:
            problems.append(f"wire has {n}x {k[0]} {k[1]} but DevTools reports {need[k]}")
    meths = collections.Counter(m for m, _u, _h, _l in wire.get(name, []))
    if name == "preflight-cache-600" and (meths["OPTIONS"], meths["PUT"]) != (1, 2):
        problems.append(f"expected 1 OPTIONS + 2 PUT, wire has {dict(meths)}")
    if name in ("preflight-cache-0", "preflight-cache-600-nostore") and (meths["OPTIONS"], meths["PUT"]) != (2, 2):
        problems.append(f"expected 2 OPTIONS + 2 PUT, wire has {dict(meths)}")
    if name == "shared-cache-origin-b" and not any("X-Cache-Status: HIT" in ln for _c, _u, ln in resp[name]):
        problems.append("no X-Cache-Status: HIT response on the wire")
    if name == "websocket-cross-origin" and not any(c == "101" for c, _u, _l in resp[name]):
        problems.append("no 101 on the wire")
    if name == "websocket-origin-rejected" and not any(c == "403" for c, _u, _l in resp[name]):
        problems.append("no 403 on the wire")
    if r["api"] in ("img", "nocors") and any(has_header(ln, "Origin") for _m, _u, _h, ln in wire.get(name, [])):
        problems.append(f"{r['api']} request carries an Origin header")
    if name == "shared-cache-primed-no-origin-prime" and not any("X-Cache-Status: MISS" in ln
                                                                 for _c, _u, ln in resp[name]):
        problems.append("no X-Cache-Status: MISS response on the wire (the cache was not empty)")
    if name == "shared-cache-primed-no-origin":
        if not any("X-Cache-Status: HIT" in ln for _c, _u, ln in resp[name]):
            problems.append("no X-Cache-Status: HIT response on the wire")
        if any(has_header(ln, "Access-Control-Allow-Origin") for _c, _u, ln in resp[name]):
            problems.append("the cached response carries ACAO")
    if name == "browser-cache-reuse":
        if not r["devtools"] or not all(d.get("fromCache") for d in r["devtools"]):
            problems.append("DevTools does not show the fetch as answered from the cache")
        if len(wire.get(tag, [])) != 1 or wire.get(name):
            problems.append(f"expected exactly one request (the <img>) for ?scenario={tag} and none for {name}, "
                            f"wire has {len(wire.get(tag, []))} + {len(wire.get(name, []))}")
    codes = [c for c, _u, _l in resp.get(name, [])]
    listing = " ".join(f"{m}" for m, _u, _h, _l in wire.get(name, []))
    print(f"{'FAIL' if problems else 'ok  '} {name:34s} wire: {listing or '-'}  -> {' '.join(codes) or '-'}")
    for p in problems:
        print(f"       {p}")
    fail += bool(problems)

# HAR sanity: one entry per DevTools request hop with ?scenario=
n_har = sum(1 for e in har["log"]["entries"] if "scenario=" in e["request"]["url"])
print(f"{len(res['results'])} scenarios, {sum(len(v) for v in wire.values())} scenario requests on the wire, "
      f"{n_har} scenario entries in the HAR, {fail} with problems")
sys.exit(1 if fail else 0)

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

--tls (the HTTPS recording, chromium-https/): the pcapng is read on its own
(TLS keys from its Decryption Secrets Block, no key log option); requests and
responses come from the decrypted HTTP/1.1 (tshark fields, as above) AND from
HTTP/2 HEADERS frames (tshark -T json: :method/:path/:authority/:status and
every field in order, per TCP connection and stream id).  Extra checks: HTTP/2
HEADERS frames exist; every TLS connection that carried application data was
decrypted; the HTTPS incidents (two access-control-allow-origin fields in one
HEADERS block, the shared cache's HIT carrying page B's ACAO on the same
connection as B's MISS, the preflight + PUT answered while the background long
polls were pending on the same connection, 1 OPTIONS + 2 PUT for the max-age
preflight).  Also prints what TLS each server port negotiated (version, suite,
ALPN, SNI) and which connections carried no request.

Usage: check_capture.py [--tls] [Captures/chromium/chromium-cors]   (base path, no extension)
"""
import collections
import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
TLS = "--tls" in args
args = [a for a in args if a != "--tls"]
base = args[0] if args else os.path.join(HERE, "..", "chromium", "chromium-cors")
res = json.load(open(base + ".results.json"))
har = json.load(open(base + ".har"))
if TLS:
    # record.sh https: TLS on 24700-24704, 24706-24709, 24711; plaintext nginx->upstream hops on 24705, 24710
    DECODE = ["-d", "tcp.port==24700-24704,tls", "-d", "tcp.port==24706-24709,tls", "-d", "tcp.port==24711,tls",
              "-d", "tcp.port==24705,http", "-d", "tcp.port==24710,http"]
else:
    DECODE = ["-d", "tcp.port==24480-24499,http"]
TS = ["tshark", "-n"] + DECODE + ["-o", "tcp.reassemble_out_of_order:TRUE", "-r", base + ".pcapng"]


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

# HTTP/2 (--tls): HEADERS frames from tshark's JSON, one record per header block
def walk(o, out):
    if isinstance(o, dict):
        if "http2.type" in o:
            out.append(o)
        else:
            for v in o.values():
                walk(v, out)
    elif isinstance(o, list):
        for v in o:
            walk(v, out)


def as_list(x):
    return x if isinstance(x, list) else ([] if x is None else [x])


h2_blocks = []  # (frame, tcp.stream, server port, stream id, [(name, value)])
if TLS:
    out = subprocess.run(TS + ["-Y", "http2.type==1", "-T", "json", "--no-duplicate-keys", "-J", "frame tcp http2"],
                         capture_output=True, text=True, timeout=300).stdout
    for pkt in json.loads(out or "[]"):
        L = pkt["_source"]["layers"]
        frame = int(as_list(L["frame"]["frame.number"])[0])
        tcp = L["tcp"]
        stream = int(as_list(tcp["tcp.stream"])[0])
        sport, dport = int(as_list(tcp["tcp.srcport"])[0]), int(as_list(tcp["tcp.dstport"])[0])
        frames = []
        walk(L.get("http2"), frames)
        for f in frames:
            if as_list(f.get("http2.type"))[0] != "1":
                continue
            hdrs = [(h.get("http2.header.name", ""), h.get("http2.header.value", ""))
                    for h in as_list(f.get("http2.header"))]
            h2_blocks.append((frame, stream, min(sport, dport), int(as_list(f["http2.streamid"])[0]), hdrs))
    h2_req = {}  # (tcp stream, h2 stream) -> (method, path, authority, frame)
    h2_frames = collections.defaultdict(list)  # scenario -> [(kind, frame, tcp stream, method/status, path, hdrs)]
    for frame, stream, port, sid, hdrs in h2_blocks:
        d = dict(hdrs)
        lines = "|".join(f"{k}: {v}" for k, v in hdrs)
        if ":method" in d:
            h2_req[(stream, sid)] = (d[":method"], d.get(":path", ""), d.get(":authority", ""), frame)
            sc = scen(d.get(":path", ""))
            if sc:
                wire[sc].append((d[":method"], d.get(":path", ""), d.get(":authority", ""), lines))
                h2_frames[sc].append(("req", frame, stream, d[":method"], d.get(":path", ""), hdrs))
        elif ":status" in d and (stream, sid) in h2_req:
            m, path, _a, _f = h2_req[(stream, sid)]
            sc = scen(path)
            if sc:
                resp[sc].append((d[":status"], path, lines))
                h2_frames[sc].append(("resp", frame, stream, m, path, hdrs))

UPSTREAM_PATHS = ("/upstream/", "/resource", "/noorigin/", "/upstream-status/", "/longpoll/")  # proxy_pass targets


def has_header(lines, name):
    return any(ln.lower().startswith(name.lower() + ":") for ln in lines.split("|"))


def has_line(lines, text):  # "X-Cache-Status: HIT" (HTTP/1) or "x-cache-status: HIT" (HTTP/2)
    def clean(ln):  # tshark's http.*.line values end with the CRLF (escaped as \\r\\n in -T fields output)
        ln = ln.strip()
        return ln[:-4] if ln.endswith("\\r\\n") else ln
    return any(clean(ln).lower() == text.lower() for ln in lines.split("|"))


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


def tls_checks(r, name):
    """The HTTPS incidents: what must be visible in the decrypted HTTP/2."""
    p = []
    tag = r.get("tag", name)
    if not wire.get(tag):
        p.append(f"no request with ?scenario={tag} in the decrypted HTTP/2 or HTTP/1.1 traffic")
    fr = h2_frames.get(name, [])
    acao = "access-control-allow-origin"
    if name == "https-proxy-dup-acao-h2":
        if not any(k == "resp" and sum(1 for n, _v in h if n == acao) == 2 for k, _f, _s, _m, _p, h in fr):
            p.append("no HTTP/2 response with two access-control-allow-origin fields")
    if name == "https-shared-cache-hit-a":
        prime = [x for x in h2_frames.get("https-shared-cache-prime-b", []) if x[0] == "resp"]
        hit = [x for x in fr if x[0] == "resp"]
        page_b = next((x["page"] for x in res["results"] if x["name"] == "https-shared-cache-prime-b"), None)
        if not prime or not hit:
            p.append("prime or hit response missing from the HTTP/2 traffic")
        else:
            if dict(prime[0][5]).get("x-cache-status") != "MISS":
                p.append("page B's request was not a cache MISS")
            if dict(hit[0][5]).get("x-cache-status") != "HIT":
                p.append("page A's request was not a cache HIT")
            if dict(hit[0][5]).get(acao) != page_b:
                p.append(f"the HIT does not carry page B's ACAO {page_b}")
            print(f"       shared cache: B's MISS on tcp.stream {prime[0][2]}, A's HIT on tcp.stream {hit[0][2]}"
                  f" ({'one connection' if prime[0][2] == hit[0][2] else 'two connections'})")
    if name == "https-h2-interleaved-preflight":
        bg_resp = [x for x in fr if x[0] == "resp" and "&bg=" in x[4]]
        own = [x for x in fr if x[0] == "resp" and "&bg=" not in x[4]]
        bg_req = [x for x in fr if x[0] == "req" and "&bg=" in x[4]]
        if len(bg_resp) != 3 or len(own) != 2:
            p.append(f"expected 3 background + 2 own (OPTIONS, PUT) HTTP/2 responses, got {len(bg_resp)} + {len(own)}")
        else:
            conns = {x[2] for x in bg_resp + own}
            first_bg = min(x[1] for x in bg_resp)
            last_own = max(x[1] for x in own)
            if len(conns) != 1:
                p.append(f"not one connection: tcp.streams {sorted(conns)}")
            if not (max(x[1] for x in bg_req) < min(x[1] for x in own) and last_own < first_bg):
                p.append("OPTIONS + PUT were not answered while the background requests were pending")
            print(f"       interleaving: tcp.stream {sorted(conns)}; background requests in frames "
                  f"{[x[1] for x in bg_req]}, OPTIONS/PUT answered in frames {[x[1] for x in own]}, "
                  f"background answered in frames {[x[1] for x in bg_resp]}")
    if name == "https-h2-coalesced-authority":
        mine = [x for x in fr if x[0] == "req"]
        for _k, f, st, _m, _p, _h in mine:
            others = {a for (s2, _sid), (_m2, _p2, a, _f2) in h2_req.items() if s2 == st}
            print(f"       coalescing: request in frame {f} on tcp.stream {st}, authorities on that connection: "
                  f"{sorted(others)}")
    return p


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
    if name in ("preflight-cache-600", "https-preflight-cache-max-age") and (meths["OPTIONS"], meths["PUT"]) != (1, 2):
        problems.append(f"expected 1 OPTIONS + 2 PUT, wire has {dict(meths)}")
    if name in ("preflight-cache-0", "preflight-cache-600-nostore") and (meths["OPTIONS"], meths["PUT"]) != (2, 2):
        problems.append(f"expected 2 OPTIONS + 2 PUT, wire has {dict(meths)}")
    if name == "shared-cache-origin-b" and not any(has_line(ln, "X-Cache-Status: HIT") for _c, _u, ln in resp[name]):
        problems.append("no X-Cache-Status: HIT response on the wire")
    if name == "websocket-cross-origin" and not any(c == "101" for c, _u, _l in resp[name]):
        problems.append("no 101 on the wire")
    if name == "websocket-origin-rejected" and not any(c == "403" for c, _u, _l in resp[name]):
        problems.append("no 403 on the wire")
    if r["api"] in ("img", "nocors") and any(has_header(ln, "Origin") for _m, _u, _h, ln in wire.get(name, [])):
        problems.append(f"{r['api']} request carries an Origin header")
    if name == "shared-cache-primed-no-origin-prime" and not any(has_line(ln, "X-Cache-Status: MISS")
                                                                 for _c, _u, ln in resp[name]):
        problems.append("no X-Cache-Status: MISS response on the wire (the cache was not empty)")
    if name == "shared-cache-primed-no-origin":
        if not any(has_line(ln, "X-Cache-Status: HIT") for _c, _u, ln in resp[name]):
            problems.append("no X-Cache-Status: HIT response on the wire")
        if any(has_header(ln, "Access-Control-Allow-Origin") for _c, _u, ln in resp[name]):
            problems.append("the cached response carries ACAO")
    if name == "browser-cache-reuse":
        if not r["devtools"] or not all(d.get("fromCache") for d in r["devtools"]):
            problems.append("DevTools does not show the fetch as answered from the cache")
        if len(wire.get(tag, [])) != 1 or wire.get(name):
            problems.append(f"expected exactly one request (the <img>) for ?scenario={tag} and none for {name}, "
                            f"wire has {len(wire.get(tag, []))} + {len(wire.get(name, []))}")
    if TLS:
        problems += tls_checks(r, name)
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
if TLS:
    # TLS per connection: server port, SNI, ALPN offered / chosen, version, suite
    conns = {}
    for st, sport, dport, hs, sni, alpn, ver, sv, suite in tshark(
            "tls.handshake.type==1 or tls.handshake.type==2", "tcp.stream", "tcp.srcport", "tcp.dstport",
            "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
            "tls.handshake.version", "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite"):
        c = conns.setdefault(int(st), {"port": min(int(sport), int(dport))})
        if "1" in hs.split("|"):
            c.update(sni=sni or "-", offer=alpn)
        if "2" in hs.split("|"):
            hsl, alp, svl = hs.split("|"), alpn.split("|"), sv.split("|")
            i = hsl.index("2")
            c.update(alpn=alpn if "1" not in hsl else (alp[-1] if len(alp) > 1 else "-"),
                     version=("TLS 1.3" if "0x0304" in sv else "TLS 1.2" if ver.split("|")[-1] == "0x0303" else ver),
                     suite=suite.split("|")[-1] if suite else "?")
    names = {}
    for line in subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True, timeout=60).stdout.splitlines():
        f = line.split("\t")
        if len(f) >= 4 and f[0] == "V" and f[1] == "tls.handshake.ciphersuite":
            names[f"0x{int(f[2]):04x}"] = f[3]
    with_http = {int(st) for (st,) in tshark("http.request or http2.type==1", "tcp.stream")}
    with_appdata = {int(st) for (st,) in tshark("tls.record.content_type==23", "tcp.stream")}
    undecrypted = sorted(st for st in conns if st in with_appdata and st not in with_http
                         and conns[st].get("version"))
    per_port = collections.defaultdict(collections.Counter)
    for st, c in conns.items():
        key = (c.get("version", "no ServerHello"), names.get(c.get("suite", ""), c.get("suite", "?")),
               f"{c.get('alpn') or '-'} (offered {c.get('offer') or '-'})", c.get("sni", "-"))
        per_port[c["port"]][key] += 1
    print("TLS per server port (connections: version, suite, ALPN chosen (offered), SNI):")
    for port in sorted(per_port):
        for (v, s, a, sn), n in sorted(per_port[port].items()):
            print(f"  {port}: {n:2d} x {v} {s} alpn={a} sni={sn}")
    idle = sorted(st for st in conns if st not in with_http)
    print(f"{len(conns)} TLS connections, {len(idle)} without any HTTP request (idle / preconnect), "
          f"{len(h2_blocks)} HTTP/2 header blocks decrypted")
    if not h2_blocks:
        print("FAIL no HTTP/2 HEADERS decrypted")
        fail += 1
    # connections that sent application data and show no HTTP at all: no key?
    suspicious = [st for st in undecrypted if st in with_appdata]
    if suspicious:
        print(f"note: TLS connections with application data but no decrypted HTTP: tcp.stream {suspicious}")
sys.exit(1 if fail else 0)

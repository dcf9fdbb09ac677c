#!/usr/bin/env python3
"""Drive headless Chromium (Debian chromium + chromedriver) through CORS scenarios.

Loads page origin A http://127.0.0.1:24482/ (nginx), runs every scenario from
scenarios.py with fetch(), XMLHttpRequest, WebSocket, an <img> (api "img") or a
no-cors fetch (api "nocors"), one after another (scenarios with page="B" run
from page origin B http://127.0.0.1:24484/, loaded in the same browser), and
writes:

  --out  results JSON, per scenario:
    - what JavaScript saw (ok + status, or the network error; per repetition
      in `runs` when repeat > 1; img: ok + natural size on load; nocors: ok +
      status 0, type "opaque"),
    - Chromium's own verdict from the DevTools performance log for every
      request whose URL carries ?scenario=<name> (or <tag>): Network.loadingFailed
      (errorText, corsErrorStatus, blockedReason) / Network.responseReceived
      (status), with requestId, the CDP resource type, whether CDP marked it
      as a preflight, and `fromCache` when a browser cache answered it (see
      cache_served); WebSocket handshakes as webSocketHandshakeResponseReceived,
      a failed handshake as webSocketFrameError (CDP reports no response for
      it), then webSocketClosed,
    - `console`: Chromium's console messages (browser log) naming that URL.
    Scenarios sharing a URL (`tag`) split its events by time (owner_of).
  --har  HAR 1.2 of the same run, built from the CDP Network events
         (requestWillBeSent(+ExtraInfo), responseReceived(+ExtraInfo),
         loadingFinished/loadingFailed, webSocket*), Chrome's conventions
         (_resourceType, _initiator, _error, _priority, _fromCache, cookies,
         timings).

Selenium is pointed at /usr/bin/chromedriver and /usr/bin/chromium explicitly,
so Selenium Manager never downloads anything.  All waits are bounded.
`localhost` is mapped to 127.0.0.1 (--host-resolver-rules) so it never tries ::1.

Exit status: 0 when every scenario's outcome equals its `expect`, 3 when some
differ (the files are still written), other values on errors.

Usage: run_browser.py [--out results.json] [--har out.har] [--only name,name]
                      [--page URL] [--page-b URL] [--cdp-dump raw.json]
                      [--url-map FROM=TO,...] [--extra https]
                      [--host-resolver-rules RULES] [--chromium-arg SWITCH ...]

HTTPS (record.sh https): --url-map rewrites the scenario URLs of scenarios.py
(origin prefixes, e.g. http://127.0.0.1:24480=https://127.0.0.1:24700 and
ws://...=wss://...), so the same list runs over TLS; --extra https appends
scenarios.HTTPS_SCENARIOS (the incidents that live behind TLS); --chromium-arg
passes --ssl-key-log-file and --ignore-certificate-errors-spki-list.
A scenario may carry `background`: {url, count, delay, credentials}: that many
fetches of url (same ?scenario=, plus &bg=i) are started and left in flight
before the scenario's own request; their statuses are in `background`.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import time
from urllib.parse import urlsplit, parse_qsl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenarios import SCENARIOS, HTTPS_SCENARIOS  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

RUNNER_JS = r"""
const sc = arguments[0], done = arguments[arguments.length - 1];
const url = sc.url + (sc.url.includes('?') ? '&' : '?') + 'scenario=' + encodeURIComponent(sc.tag || sc.name);
const method = sc.method || 'GET';
const headers = sc.headers || {};
const body = sc.body === undefined ? null : sc.body;
const cred = sc.credentials || 'same-origin';
function once() {
  return new Promise(resolve => {
    if (sc.api === 'websocket') {
      let got = [], finished = false;
      const fin = r => { if (!finished) { finished = true; resolve(r); } };
      let errored = false;
      const ws = new WebSocket(url);
      const t = setTimeout(() => { try { ws.close(); } catch (e) {} fin({js: 'error', error: 'timeout', messages: got}); }, 5000);
      ws.onopen = () => ws.send('hello from the corscope page');
      ws.onmessage = ev => { got.push(String(ev.data)); if (got.length >= 2) ws.close(1000, 'done'); };
      // error is followed by close: wait for it (bounded) to report the close code
      ws.onerror = () => { errored = true; clearTimeout(t);
        setTimeout(() => fin({js: 'error', error: 'WebSocket error', messages: got}), 1000); };
      ws.onclose = ev => { clearTimeout(t);
        if (errored) fin({js: 'error', error: 'WebSocket error', closeCode: ev.code, wasClean: ev.wasClean, messages: got});
        else fin({js: got.length ? 'ok' : 'error', status: 101, closeCode: ev.code, messages: got}); };
    } else if (sc.api === 'img') {
      // <img> without crossorigin: no-cors, credentials include, no Origin header
      const img = new Image();
      const t = setTimeout(() => resolve({js: 'error', error: 'timeout'}), 5000);
      img.onload = () => { clearTimeout(t); resolve({js: 'ok', width: img.naturalWidth, height: img.naturalHeight}); };
      img.onerror = () => { clearTimeout(t); resolve({js: 'error', error: 'image load error'}); };
      img.src = url;
    } else if (sc.api === 'nocors') {
      // opaque response: the page sees type 'opaque', status 0, no body, and never a CORS error
      fetch(url, {method, body, credentials: cred, mode: 'no-cors', cache: sc.cache || 'no-store'})
        .then(r => resolve({js: 'ok', status: r.status, type: r.type}))
        .catch(e => resolve({js: 'error', error: String(e)}));
    } else if (sc.api === 'xhr') {
      const x = new XMLHttpRequest();
      x.open(method, url, true);
      x.withCredentials = (cred === 'include');
      for (const k in headers) x.setRequestHeader(k, headers[k]);
      x.onload = () => resolve({js: 'ok', status: x.status, body: String(x.responseText).slice(0, 200)});
      x.onerror = () => resolve({js: 'error', error: 'XMLHttpRequest network error'});
      x.send(body);
    } else {
      fetch(url, {method, headers, body, credentials: cred, mode: 'cors', cache: sc.cache || 'no-store'})
        .then(r => r.text().then(t => resolve({js: 'ok', status: r.status, body: t.slice(0, 200)})))
        .catch(e => resolve({js: 'error', error: String(e)}));
    }
  });
}
(async () => {
  // background: requests started (not awaited) before the scenario's own, so that
  // they are still in flight on the same connection while it runs (HTTP/2 streams)
  const bg = [];
  if (sc.background) {
    for (let i = 0; i < (sc.background.count || 1); i++) {
      const bu = sc.background.url + (sc.background.url.includes('?') ? '&' : '?') +
                 'scenario=' + encodeURIComponent(sc.tag || sc.name) + '&bg=' + i;
      bg.push(fetch(bu, {mode: 'cors', cache: 'no-store', credentials: sc.background.credentials || 'same-origin'})
        .then(r => r.text().then(() => r.status)).catch(e => String(e)));
    }
    if (sc.background.delay) await new Promise(res => setTimeout(res, sc.background.delay));
  }
  const runs = [];
  for (let i = 0; i < (sc.repeat || 1); i++) runs.push(await once());
  const r = Object.assign({}, runs[runs.length - 1]);
  if (runs.length > 1) r.runs = runs;
  if (bg.length) r.background = await Promise.all(bg);
  done(r);
})();
"""


def make_driver(profile_dir, resolver_rules="MAP localhost 127.0.0.1", extra_args=()):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={profile_dir}", "--no-first-run", "--no-default-browser-check",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-extensions", "--disable-features=Translate,OptimizationHints,MediaRouter",
              "--metrics-recording-only", "--password-store=basic", "--use-mock-keychain",
              f"--host-resolver-rules={resolver_rules}", *extra_args]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    opts.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    service = Service(executable_path=CHROMEDRIVER)
    drv = webdriver.Chrome(service=service, options=opts)
    drv.set_page_load_timeout(15)
    drv.set_script_timeout(10)
    return drv


def scenario_of(url):
    m = re.search(r"[?&]scenario=([^&#]+)", url or "")
    return m.group(1) if m else None


def cdp_events(perf_entries):
    """Network.* messages; each keeps chromedriver's log time (ms since the epoch) as `_logTime`."""
    out = []
    for e in perf_entries:
        msg = json.loads(e["message"])["message"]
        if msg.get("method", "").startswith("Network."):
            msg["_logTime"] = e.get("timestamp")
            out.append(msg)
    return out


def is_preflight(rws):
    return rws.get("type") == "Preflight" or (rws.get("initiator") or {}).get("type") == "preflight"


# CORS errors that are decided on a response (not before sending, not by a preflight)
RESPONSE_CHECK_ERRORS = {"MissingAllowOriginHeader", "WildcardOriginNotAllowed", "MultipleAllowOriginValues",
                         "InvalidAllowOriginValue", "AllowOriginMismatch", "InvalidAllowCredentials"}


def cache_served(events):
    """requestIds answered from a browser cache.  CDP says so for Blink's memory cache
    (requestServedFromCache) and for HTTP-cache hits that reach the page
    (responseReceived.response.fromDiskCache), but not for an HTTP-cache hit that
    fails the CORS check: that request gets no requestWillBeSentExtraInfo /
    responseReceivedExtraInfo (the network stack never sent it), yet fails with an
    error that needs a response (RESPONSE_CHECK_ERRORS).  Returns {rid: "memory"|"disk"}."""
    extra, preflight, out = set(), set(), {}
    for msg in events:
        m, p = msg.get("method"), msg.get("params", {})
        rid = p.get("requestId")
        if m in ("Network.requestWillBeSentExtraInfo", "Network.responseReceivedExtraInfo"):
            extra.add(rid)
        elif m == "Network.requestWillBeSent" and is_preflight(p):
            preflight.add(rid)
        elif m == "Network.requestServedFromCache":
            out.setdefault(rid, "memory")
        elif m == "Network.responseReceived" and p["response"].get("fromDiskCache"):
            out.setdefault(rid, "disk")
    for msg in events:
        m, p = msg.get("method"), msg.get("params", {})
        rid = p.get("requestId")
        if (m == "Network.loadingFailed" and rid not in extra and rid not in preflight
                and (p.get("corsErrorStatus") or {}).get("corsError") in RESPONSE_CHECK_ERRORS):
            out.setdefault(rid, "disk")
    return out


def cors_verdicts(events):
    """Map URL scenario tag -> list of request outcomes from the DevTools log, and
    requestId -> log time (ms) of the request's first event (see owner_of)."""
    urls, out, first_seen = {}, {}, {}
    from_cache = cache_served(events)

    def add(rid, rec):
        url = rec["url"]
        name = scenario_of(url)
        if name:
            if rid in from_cache and rec["event"] in ("responseReceived", "loadingFailed"):
                rec["fromCache"] = from_cache[rid]
            out.setdefault(name, []).append(rec)

    for msg in events:
        m, p = msg.get("method"), msg.get("params", {})
        rid = p.get("requestId")
        if rid is not None and rid not in first_seen:
            first_seen[rid] = msg.get("_logTime") or 0
        if m == "Network.requestWillBeSent":
            if p.get("redirectResponse"):  # the previous hop ended with a redirect
                old = urls.get(rid)
                if old:
                    add(rid, dict(event="redirect", requestId=rid, url=old[0], method=old[1], preflight=old[2],
                                  type=old[3], status=p["redirectResponse"].get("status"),
                                  location=p["request"]["url"]))
            urls[rid] = (p["request"]["url"], p["request"]["method"], is_preflight(p),
                         "Preflight" if is_preflight(p) else p.get("type"))
        elif m in ("Network.loadingFailed", "Network.responseReceived"):
            url, meth, pf, typ = urls.get(rid, ("?", "?", False, None))
            rec = {"requestId": rid, "url": url, "method": meth, "preflight": pf, "type": p.get("type") or typ}
            if m == "Network.loadingFailed":
                rec.update(event="loadingFailed", errorText=p.get("errorText"),
                           corsErrorStatus=p.get("corsErrorStatus"), blockedReason=p.get("blockedReason"))
            else:
                rec.update(event="responseReceived", status=p["response"].get("status"))
            add(rid, rec)
        elif m == "Network.webSocketCreated":
            urls[rid] = (p.get("url"), "GET", False, "WebSocket")
        elif m == "Network.webSocketHandshakeResponseReceived":
            url, meth, _pf, typ = urls.get(rid, ("?", "?", False, None))
            add(rid, {"requestId": rid, "url": url, "method": meth, "preflight": False, "type": typ,
                      "event": "webSocketHandshakeResponseReceived", "status": p["response"].get("status")})
        elif m == "Network.webSocketFrameError":
            url, meth, _pf, typ = urls.get(rid, ("?", "?", False, None))
            add(rid, {"requestId": rid, "url": url, "method": meth, "preflight": False, "type": typ,
                      "event": "webSocketFrameError", "errorMessage": p.get("errorMessage")})
        elif m == "Network.webSocketClosed":
            url, meth, _pf, typ = urls.get(rid, ("?", "?", False, None))
            add(rid, {"requestId": rid, "url": url, "method": meth, "preflight": False, "type": typ,
                      "event": "webSocketClosed"})
    return out, first_seen


def owner_of(tag, t, run):
    """Name of the scenario that owns an event for URL tag `tag` logged at time t (ms).
    run: [(name, tag, start ms)] in run order.  A tag used by one scenario belongs to it;
    a shared tag (scenario `tag` field) belongs to the last of its scenarios started at
    or before t."""
    group = [(n, start) for n, tg, start in run if tg == tag]
    if not group:
        return None
    owner = group[0][0]
    for n, start in group:
        if t is not None and start <= t:
            owner = n
    return owner


def console_by_scenario(browser_log):
    """URL scenario tag -> console messages naming it (with chromedriver's timestamp)."""
    out = {}
    for e in browser_log:
        text = e.get("message", "")
        for name in set(re.findall(r"[?&]scenario=([A-Za-z0-9_.-]+)", text)):
            out.setdefault(name, []).append({"level": e.get("level"), "source": e.get("source"), "message": text,
                                             "timestamp": e.get("timestamp")})
    return out


# ------------------------------------------------------------------ HAR
def _hdr_list(h):
    out = []
    for k, v in (h or {}).items():
        for part in str(v).split("\n"):
            out.append({"name": k, "value": part})
    return out


def _hdr_get(h, name):
    for k, v in (h or {}).items():
        if k.lower() == name:
            return v
    return None


def _iso(wall):
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _set_cookies(headers):
    out = []
    v = _hdr_get(headers, "set-cookie")
    for line in (v.split("\n") if v else []):
        nv = line.split(";", 1)[0]
        k, _, val = nv.partition("=")
        c = {"name": k.strip(), "value": val.strip()}
        for attr in line.split(";")[1:]:
            a, _, b = attr.strip().partition("=")
            a = a.lower()
            if a == "path":
                c["path"] = b
            elif a == "domain":
                c["domain"] = b
            elif a == "httponly":
                c["httpOnly"] = True
            elif a == "secure":
                c["secure"] = True
            elif a == "samesite":
                c["sameSite"] = b
        out.append(c)
    return out


def _timings(resp_timing, started_ts, end_ts):
    """HAR timings from CDP ResourceTiming (ms relative to requestTime)."""
    if not resp_timing:
        total = max(0.0, ((end_ts or started_ts) - started_ts) * 1000.0)
        return {"blocked": round(total, 3), "dns": -1, "ssl": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0}, total
    t = resp_timing
    queue = max(0.0, (t["requestTime"] - started_ts) * 1000.0)

    def span(a, b):
        return round(t[b] - t[a], 3) if t.get(a, -1) >= 0 and t.get(b, -1) >= 0 else -1
    first = next((t[k] for k in ("dnsStart", "connectStart", "sendStart") if t.get(k, -1) >= 0), 0.0)
    send = span("sendStart", "sendEnd")
    wait = round(t["receiveHeadersEnd"] - t["sendEnd"], 3) if t.get("receiveHeadersEnd", -1) >= 0 else 0
    end_rel = ((end_ts - t["requestTime"]) * 1000.0) if end_ts else t.get("receiveHeadersEnd", 0)
    receive = round(max(0.0, end_rel - max(0.0, t.get("receiveHeadersEnd", 0))), 3)
    dns, connect, ssl = span("dnsStart", "dnsEnd"), span("connectStart", "connectEnd"), span("sslStart", "sslEnd")
    tm = {"blocked": round(queue + first, 3), "dns": dns, "ssl": ssl, "connect": connect,
          "send": max(send, 0), "wait": max(wait, 0), "receive": receive}
    total = sum(v for k, v in tm.items() if k != "ssl" and v > 0)
    return tm, total


def _http_version(protocol):
    """HAR httpVersion from CDP's response.protocol: "HTTP/1.1" as before; "h2" for
    HTTP/2 as current Chrome writes it (older Chrome wrote "http/2.0")."""
    p = (protocol or "http/1.1").lower()
    return "h2" if p == "h2" else p.upper()


def _origin(url):
    u = urlsplit(url or "")
    return f"{u.scheme}://{u.netloc}"


def _initiator(ini):
    """Chrome's _initiator, with the JS stack cut to its top frame (keeps the HAR small)."""
    ini = dict(ini or {"type": "other"})
    st = ini.get("stack")
    if st:
        ini["stack"] = {"callFrames": st.get("callFrames", [])[:1]}
    return ini


def build_har(events, version, pages):
    """pages: list of (id, url, title, wallTime)."""
    reqs = {}     # requestId -> list of hops
    order = []
    xreq, xresp = {}, {}  # requestId -> list of ExtraInfo params (in order)
    ws = {}
    from_cache = cache_served(events)
    for msg in events:
        m, p = msg["method"], msg.get("params", {})
        rid = p.get("requestId")
        if m == "Network.requestWillBeSent":
            hops = reqs.setdefault(rid, [])
            if rid not in order:
                order.append(rid)
            if p.get("redirectResponse") and hops:
                hops[-1]["response"] = p["redirectResponse"]
                hops[-1]["end_ts"] = p["timestamp"]
                hops[-1]["redirect"] = p["request"]["url"]
            hops.append({"rws": p, "response": None, "end_ts": None, "failed": None, "encoded": None})
        elif m == "Network.requestWillBeSentExtraInfo":
            xreq.setdefault(rid, []).append(p)
        elif m == "Network.responseReceivedExtraInfo":
            xresp.setdefault(rid, []).append(p)
        elif m == "Network.responseReceived" and reqs.get(rid):
            reqs[rid][-1]["response"] = p["response"]
            reqs[rid][-1]["type"] = p.get("type")
        elif m == "Network.dataReceived" and reqs.get(rid):
            reqs[rid][-1]["size"] = reqs[rid][-1].get("size", 0) + p.get("dataLength", 0)
        elif m == "Network.loadingFinished" and reqs.get(rid):
            reqs[rid][-1]["end_ts"] = p["timestamp"]
            reqs[rid][-1]["encoded"] = p.get("encodedDataLength")
        elif m == "Network.loadingFailed" and reqs.get(rid):
            reqs[rid][-1]["end_ts"] = p["timestamp"]
            reqs[rid][-1]["failed"] = p
        elif m == "Network.webSocketCreated":
            ws[rid] = {"url": p["url"], "initiator": p.get("initiator"), "frames": []}
            order.append(("ws", rid))
        elif m == "Network.webSocketWillSendHandshakeRequest" and rid in ws:
            ws[rid].update(req=p["request"], wall=p.get("wallTime"), ts=p["timestamp"])
        elif m == "Network.webSocketHandshakeResponseReceived" and rid in ws:
            ws[rid].update(resp=p["response"], resp_ts=p["timestamp"])
        elif m in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived") and rid in ws:
            ws[rid]["frames"].append({"type": "send" if m.endswith("Sent") else "receive", "time": p["timestamp"],
                                      "opcode": p["response"].get("opcode"), "data": p["response"].get("payloadData")})
        elif m == "Network.webSocketFrameError" and rid in ws:
            ws[rid].setdefault("error", p.get("errorMessage"))
        elif m == "Network.webSocketClosed" and rid in ws:
            ws[rid]["closed_ts"] = p["timestamp"]

    def pageref(wall):
        ref = pages[0][0]
        for pid, _u, _t, w in pages:
            if wall >= w:
                ref = pid
        return ref

    # protocol per origin (for requests that got no response the page could see:
    # the same server port always negotiates the same ALPN in these recordings)
    proto_by_origin = {}
    for msg in events:
        if msg["method"] == "Network.responseReceived":
            r = msg["params"]["response"]
            if r.get("protocol"):
                proto_by_origin.setdefault(_origin(r.get("url", "")), r["protocol"])
    entries = []
    for key in order:
        if isinstance(key, tuple):
            w = ws[key[1]]
            if "req" not in w:
                continue
            resp = w.get("resp") or {}
            tm = {"blocked": -1, "dns": -1, "ssl": -1, "connect": -1, "send": 0,
                  "wait": round(((w.get("resp_ts") or w["ts"]) - w["ts"]) * 1000, 3), "receive": 0}
            entries.append({
                "pageref": pageref(w["wall"]), "startedDateTime": _iso(w["wall"]), "time": tm["wait"],
                "request": {"method": "GET", "url": w["url"], "httpVersion": "HTTP/1.1",
                            "headers": _hdr_list(w["req"].get("headers")), "queryString": [], "cookies": [],
                            "headersSize": -1, "bodySize": 0},
                "response": {"status": resp.get("status", 0), "statusText": resp.get("statusText", ""),
                             "httpVersion": "HTTP/1.1", "headers": _hdr_list(resp.get("headers")), "cookies": [],
                             "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "",
                             "headersSize": -1, "bodySize": -1, "_transferSize": 0, "_error": w.get("error")},
                "cache": {}, "timings": tm, "_initiator": _initiator(w.get("initiator")),
                "_priority": None, "_resourceType": "websocket",
                "_webSocketMessages": [{"type": f["type"], "time": f["time"], "opcode": f["opcode"], "data": f["data"]}
                                       for f in w["frames"]],
            })
            continue
        rid = key
        for i, hop in enumerate(reqs[rid]):
            rws = hop["rws"]
            rq = rws["request"]
            if not rq["url"].startswith("http"):
                continue
            xi = xreq.get(rid, [])
            xo = xresp.get(rid, [])
            xi = xi[i] if i < len(xi) else None
            xo = xo[i] if i < len(xo) else None
            resp = hop["response"]
            failed = hop["failed"]
            rtype = "preflight" if is_preflight(rws) else (rws.get("type") or hop.get("type") or "Other").lower()
            req_headers = xi["headers"] if xi else rq.get("headers", {})
            cookies = []
            for ac in (xi or {}).get("associatedCookies", []):
                if ac.get("blockedReasons"):
                    continue
                c = ac["cookie"]
                cookies.append({k: c[k] for k in ("name", "value", "path", "domain", "httpOnly", "secure", "sameSite")
                                if k in c})
            split = urlsplit(rq["url"])
            request = {"method": rq["method"], "url": rq["url"],
                       "httpVersion": _http_version((resp or {}).get("protocol") if resp and not failed
                                                    else proto_by_origin.get(_origin(rq["url"]))),
                       "headers": _hdr_list(req_headers),
                       "queryString": [{"name": k, "value": v} for k, v in parse_qsl(split.query, keep_blank_values=True)],
                       "cookies": cookies, "headersSize": -1,
                       "bodySize": len(rq.get("postData", "").encode()) if rq.get("postData") else 0}
            if rq.get("postData"):
                request["postData"] = {"mimeType": _hdr_get(rq.get("headers"), "content-type") or "",
                                       "text": rq["postData"]}
            tm, total = _timings((resp or {}).get("timing"), rws["timestamp"], hop["end_ts"])
            if resp and not failed:
                rh = xo["headers"] if xo else resp.get("headers", {})
                proto = _http_version(resp.get("protocol"))
                response = {"status": resp["status"], "statusText": resp.get("statusText", ""),
                            "httpVersion": proto, "headers": _hdr_list(rh), "cookies": _set_cookies(rh),
                            "content": {"size": hop.get("size", 0),
                                        "mimeType": resp.get("mimeType") or "x-unknown"},
                            "redirectURL": hop.get("redirect") or "",
                            "headersSize": len(xo["headersText"]) if xo and xo.get("headersText") else -1,
                            "bodySize": -1, "_transferSize": hop["encoded"] if hop["encoded"] is not None else -1,
                            "_error": None}
                server_ip, conn = resp.get("remoteIPAddress"), resp.get("connectionId")
                port = resp.get("remotePort")
            else:
                # Blocked (CORS) or failed: nothing was handed to the page.  Like
                # Chrome: status 0, _error = loadingFailed.errorText.  The raw wire
                # response (if one arrived) is kept from responseReceivedExtraInfo.
                rh = xo["headers"] if xo else {}
                response = {"status": 0, "statusText": "", "httpVersion": "", "headers": _hdr_list(rh),
                            "cookies": _set_cookies(rh), "content": {"size": 0, "mimeType": "x-unknown"},
                            "redirectURL": "", "headersSize": -1, "bodySize": -1, "_transferSize": 0,
                            "_error": (failed or {}).get("errorText", "net::ERR_FAILED")}
                if xo and xo.get("statusCode"):
                    response["_wireStatus"] = xo["statusCode"]
                if failed and failed.get("corsErrorStatus"):
                    response["_corsErrorStatus"] = failed["corsErrorStatus"]
                server_ip, conn, port = None, None, None
            entry = {"pageref": pageref(rws.get("wallTime", 0)), "startedDateTime": _iso(rws["wallTime"]),
                     "time": round(total, 3), "request": request, "response": response, "cache": {},
                     "timings": tm, "_initiator": _initiator(rws.get("initiator")),
                     "_priority": rq.get("initialPriority"), "_resourceType": rtype,
                     "_requestId": rid}
            if server_ip:
                entry["serverIPAddress"] = server_ip.strip("[]")
            if port:
                entry["connection"] = str(port)
            if conn is not None:
                entry["_connectionId"] = str(conn)
            if rid in from_cache and i == len(reqs[rid]) - 1:
                entry["_fromCache"] = from_cache[rid]  # Chrome's HAR convention: "disk" / "memory"
            entries.append(entry)
    entries.sort(key=lambda e: e["startedDateTime"])
    har_pages = [{"id": pid, "title": url, "startedDateTime": _iso(w), "pageTimings": {}}
                 for pid, url, _t, w in pages]
    return {"log": {"version": "1.2", "creator": {"name": "corscope run_browser.py (from CDP Network events)",
                                                   "version": "1"},
                    "browser": {"name": "Chromium", "version": version},
                    "pages": har_pages, "entries": entries}}


def outcome(r):
    return "ok" if r.get("js") == "ok" else "blocked"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="-")
    ap.add_argument("--har", default="")
    ap.add_argument("--page", default="http://127.0.0.1:24482/index.html")
    ap.add_argument("--page-b", default="http://127.0.0.1:24484/index.html")
    ap.add_argument("--only", default="")
    ap.add_argument("--cdp-dump", default="")
    ap.add_argument("--url-map", default="",
                    help="comma-separated FROM=TO URL prefix rewrites applied to every scenario URL "
                         "(e.g. http://127.0.0.1:24480=https://127.0.0.1:24700): the same scenario list "
                         "over other origins")
    ap.add_argument("--extra", default="", help="'https': also run scenarios.HTTPS_SCENARIOS after SCENARIOS")
    ap.add_argument("--host-resolver-rules", default="MAP localhost 127.0.0.1")
    ap.add_argument("--chromium-arg", action="append", default=[],
                    help="extra Chromium switch (repeatable), e.g. --ssl-key-log-file=PATH")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    pool = list(SCENARIOS)
    if a.extra == "https":
        pool += HTTPS_SCENARIOS
    elif a.extra:
        ap.error(f"unknown --extra {a.extra!r}")
    url_map = [tuple(kv.split("=", 1)) for kv in filter(None, a.url_map.split(","))]
    scenarios = []
    for s in pool:
        if only and s["name"] not in only:
            continue
        s = dict(s)
        for frm, to in url_map:
            for k in ("url",):
                if s[k].startswith(frm):
                    s[k] = to + s[k][len(frm):]
            if s.get("background") and s["background"]["url"].startswith(frm):
                s["background"] = dict(s["background"], url=to + s["background"]["url"][len(frm):])
        scenarios.append(s)
    page_url = {"A": a.page, "B": a.page_b}

    profile = tempfile.mkdtemp(prefix="corscope-chromium-")
    drv = None
    results = []
    pages = []
    try:
        drv = make_driver(profile, a.host_resolver_rules, a.chromium_arg)
        current = None
        run = []  # (name, URL tag, start ms) in run order
        for sc in scenarios:
            want = sc.get("page", "A")
            if want != current:
                pages.append((f"page_{len(pages) + 1}", page_url[want], want, time.time()))
                drv.get(page_url[want])
                time.sleep(0.3)
                current = want
            t0 = time.monotonic()
            run.append((sc["name"], sc.get("tag", sc["name"]), time.time() * 1000.0))
            try:
                r = drv.execute_async_script(RUNNER_JS, sc)
            except Exception as ex:  # script timeout etc.
                r = {"js": "exception", "error": type(ex).__name__ + ": " + str(ex).splitlines()[0]}
            r.update(name=sc["name"], api=sc["api"], expect=sc["expect"], why=sc.get("why", ""),
                     page=page_url[want].rsplit("/", 1)[0], credentials=sc.get("credentials", "same-origin"),
                     ms=round((time.monotonic() - t0) * 1000))
            if sc.get("repeat"):
                r["repeat"] = sc["repeat"]
            if sc["api"] in ("fetch", "nocors"):
                r["cache"] = sc.get("cache", "no-store")
            if sc["api"] == "img":
                r["credentials"] = "include"  # <img> without crossorigin: no-cors, credentials include
            if sc.get("tag"):
                r["tag"] = sc["tag"]
            if sc.get("background"):
                r["backgroundRequests"] = sc["background"]
            results.append(r)
            time.sleep(0.15)
        time.sleep(0.7)
        events = cdp_events(drv.get_log("performance"))
        browser_log = drv.get_log("browser")
        verdicts, first_seen = cors_verdicts(events)
        consoles = console_by_scenario(browser_log)
        for r in results:
            tag = r.get("tag", r["name"])
            r["devtools"] = [d for d in verdicts.get(tag, [])
                             if owner_of(tag, first_seen.get(d["requestId"]), run) == r["name"]]
            r["console"] = [c["message"] for c in consoles.get(tag, [])
                            if owner_of(tag, c.get("timestamp"), run) == r["name"]]
        version = drv.capabilities.get("browserVersion")
    finally:
        if drv is not None:
            drv.quit()
        shutil.rmtree(profile, ignore_errors=True)

    if a.cdp_dump:
        with open(a.cdp_dump, "w") as f:
            json.dump({"network": events, "browser": browser_log}, f, indent=1)
    report = {"browser": "chromium " + str(version), "page": a.page, "page_b": a.page_b, "results": results}
    if url_map:
        report["url_map"] = dict(url_map)
    text = json.dumps(report, indent=1, sort_keys=True) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    if a.har:
        har = build_har(events, version, pages)
        # Compact JSON, one entry per line (small, still diffable).
        entries = har["log"].pop("entries")
        head = json.dumps(har, sort_keys=True, separators=(",", ":"))
        assert head.endswith("}}")
        body = ",\n".join(json.dumps(e, sort_keys=True, separators=(",", ":")) for e in entries)
        with open(a.har, "w") as f:
            f.write(head[:-2] + ',"entries":[\n' + body + "\n]}}\n")
    bad = 0
    for r in results:
        got = outcome(r)
        cors = [(d.get("corsErrorStatus") or {}).get("corsError") for d in r["devtools"] if d["event"] == "loadingFailed"]
        flag = "" if got == r["expect"] else "  <-- MISMATCH"
        bad += bool(flag)
        print(f"{r['name']:34s} expect={r['expect']:7s} got={got:7s} {r.get('status', '')} {cors or ''}{flag}",
              file=sys.stderr)
    print(f"{len(results)} scenarios, {bad} differ from expect", file=sys.stderr)
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Drive headless Firefox (Debian firefox-esr, Marionette, no geckodriver) through the
CORS scenarios of scenarios.py and record Firefox's own verdicts.

Loads page origin A http://127.0.0.1:24482/index.html (nginx; page B for page="B"
scenarios), runs every scenario with fetch(), XMLHttpRequest or WebSocket, one after
another, exactly like run_browser.py does for Chromium, and writes --out (JSON):

  per scenario
    name, api, page, credentials, cache, repeat, tag (the ?scenario= value when not the name)
    started, finished   wall-clock seconds around the scenario (the pcap's clock: exchanges
              of scenarios sharing a tag are told apart by time)
    js        what the page's JavaScript saw (ok + status + body head, or the error;
              per repetition in `runs` when repeat > 1)
    blocked   true when JavaScript got a network error (fetch rejected / xhr onerror /
              WebSocket never opened)
    reason    Firefox's reason key, as the web console's MDN link names it
              (CORSMissingAllowOrigin, ...), from the first CORS console error of the
              scenario; null when Firefox logged no CORS reason
    category  the console message's category = the security.properties key Firefox
              logged (CORSMissingAllowOrigin2, ...)
    console   the CORS console messages naming the scenario's URLs:
              [{category, error|warning, message}] (message = Firefox's full text,
              "Cross-Origin Request Blocked: ... (Reason: ...)")
    channels  every HTTP channel of the scenario seen by an http-on-stop-request
              observer in the parent process: url, method, preflight, status,
              result (nsresult name) and loadInfo.requestBlockingReason (as the
              nsILoadInfo BLOCKING_REASON_* name) -- a second, independent record of
              which channel Firefox blocked and why
    chromium_expect  the scenario's `expect` (what Chromium does)

How the reasons are captured: Firefox's nsCORSListenerProxy logs every CORS failure as
an nsIScriptError whose category is the security.properties key (LogBlockedRequest).
The message is logged in the content process and forwarded to the parent's console
service; a chrome-context Marionette script (needs --remote-allow-system-access)
registers an nsIConsoleListener there before the first scenario and keeps every
CORS* message. The channel observer runs in the same chrome scope.

Firefox runs from a fresh temporary profile whose prefs keep it offline and quiet (no
updates, telemetry, captive-portal/connectivity checks, Safe Browsing, remote settings,
speculative connections; no proxy; IPv6 DNS off so `localhost` is 127.0.0.1 like the
Chromium run's host-resolver rule). Marionette listens on a free loopback port outside
24480-24499. Every wait is bounded; the Firefox process group is killed and reaped.

Scenario kinds (api) this runner cannot run are listed in the output's `skipped` (none
today: fetch, xhr, websocket, img and nocors all run; a scenario's `tag` is honoured
like run_browser.py does, and records are attributed per scenario by time: what was
drained right after it).

Exit status: 0 when the run completed (Firefox differing from Chromium is data, not an
error; the differences are printed), 2 on errors.

Usage: run_firefox.py [--out results.json] [--only name,name] [--page URL] [--page-b URL]
                      [--firefox /usr/bin/firefox-esr] [--console-dump raw.json]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenarios import SCENARIOS  # noqa: E402

FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
SUPPORTED_APIS = {"fetch", "xhr", "websocket", "img", "nocors"}

PREFS = {
    # Marionette on our port; no first-run pages.
    "marionette.port": None,  # filled in
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "about:blank",
    "startup.homepage_welcome_url.additional": "",
    "browser.aboutwelcome.enabled": False,
    "trailhead.firstrun.didSeeAboutWelcome": True,
    "datareporting.policy.firstRunURL": "",
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.topsites.contile.enabled": False,
    "browser.uitour.enabled": False,
    # No updates.
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "browser.search.update": False,
    "media.gmp-manager.url": "",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-widevinecdm.enabled": False,
    # Honoured only with MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 (set below): Remote Settings then
    # skips all remote activity (services-settings Utils.sys.mjs shouldSkipRemoteActivity).
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    # No telemetry / studies / pings.
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "app.shield.optoutstudies.enabled": False,
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "browser.ping-centre.telemetry": False,
    "browser.crashReports.unsubmittedCheck.enabled": False,
    "breakpad.reportURL": "",
    # No captive portal / connectivity checks / Safe Browsing.
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "captivedetect.canonicalURL": "",
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.passwords.enabled": False,
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "privacy.trackingprotection.enabled": False,
    # Network: direct, IPv4 names, no speculative or background traffic.
    "network.proxy.type": 0,
    "network.dns.disableIPv6": True,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.urlbar.speculativeConnect.enabled": False,
    "browser.places.speculativeConnect.enabled": False,
    "network.trr.mode": 5,
    "dom.security.https_first": False,
    "dom.security.https_only_mode": False,
    "browser.fixup.alternate.enabled": False,
    "signon.rememberSignons": False,
    "geo.provider.network.url": "",
    "identity.fxaccounts.enabled": False,
    "browser.translations.enable": False,
    "browser.ml.enable": False,
    # Keep console messages in the service (the listener gets them anyway).
    "devtools.errorconsole.enabled": True,
}

# Installs (once) the chrome-scope recorders on the browser window: an nsIConsoleListener
# keeping CORS* script errors, and an http-on-stop-request observer keeping every HTTP
# channel's outcome.  Chrome context, Marionette async script.
CHROME_INSTALL_JS = r"""
const [resolve] = arguments;
const w = window;
if (!w.__corscope) {
  const rec = {console: [], channels: [], reasons: {}};
  for (const k of Object.keys(Ci.nsILoadInfo)) {
    if (k.startsWith("BLOCKING_REASON_")) rec.reasons[Ci.nsILoadInfo[k]] = k.slice("BLOCKING_REASON_".length);
  }
  const errName = rv => {
    for (const k of Object.keys(Cr)) { if (Cr[k] === rv) return k; }
    return "0x" + (rv >>> 0).toString(16);
  };
  rec.listener = {
    QueryInterface: ChromeUtils.generateQI(["nsIConsoleListener"]),
    observe(msg) {
      try {
        if (!(msg instanceof Ci.nsIScriptError)) return;
        if (!String(msg.category || "").startsWith("CORS")) return;
        rec.console.push({t: Date.now(), category: msg.category, message: msg.errorMessage,
                          warning: !!(msg.flags & Ci.nsIScriptError.warningFlag),
                          innerWindowID: msg.innerWindowID});
      } catch (e) {}
    },
  };
  Services.console.registerListener(rec.listener);
  rec.observer = {
    QueryInterface: ChromeUtils.generateQI(["nsIObserver"]),
    observe(subject, topic) {
      try {
        const ch = subject.QueryInterface(Ci.nsIHttpChannel);
        const li = ch.loadInfo;
        let status = null, result = null;
        try { status = ch.responseStatus; } catch (e) {}
        try { result = errName(ch.status); } catch (e) {}
        const br = li ? li.requestBlockingReason : 0;
        rec.channels.push({t: Date.now(), id: ch.channelId, url: ch.URI.spec, method: ch.requestMethod,
                           preflight: !!(li && li.isPreflight), status, result,
                           blockingReason: br ? (rec.reasons[br] || String(br)) : null});
      } catch (e) {}
    },
  };
  Services.obs.addObserver(rec.observer, "http-on-stop-request");
  w.__corscope = rec;
}
resolve(Services.appinfo.version);
"""

CHROME_DRAIN_JS = r"""
const [resolve] = arguments;
const rec = window.__corscope;
const out = {console: rec.console.splice(0), channels: rec.channels.splice(0)};
resolve(JSON.stringify(out));
"""

CHROME_UNINSTALL_JS = r"""
const [resolve] = arguments;
const rec = window.__corscope;
if (rec) {
  try { Services.console.unregisterListener(rec.listener); } catch (e) {}
  try { Services.obs.removeObserver(rec.observer, "http-on-stop-request"); } catch (e) {}
  delete window.__corscope;
}
resolve(true);
"""

# The same per-scenario code as run_browser.py's RUNNER_JS, installed as a page script
# (so it runs with the page's own globals and principal) and called with a JSON string.
PAGE_RUNNER = r"""
window.__corscopeRun = function (json) {
const sc = JSON.parse(json);
const url = sc.url + (sc.url.includes('?') ? '&' : '?') + 'scenario=' + encodeURIComponent(sc.tag || sc.name);
const method = sc.method || 'GET';
const headers = sc.headers || {};
const body = sc.body === undefined ? null : sc.body;
const cred = sc.credentials || 'same-origin';
function once() {
  return new Promise(resolve => {
    if (sc.api === 'websocket') {
      let got = [], finished = false, errored = false;
      const fin = r => { if (!finished) { finished = true; resolve(r); } };
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
return (async () => {
  const runs = [];
  for (let i = 0; i < (sc.repeat || 1); i++) runs.push(await once());
  const r = Object.assign({}, runs[runs.length - 1]);
  if (runs.length > 1) r.runs = runs;
  return JSON.stringify(r);
})();
};
"""

CONTENT_INSTALL_JS = r"""
const [code, resolve] = arguments;
const s = document.createElement('script');
s.textContent = code;
document.documentElement.appendChild(s);
s.remove();
resolve(typeof window.wrappedJSObject === 'object'
        ? typeof window.wrappedJSObject.__corscopeRun : typeof window.__corscopeRun);
"""

CONTENT_RUN_JS = r"""
const [json, resolve] = arguments;
const w = (typeof window.wrappedJSObject === 'object') ? window.wrappedJSObject : window;
w.__corscopeRun(json).then(r => resolve(String(r)), e => resolve(JSON.stringify({js: 'exception', error: String(e)})));
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if 24480 <= port <= 24499:
        return free_port()
    return port


def write_profile(profile, port):
    prefs = dict(PREFS)
    prefs["marionette.port"] = port
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in prefs.items():
            f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")


def wait_port(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.3).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def stop_process_group(proc, grace=10):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def scenario_of(text):
    # Firefox ends the URL in its message with ". (Reason: ...": drop trailing dots.
    return {m.rstrip(".") for m in re.findall(r"[?&]scenario=([A-Za-z0-9_.-]+)", text or "")}


def reason_key(category):
    """MDN / web-console link name: errordocs.js CorsErrorDocs drops the version digit."""
    return re.sub(r"\d+$", "", category) if category else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="-")
    ap.add_argument("--page", default="http://127.0.0.1:24482/index.html")
    ap.add_argument("--page-b", default="http://127.0.0.1:24484/index.html")
    ap.add_argument("--only", default="")
    ap.add_argument("--firefox", default=FIREFOX)
    ap.add_argument("--console-dump", default="")
    a = ap.parse_args()

    from marionette_driver.marionette import Marionette  # noqa: E402  (pip: marionette-driver)

    only = set(filter(None, a.only.split(",")))
    chosen = [s for s in SCENARIOS if not only or s["name"] in only]
    scenarios = [s for s in chosen if s["api"] in SUPPORTED_APIS]
    skipped = [{"name": s["name"], "api": s["api"], "why": "api not supported by run_firefox.py"}
               for s in chosen if s["api"] not in SUPPORTED_APIS]
    page_url = {"A": a.page, "B": a.page_b}

    tmp = tempfile.mkdtemp(prefix="corscope-firefox-")
    profile = os.path.join(tmp, "profile")
    home = os.path.join(tmp, "home")
    os.makedirs(profile)
    os.makedirs(home)
    port = free_port()
    write_profile(profile, port)
    env = dict(os.environ, HOME=home, MOZ_HEADLESS="1", XDG_CACHE_HOME=os.path.join(home, ".cache"),
               XDG_CONFIG_HOME=os.path.join(home, ".config"), MOZ_CRASHREPORTER_DISABLE="1",
               MOZ_CRASHREPORTER_NO_REPORT="1", MOZ_DISABLE_AUTO_SAFE_MODE="1",
               # Release builds: refuse every non-loopback connection; also lets the
               # Remote Settings server pref take effect (see PREFS).
               MOZ_DISABLE_NONLOCAL_CONNECTIONS="1")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    cmd = [a.firefox, "--headless", "--marionette", "--remote-allow-system-access", "--no-remote",
           "--profile", profile, "about:blank"]
    log = open(os.path.join(tmp, "firefox.log"), "w")
    proc = None
    client = None
    results, batches = [], []
    version = None
    rc = 0
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(port, 60):
            raise RuntimeError(f"Marionette did not listen on 127.0.0.1:{port} within 60 s")
        client = Marionette(host="127.0.0.1", port=port, socket_timeout=60, startup_timeout=60)
        client.start_session()
        client.timeout.script = 30
        client.timeout.page_load = 15
        version = client.session_capabilities.get("browserVersion")
        with client.using_context(client.CONTEXT_CHROME):
            client.execute_async_script(CHROME_INSTALL_JS, new_sandbox=False)
        current = None
        for sc in scenarios:
            want = sc.get("page", "A")
            if want != current:
                client.navigate(page_url[want])
                time.sleep(0.3)
                current = want
            state = client.execute_async_script(CONTENT_INSTALL_JS, script_args=[PAGE_RUNNER])
            if state != "function":
                raise RuntimeError(f"page runner not installed ({state})")
            t0 = time.monotonic()
            started = time.time()
            try:
                r = json.loads(client.execute_async_script(CONTENT_RUN_JS, script_args=[json.dumps(sc)]))
            except Exception as ex:  # script timeout etc.
                r = {"js": "exception", "error": type(ex).__name__ + ": " + str(ex).splitlines()[0]}
            ms = round((time.monotonic() - t0) * 1000)
            time.sleep(0.4)  # console messages arrive from the content process asynchronously
            with client.using_context(client.CONTEXT_CHROME):
                drained = json.loads(client.execute_async_script(CHROME_DRAIN_JS, new_sandbox=False))
            batches.append(drained)
            res = {"name": sc["name"], "api": sc["api"], "page": page_url[want].rsplit("/", 1)[0],
                   "credentials": sc.get("credentials", "same-origin"), "ms": ms,
                   "started": round(started, 3), "finished": round(time.time(), 3),
                   "chromium_expect": sc["expect"], "js": r, "_tag": sc.get("tag") or sc["name"]}
            if sc.get("repeat"):
                res["repeat"] = sc["repeat"]
            if sc.get("tag"):
                res["tag"] = sc["tag"]
            if sc["api"] in ("fetch", "nocors"):
                res["cache"] = sc.get("cache", "no-store")
            results.append(res)
            time.sleep(0.1)
        # Late messages (none expected): one more drain.
        time.sleep(0.5)
        with client.using_context(client.CONTEXT_CHROME):
            late = json.loads(client.execute_async_script(CHROME_DRAIN_JS, new_sandbox=False))
            client.execute_async_script(CHROME_UNINSTALL_JS, new_sandbox=False)
    except Exception as ex:
        print(f"run_firefox.py: {type(ex).__name__}: {ex}", file=sys.stderr)
        rc = 2
    finally:
        if client is not None:
            try:
                client.delete_session()
            except Exception:
                pass
        stop_process_group(proc)
        log.close()
        if rc:
            with open(os.path.join(tmp, "firefox.log")) as f:
                sys.stderr.write(f.read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if rc:
        return rc

    # Attribute console messages and channels to scenarios: what was drained right after a
    # scenario and names its ?scenario= value (a redirect target keeps the query: every
    # nginx redirect passes $args on).  A record naming the previous scenario instead
    # arrived late and goes to that one; anything else is listed as unattributed.
    owned = [{"console": [], "channels": []} for _ in results]
    unattributed = {"console": [], "channels": []}
    batches.append(late)
    for i, batch in enumerate(batches):
        for kind, text_of in (("console", lambda m: m["message"]), ("channels", lambda c: c["url"])):
            for item in batch[kind]:
                tags = scenario_of(text_of(item))
                if i < len(results) and results[i]["_tag"] in tags:
                    owned[i][kind].append(item)
                elif i > 0 and results[i - 1]["_tag"] in tags:
                    owned[i - 1][kind].append(item)
                elif tags:
                    unattributed[kind].append(item)
    for res, own in zip(results, owned):
        del res["_tag"]
        msgs = own["console"]
        res["console"] = [{"category": m["category"], "level": "warning" if m["warning"] else "error",
                           "message": m["message"]} for m in msgs]
        # http-on-stop-request can fire twice for one channel (a blocked one: the network load,
        # then the cancellation): one record per channelId, the last one.
        chans, where = [], {}
        for c in own["channels"]:
            rec = {k: c[k] for k in ("url", "method", "preflight", "status", "result", "blockingReason")}
            if c["id"] in where:
                chans[where[c["id"]]] = rec
            else:
                where[c["id"]] = len(chans)
                chans.append(rec)
        res["channels"] = chans
        errors = [m for m in msgs if not m["warning"]]
        res["blocked"] = res["js"].get("js") != "ok"
        res["category"] = errors[0]["category"] if errors else None
        res["reason"] = reason_key(res["category"])
        res["message"] = errors[0]["message"] if errors else None
    if a.console_dump:
        with open(a.console_dump, "w") as f:
            json.dump(batches, f, indent=1)

    report = {"browser": "firefox " + str(version), "page": a.page, "page_b": a.page_b,
              "skipped": skipped, "results": results}
    if unattributed["console"] or unattributed["channels"]:
        report["unattributed"] = unattributed
    text = json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    differ = 0
    for res in results:
        got = "blocked" if res["blocked"] else "ok"
        flag = "" if got == res["chromium_expect"] else "  <-- differs from Chromium"
        differ += bool(flag)
        print(f"{res['name']:34s} chromium={res['chromium_expect']:7s} firefox={got:7s} "
              f"{res['js'].get('status', '')} {res['reason'] or ''}{flag}", file=sys.stderr)
    for s in skipped:
        print(f"{s['name']:34s} SKIPPED ({s['why']})", file=sys.stderr)
    print(f"{len(results)} scenarios run, {len(skipped)} skipped, {differ} differ from Chromium's expect",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

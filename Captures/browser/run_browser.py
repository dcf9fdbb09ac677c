#!/usr/bin/env python3
"""Drive headless Chromium (Debian chromium + chromedriver) through CORS scenarios.

Loads the page http://127.0.0.1:24482/ (nginx page origin), then runs every
scenario from scenarios.py with fetch() or XMLHttpRequest, one after another,
and writes a JSON report with, per scenario:
  - what JavaScript saw (ok + status, or the network error),
  - Chromium's own verdict from the DevTools performance log
    (Network.loadingFailed: errorText, corsErrorStatus) for requests whose
    URL carries ?scenario=<name>.

Selenium is pointed at /usr/bin/chromedriver and /usr/bin/chromium explicitly,
so Selenium Manager never downloads anything.  All waits are bounded.

Usage: run_browser.py [--out results.json] [--only name,name] [--page URL]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenarios import SCENARIOS  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

RUNNER_JS = r"""
const sc = arguments[0], done = arguments[arguments.length - 1];
const url = sc.url + (sc.url.includes('?') ? '&' : '?') + 'scenario=' + encodeURIComponent(sc.name);
const method = sc.method || 'GET';
const headers = sc.headers || {};
const body = sc.body === undefined ? null : sc.body;
const cred = sc.credentials || 'same-origin';
if (sc.api === 'xhr') {
  const x = new XMLHttpRequest();
  x.open(method, url, true);
  x.withCredentials = (cred === 'include');
  for (const k in headers) x.setRequestHeader(k, headers[k]);
  x.onload = () => done({js: 'ok', status: x.status, body: String(x.responseText).slice(0, 200)});
  x.onerror = () => done({js: 'error', error: 'XMLHttpRequest network error'});
  x.send(body);
} else {
  fetch(url, {method, headers, body, credentials: cred, mode: 'cors', cache: 'no-store'})
    .then(r => r.text().then(t => done({js: 'ok', status: r.status, body: t.slice(0, 200)})))
    .catch(e => done({js: 'error', error: String(e)}));
}
"""


def make_driver(profile_dir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={profile_dir}", "--no-first-run", "--no-default-browser-check",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-extensions", "--disable-features=Translate,OptimizationHints,MediaRouter",
              "--metrics-recording-only", "--password-store=basic", "--use-mock-keychain"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER)
    drv = webdriver.Chrome(service=service, options=opts)
    drv.set_page_load_timeout(15)
    drv.set_script_timeout(10)
    return drv


def cors_verdicts(perf_entries):
    """Map scenario name -> list of request outcomes from the DevTools log."""
    urls, out = {}, {}
    for e in perf_entries:
        msg = json.loads(e["message"])["message"]
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Network.requestWillBeSent":
            urls[p["requestId"]] = (p["request"]["url"], p["request"]["method"])
        elif m in ("Network.loadingFailed", "Network.responseReceived"):
            url, meth = urls.get(p.get("requestId"), ("?", "?"))
            if "scenario=" not in url:
                continue
            name = url.split("scenario=", 1)[1].split("&")[0]
            rec = {"url": url, "method": meth}
            if m == "Network.loadingFailed":
                rec.update(event="loadingFailed", errorText=p.get("errorText"),
                           corsErrorStatus=p.get("corsErrorStatus"), blockedReason=p.get("blockedReason"))
            else:
                rec.update(event="responseReceived", status=p["response"].get("status"))
            out.setdefault(name, []).append(rec)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="-")
    ap.add_argument("--page", default="http://127.0.0.1:24482/index.html")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    scenarios = [s for s in SCENARIOS if not only or s["name"] in only]

    profile = tempfile.mkdtemp(prefix="corscope-chromium-")
    drv = None
    results = []
    try:
        drv = make_driver(profile)
        drv.get(a.page)
        time.sleep(0.3)
        for sc in scenarios:
            t0 = time.monotonic()
            try:
                r = drv.execute_async_script(RUNNER_JS, sc)
            except Exception as ex:  # script timeout etc.
                r = {"js": "exception", "error": type(ex).__name__ + ": " + str(ex).splitlines()[0]}
            r.update(name=sc["name"], expect=sc["expect"], ms=round((time.monotonic() - t0) * 1000))
            results.append(r)
            time.sleep(0.15)
        time.sleep(0.5)
        verdicts = cors_verdicts(drv.get_log("performance"))
        for r in results:
            r["devtools"] = verdicts.get(r["name"], [])
        version = drv.capabilities.get("browserVersion")
    finally:
        if drv is not None:
            drv.quit()
        shutil.rmtree(profile, ignore_errors=True)

    report = {"browser": "chromium " + str(version), "page": a.page, "results": results}
    text = json.dumps(report, indent=1, sort_keys=True) + "\n"
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    for r in results:
        got = "ok" if r["js"] == "ok" else "blocked"
        cors = [d.get("corsErrorStatus", {}) and d["corsErrorStatus"].get("corsError")
                for d in r["devtools"] if d["event"] == "loadingFailed"]
        print(f"{r['name']:28s} expect={r['expect']:7s} got={got:7s} {r.get('status', '')} {cors or ''}",
              file=sys.stderr)


if __name__ == "__main__":
    main()

"""CORS scenarios run by run_browser.py from the page origin http://127.0.0.1:24482.

Each scenario is a dict:
  name     unique id (also sent as the `scenario` query parameter so the
           request is recognisable in the capture)
  api      "fetch" or "xhr"
  url      absolute cross-origin URL
  method   HTTP method (default GET)
  headers  request headers (non-safelisted ones trigger a preflight)
  body     request body (string) or None
  credentials  fetch credentials mode / xhr withCredentials ("include" -> true)
  expect   "ok" or "blocked" - what a correct browser does (documentation; the
           observed result is recorded, not asserted)
  why      one-line explanation

Add scenarios by appending to SCENARIOS; the runner needs no change.
"""

API = "http://127.0.0.1:24480"
OTHER = "http://127.0.0.1:24483"
TESTSERVER = "http://127.0.0.1:24490"

SCENARIOS = [
    dict(name="simple-get-ok", api="fetch", url=API + "/api/noalways/ok", expect="ok",
         why="simple GET, ACAO matches page origin"),
    dict(name="noalways-404", api="fetch", url=API + "/api/noalways/notfound", expect="blocked",
         why="add_header without always: 404 has no ACAO"),
    dict(name="noalways-500-xhr", api="xhr", url=API + "/api/noalways/error", expect="blocked",
         why="add_header without always: 500 has no ACAO (XMLHttpRequest)"),
    dict(name="always-404", api="fetch", url=API + "/api/always/notfound", expect="ok",
         why="404 with ACAO (always): readable error response"),
    dict(name="reflect-creds", api="fetch", url=API + "/api/reflect", credentials="include", expect="ok",
         why="origin reflection + credentials: passes (and leaks the cookie)"),
    dict(name="wildcard-creds", api="fetch", url=API + "/api/wildcard-creds", credentials="include",
         expect="blocked", why="ACAO * with credentials mode include"),
    dict(name="wildcard-nocreds", api="fetch", url=API + "/api/wildcard", expect="ok",
         why="ACAO * without credentials"),
    dict(name="preflight-put-json", api="fetch", url=API + "/api/preflight-204", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"},
         body='{"put":true}', credentials="include", expect="ok",
         why="preflight (PUT, content-type json, custom header) answered 204"),
    dict(name="preflight-narrow-headers", api="fetch", url=API + "/api/preflight-narrow", method="PUT",
         headers={"Content-Type": "application/json", "X-Other": "1"}, body="{}", expect="blocked",
         why="preflight does not allow X-Other"),
    dict(name="preflight-405-static", api="fetch", url=API + "/static/data.json", method="GET",
         headers={"X-Custom-Token": "t0k3n"}, expect="blocked",
         why="custom header forces preflight; static location answers OPTIONS 405"),
    dict(name="static-simple-get", api="xhr", url=API + "/static/data.json", expect="ok",
         why="simple GET of a static file with ACAO (XMLHttpRequest)"),
    dict(name="gzip-json", api="fetch", url=API + "/api/data.json", expect="ok",
         why="gzip-encoded chunked JSON with ACAO *"),
    dict(name="proxy-dup-acao", api="fetch", url=API + "/proxy/cors", expect="blocked",
         why="nginx and upstream both add ACAO: multiple values"),
    dict(name="proxy-hide-acao", api="fetch", url=API + "/proxy-hide/cors", expect="ok",
         why="proxy_hide_header: single ACAO"),
    dict(name="redirect-302-cross-origin", api="fetch", url=API + "/api/redirect-302", expect="ok",
         why="302 to a third origin, both hops have ACAO * (origin becomes null)"),
    dict(name="redirect-301-cross-origin", api="xhr", url=API + "/api/redirect-301", expect="ok",
         why="301 to a third origin (XMLHttpRequest)"),
    dict(name="redirect-nocors", api="fetch", url=API + "/api/redirect-nocors", expect="blocked",
         why="3xx without ACAO"),
    dict(name="preflight-redirect-login", api="fetch", url=API + "/api/private", method="DELETE",
         credentials="include", expect="blocked",
         why="OPTIONS is redirected to /login: redirect not allowed for preflight"),
    dict(name="testserver-dup-acao", api="fetch", url=TESTSERVER + "/dup-acao", expect="blocked",
         why="two ACAO fields from the test server"),
    dict(name="testserver-cors-post", api="fetch", url=TESTSERVER + "/cors", method="POST",
         headers={"Content-Type": "application/json"}, body='{"a":1}', credentials="include", expect="ok",
         why="preflighted POST against the Python test server"),
    dict(name="testserver-no-acao", api="fetch", url=TESTSERVER + "/gzip", expect="blocked",
         why="gzip response without any ACAO"),
]

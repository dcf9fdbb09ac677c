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
  expect   "ok" or "blocked" - what Chromium does (run_browser.py compares it
           with the observed result and reports mismatches; exit status 3)
  why      one-line explanation
  server   what the server does (for the README table)
  page     "A" (default, http://127.0.0.1:24482) or "B" (http://127.0.0.1:24484):
           the page origin the request is made from
  repeat   run the identical request (same URL) this many times (preflight cache)
  cache    fetch() cache mode (default "no-store"; note that Chromium bypasses
           its CORS preflight cache for no-store/reload/no-cache requests)
  api      also "websocket": new WebSocket(url) (ws:// URL), open/echo/close

Add scenarios by appending to SCENARIOS; the runner needs no change.
"""

API = "http://127.0.0.1:24480"
OTHER = "http://127.0.0.1:24483"
TESTSERVER = "http://127.0.0.1:24490"
API_LOCALHOST = "http://localhost:24480"   # same nginx server, host without cookies
PAGE_A = "http://127.0.0.1:24482"
PAGE_B = "http://127.0.0.1:24484"
JSONH = {"Content-Type": "application/json"}

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

    # ---------------------------------------------------------------- added for the differential
    dict(name="preflight-401-edge-auth", api="xhr", url=API + "/api/edge-auth", method="GET",
         headers={"Authorization": "Bearer t0k3n"}, credentials="include", expect="blocked",
         server="401 to anything without Authorization, incl. the OPTIONS (ACAO/ACAC always)",
         why="preflight never carries Authorization; edge auth answers it 401: not an ok status"),
    dict(name="preflight-404-no-route", api="fetch", url=API + "/api/no-options-route", method="PUT",
         headers=JSONH, body="{}", expect="blocked",
         server="OPTIONS -> 404 with ACAO (the app has no OPTIONS route)",
         why="preflight answered 404: not an ok status even though ACAO matches"),
    dict(name="preflight-405-framework", api="fetch", url=API + "/api/options-405", method="PUT",
         headers=JSONH, body="{}", expect="blocked",
         server="OPTIONS -> 405 with ACAO",
         why="preflight answered 405: not an ok status"),
    dict(name="preflight-500-noalways", api="fetch", url=API + "/api/options-500", method="PUT",
         headers=JSONH, body="{}", expect="blocked",
         server="OPTIONS -> 500, add_header without always: no ACAO",
         why="preflight 500 lost its ACAO: the origin check fails before the status check"),
    dict(name="acah-missing-authorization", api="fetch", url=API + "/api/acah-no-auth",
         headers={"Authorization": "Bearer t0k3n"}, expect="blocked",
         server="preflight 204, Allow-Headers: Content-Type",
         why="Authorization is not in Access-Control-Allow-Headers"),
    dict(name="acah-star-nocreds", api="fetch", url=API + "/api/acah-star",
         headers={"X-Custom-Token": "t0k3n"}, expect="ok",
         server="preflight 204, Allow-Headers: *, ACAO reflected, ACAC true",
         why="* covers any header name for a request without credentials"),
    dict(name="acah-star-creds", api="fetch", url=API + "/api/acah-star",
         headers={"X-Custom-Token": "t0k3n"}, credentials="include", expect="blocked",
         server="preflight 204, Allow-Headers: *, ACAO reflected, ACAC true",
         why="with credentials * is the literal header name '*': x-custom-token not allowed"),
    dict(name="acah-star-authorization", api="fetch", url=API + "/api/acah-star",
         headers={"Authorization": "Bearer t0k3n"}, expect="ok",
         server="preflight 204, Allow-Headers: *",
         why="Fetch says Authorization is never covered by *, but Chromium 156 still lets * cover it "
             "(its non-wildcard enforcement is behind a default-off feature): Chromium's answer kept"),
    dict(name="acam-missing-delete", api="fetch", url=API + "/api/acam-narrow", method="DELETE",
         expect="blocked", server="preflight 204, Allow-Methods: GET, POST",
         why="DELETE is not in Access-Control-Allow-Methods"),
    dict(name="patch-lowercase", api="fetch", url=API + "/api/acam-patch", method="patch",
         headers=JSONH, body="{}", expect="blocked",
         server="preflight 204, Allow-Methods: GET, POST, PATCH, DELETE",
         why="fetch does not upper-case 'patch'; ACRM 'patch' != 'PATCH' (case-sensitive)"),
    dict(name="patch-uppercase", api="fetch", url=API + "/api/acam-patch", method="PATCH",
         headers=JSONH, body="{}", expect="ok",
         server="preflight 204, Allow-Methods: GET, POST, PATCH, DELETE",
         why="PATCH matches the allowed PATCH"),
    dict(name="delete-lowercase-normalized", api="xhr", url=API + "/api/acam-patch", method="delete",
         expect="ok", server="preflight 204, Allow-Methods: GET, POST, PATCH, DELETE",
         why="'delete' is normalized to DELETE (one of the six methods that are upper-cased)"),
    dict(name="acac-missing-creds", api="fetch", url=API + "/api/acac-missing", credentials="include",
         expect="blocked", server="ACAO reflected, no Access-Control-Allow-Credentials",
         why="credentialed request needs Access-Control-Allow-Credentials: true"),
    dict(name="acac-True-creds-xhr", api="xhr", url=API + "/api/acac-True", credentials="include",
         expect="blocked", server="ACAO reflected, Access-Control-Allow-Credentials: True",
         why="ACAC must be exactly 'true' (byte-exact)"),
    dict(name="acao-trailing-slash", api="fetch", url=API + "/api/acao-trailing-slash", expect="blocked",
         server="ACAO: http://127.0.0.1:24482/", why="an origin has no path: trailing slash does not match"),
    dict(name="acao-wrong-port-xhr", api="xhr", url=API + "/api/acao-wrong-port", expect="blocked",
         server="ACAO: http://127.0.0.1:24481", why="ACAO names another port (another origin)"),
    dict(name="acao-null", api="fetch", url=API + "/api/acao-null", expect="blocked",
         server="ACAO: null", why="'null' only matches an opaque origin"),
    dict(name="acao-comma-list", api="fetch", url=API + "/api/acao-comma", expect="blocked",
         server="ACAO: http://127.0.0.1:24482, http://127.0.0.1:24484",
         why="allow-list joined into one header: multiple values"),
    dict(name="redirect-userinfo", api="fetch", url=API + "/api/redirect-userinfo", expect="blocked",
         server="302 to http://user:pass@127.0.0.1:24483/api/target (ACAO *)",
         why="cross-origin redirect to a URL with credentials"),
    dict(name="preflight-cache-600", api="fetch", url=API + "/api/preflight-cache-600", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"}, body="{}", repeat=2,
         cache="default", expect="ok", server="preflight 204 with Access-Control-Max-Age: 600",
         why="same request twice (cache: 'default'): the second reuses the cached preflight (one OPTIONS, two PUTs)"),
    dict(name="preflight-cache-600-nostore", api="fetch", url=API + "/api/preflight-cache-600", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"}, body="{}", repeat=2,
         cache="no-store", expect="ok", server="preflight 204 with Access-Control-Max-Age: 600",
         why="same request twice with cache: 'no-store': Chromium bypasses the preflight cache (two OPTIONS)"),
    dict(name="preflight-cache-0", api="fetch", url=API + "/api/preflight-cache-0", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"}, body="{}", repeat=2,
         cache="default", expect="ok", server="preflight 204 with Access-Control-Max-Age: 0",
         why="same request twice: max-age 0, so each PUT gets its own OPTIONS"),
    dict(name="shared-cache-origin-a", api="fetch", url=API + "/cached/resource", expect="ok",
         server="nginx proxy_cache (key ignores query) before an upstream reflecting Origin without Vary",
         why="from page A: cache MISS, upstream reflects A"),
    dict(name="shared-cache-origin-b", api="fetch", url=API + "/cached/resource", page="B", expect="blocked",
         server="same cache: HIT, serves A's ACAO (X-Cache-Status: HIT)",
         why="from page B: the cached response carries A's ACAO -> mismatch"),
    dict(name="longpoll-creds", api="fetch", url=TESTSERVER + "/longpoll", credentials="include", expect="ok",
         server="testserver holds the request ~1 s, then 200 with ACAO reflected + ACAC true",
         why="credentialed long poll (cookie sent), allowed"),
    dict(name="websocket-cross-origin", api="websocket", url="ws://127.0.0.1:24490/ws", expect="ok",
         server="testserver: 101 Switching Protocols, ignores Origin; hello + echo + close",
         why="WebSocket is not subject to CORS: cross-origin Origin, handshake succeeds"),
    dict(name="reflect-creds-localhost-nocookie", api="fetch", url=API_LOCALHOST + "/api/reflect",
         credentials="include", expect="ok",
         server="ACAO reflected + ACAC true (API reached as localhost)",
         why="credentials include but no cookie exists for host localhost: nothing on the wire shows the mode"),
    dict(name="wildcard-creds-localhost-nocookie", api="fetch", url=API_LOCALHOST + "/api/wildcard-creds",
         credentials="include", expect="blocked", server="ACAO * + ACAC true (API reached as localhost)",
         why="credentials mode include without any cookie sent: still WildcardOriginNotAllowed"),
]

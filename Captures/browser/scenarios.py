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
  api      also "websocket": new WebSocket(url) (ws:// URL), open/echo/close;
           "img": new Image().src = url (no-cors, credentials include, no Origin);
           "nocors": fetch(url, {mode: 'no-cors'}) (opaque response, no Origin for GET)
  tag      value sent as ?scenario= (default: name).  Only for a scenario that must
           request exactly the URL of an earlier one (browser HTTP cache reuse);
           run_browser.py then splits that URL's DevTools events and console
           messages between the scenarios by time (each owns the events of the
           requests it started).

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
         server="ACAO: page origin (add_header, 200)",
         why="simple GET, ACAO matches page origin"),
    dict(name="noalways-404", api="fetch", url=API + "/api/noalways/notfound", expect="blocked",
         server="404; add_header without always -> no ACAO",
         why="add_header without always: 404 has no ACAO"),
    dict(name="noalways-500-xhr", api="xhr", url=API + "/api/noalways/error", expect="blocked",
         server="500; add_header without always -> no ACAO",
         why="add_header without always: 500 has no ACAO (XMLHttpRequest)"),
    dict(name="always-404", api="fetch", url=API + "/api/always/notfound", expect="ok",
         server="404 with ACAO (add_header ... always)",
         why="404 with ACAO (always): readable error response"),
    dict(name="reflect-creds", api="fetch", url=API + "/api/reflect", credentials="include", expect="ok",
         server="ACAO reflects Origin + ACAC true",
         why="origin reflection + credentials: passes (and leaks the cookie)"),
    dict(name="wildcard-creds", api="fetch", url=API + "/api/wildcard-creds", credentials="include",
         expect="blocked", server="ACAO * + ACAC true",
         why="ACAO * with credentials mode include"),
    dict(name="wildcard-nocreds", api="fetch", url=API + "/api/wildcard", expect="ok",
         server="ACAO *",
         why="ACAO * without credentials"),
    dict(name="preflight-put-json", api="fetch", url=API + "/api/preflight-204", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"},
         body='{"put":true}', credentials="include", expect="ok",
         server="preflight 204 (methods/headers allowed, ACAC true), PUT 200",
         why="preflight (PUT, content-type json, custom header) answered 204"),
    dict(name="preflight-narrow-headers", api="fetch", url=API + "/api/preflight-narrow", method="PUT",
         headers={"Content-Type": "application/json", "X-Other": "1"}, body="{}", expect="blocked",
         server="preflight 204, Allow-Headers: Content-Type only",
         why="preflight does not allow X-Other"),
    dict(name="preflight-405-static", api="fetch", url=API + "/static/data.json", method="GET",
         headers={"X-Custom-Token": "t0k3n"}, expect="blocked",
         server="static location: OPTIONS -> 405 without ACAO",
         why="custom header forces preflight; static location answers OPTIONS 405"),
    dict(name="static-simple-get", api="xhr", url=API + "/static/data.json", expect="ok",
         server="static file, ACAO (add_header)",
         why="simple GET of a static file with ACAO (XMLHttpRequest)"),
    dict(name="gzip-json", api="fetch", url=API + "/api/data.json", expect="ok",
         server="4.6 KB JSON, gzip + chunked, ACAO *",
         why="gzip-encoded chunked JSON with ACAO *"),
    dict(name="proxy-dup-acao", api="fetch", url=API + "/proxy/cors", expect="blocked",
         server="proxy_pass: upstream and nginx both add ACAO (two fields)",
         why="nginx and upstream both add ACAO: multiple values"),
    dict(name="proxy-hide-acao", api="fetch", url=API + "/proxy-hide/cors", expect="ok",
         server="proxy_pass with proxy_hide_header: one ACAO",
         why="proxy_hide_header: single ACAO"),
    dict(name="redirect-302-cross-origin", api="fetch", url=API + "/api/redirect-302", expect="ok",
         server="302 (ACAO *) to :24483 (ACAO *)",
         why="302 to a third origin, both hops have ACAO * (origin becomes null)"),
    dict(name="redirect-301-cross-origin", api="xhr", url=API + "/api/redirect-301", expect="ok",
         server="301 (ACAO *) to :24483 (ACAO *)",
         why="301 to a third origin (XMLHttpRequest)"),
    dict(name="redirect-nocors", api="fetch", url=API + "/api/redirect-nocors", expect="blocked",
         server="302 without ACAO to :24483",
         why="3xx without ACAO"),
    dict(name="preflight-redirect-login", api="fetch", url=API + "/api/private", method="DELETE",
         credentials="include", expect="blocked",
         server="OPTIONS -> 302 to /login (auth wall)",
         why="OPTIONS is redirected to /login: redirect not allowed for preflight"),
    dict(name="testserver-dup-acao", api="fetch", url=TESTSERVER + "/dup-acao", expect="blocked",
         server="two ACAO fields: page origin and *",
         why="two ACAO fields from the test server"),
    dict(name="testserver-cors-post", api="fetch", url=TESTSERVER + "/cors", method="POST",
         headers={"Content-Type": "application/json"}, body='{"a":1}', credentials="include", expect="ok",
         server="preflight 204 reflecting everything, POST 200, ACAC true",
         why="preflighted POST against the Python test server"),
    dict(name="testserver-no-acao", api="fetch", url=TESTSERVER + "/gzip", expect="blocked",
         server="gzip response without any ACAO",
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
    dict(name="redirect-creds-wildcard", api="fetch", url=API + "/api/redirect-creds-wildcard",
         credentials="include", expect="blocked",
         server="302 (ACAO reflected + ACAC true) to :24483/api/target (ACAO *)",
         why="credentialed request redirected cross-origin: the target's ACAO * is refused with credentials"),
    dict(name="redirect-creds-null-origin", api="fetch", url=API + "/api/redirect-creds-reflect",
         credentials="include", expect="ok",
         server="302 (ACAO reflected + ACAC true) to :24483 which reflects Origin (null) + ACAC true",
         why="after a cross-origin redirect Origin is null; ACAO: null + ACAC true then matches"),
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

    # ---------------------------------------------------------------- without credentials, no-cors primes, caches
    dict(name="plain-get-nocookie-reflect", api="fetch", url=API + "/api/reflect", expect="ok",
         server="ACAO reflects Origin + ACAC true",
         why="default credentials mode (same-origin): no cookie cross-origin; the reflected ACAO matches, ACAC is not needed"),
    dict(name="plain-post-form-nocookie", api="fetch", url=API + "/api/wildcard", method="POST",
         headers={"Content-Type": "text/plain"}, body="name=corscope&kind=simple", expect="ok",
         server="ACAO * (any method)",
         why="POST with Content-Type text/plain is a simple request (no preflight); ACAO * without credentials"),
    dict(name="xhr-get-nocreds-wildcard-creds", api="xhr", url=API + "/api/wildcard-creds", expect="ok",
         server="ACAO * + ACAC true",
         why="withCredentials false: ACAO * is accepted, ACAC is ignored"),
    dict(name="preflight-404-nocookie", api="fetch", url=API + "/api/no-options-route",
         headers={"X-Requested-With": "XMLHttpRequest"}, expect="blocked",
         server="OPTIONS -> 404 with ACAO (the app has no OPTIONS route)",
         why="X-Requested-With forces a preflight; answered 404: not an ok status (no credentials)"),
    dict(name="acam-missing-put-nocookie", api="fetch", url=API + "/api/acam-narrow", method="PUT",
         headers=JSONH, body='{"put":true}', expect="blocked",
         server="preflight 204, Allow-Methods: GET, POST, Allow-Headers: Content-Type",
         why="PUT is not in Access-Control-Allow-Methods (no credentials, so no wildcard question either)"),
    dict(name="acah-missing-nocookie", api="fetch", url=API + "/api/acah-no-auth",
         headers={"X-Requested-With": "XMLHttpRequest"}, expect="blocked",
         server="preflight 204, Allow-Headers: Content-Type",
         why="x-requested-with is not in Access-Control-Allow-Headers (no credentials)"),
    dict(name="include-emptyjar-acac-missing", api="fetch", url=API_LOCALHOST + "/api/acac-missing",
         credentials="include", expect="blocked",
         server="ACAO reflected, no Access-Control-Allow-Credentials (API reached as localhost)",
         why="credentials include with an empty cookie jar for localhost: no Cookie on the wire, "
             "yet ACAC is required (InvalidAllowCredentials)"),
    dict(name="shared-cache-primed-no-origin-prime", api="nocors", url=API + "/cached-noorigin/badge",
         expect="ok",
         server="nginx proxy_cache (key $uri, own zone) before an upstream that adds ACAO only when "
                "the request has an Origin; no Vary",
         why="fetch mode no-cors GET sends no Origin: cache MISS, the upstream answers without ACAO and "
             "the entry is stored (opaque response for the page)"),
    dict(name="shared-cache-primed-no-origin", api="fetch", url=API + "/cached-noorigin/badge", expect="blocked",
         server="same cache: HIT, serves the Origin-less entry (X-Cache-Status: HIT, no ACAO)",
         why="CORS fetch gets the cached response stored for a request without Origin: no ACAO"),
    dict(name="websocket-origin-rejected", api="websocket", url="ws://127.0.0.1:24490/ws-origin-check",
         expect="blocked",
         server="testserver: Origin allow-list (Socket.IO/SignalR style); other Origins get 403, connection closed",
         why="not CORS: the server refuses the handshake from page A's Origin; JS sees only error + close 1006"),
    dict(name="browser-cache-reuse-prime", api="img", url=API + "/api/cacheable-pixel", expect="ok",
         server="SVG image, Cache-Control: max-age=600, no ACAO",
         why="<img> (no-cors, no Origin) loads the image; Chromium stores it in its HTTP cache"),
    dict(name="browser-cache-reuse", api="fetch", url=API + "/api/cacheable-pixel", cache="default",
         tag="browser-cache-reuse-prime", expect="blocked",
         server="SVG image, Cache-Control: max-age=600, no ACAO",
         why="fetch (cors, cache 'default') of the very URL the <img> loaded (same ?scenario= value): "
             "answered from Chromium's HTTP cache, CORS check on the cached headers"),
    dict(name="preflight-302-no-acao", api="fetch", url=API + "/api/redirect-nocors", method="DELETE",
         expect="blocked",
         server="302 to :24483 for every method, OPTIONS included; no Access-Control-* header",
         why="DELETE forces a preflight; OPTIONS is answered 302 without ACAO: Chromium refuses "
             "the redirected preflight as such (PreflightDisallowedRedirect), not for the missing ACAO"),
]

# ==================================================================== HTTPS suite
# record.sh https runs SCENARIOS above over TLS (run_browser.py --url-map rewrites
# their origins: API :24480 -> https://127.0.0.1:24700 (h2), localhost:24480 ->
# https://localhost:24701 (HTTP/1.1 over TLS), :24483 -> https://127.0.0.1:24703
# (TLS 1.2 only), testserver :24490 -> https://127.0.0.1:24711 (Python ssl, HTTP/1.1),
# pages A/B -> https://127.0.0.1:24702 / :24704), then HTTPS_SCENARIOS (run_browser.py
# --extra https): the incidents that live behind TLS, with their https URLs here.
# Not run by the plaintext suite (nor by Firefox).  nginx config:
# servers/make_https_conf.py (generated from nginx-cors.conf + these locations).
SAPI = "https://127.0.0.1:24700"         # API, HTTP/2
SAPI_H1 = "https://127.0.0.1:24701"      # same API server, HTTP/1.1 over TLS
SAPI_NAME = "https://api.test:24700"     # same server under a *.test name (cert covers it)
SPAGE_A = "https://127.0.0.1:24702"

HTTPS_SCENARIOS = [
    # ---- edge auth in front of the preflight
    dict(name="https-edge-sso-redirect", api="fetch", url=SAPI + "/edge/sso/orders", credentials="include",
         headers={"X-Requested-With": "XMLHttpRequest"}, expect="blocked",
         server="SSO gateway: no session cookie (every preflight) -> 302 to https://sso.test:24703/login, "
                "no Access-Control-* at all",
         why="the preflight is redirected to a login page: redirect not allowed for a preflight"),
    dict(name="https-edge-token-401", api="fetch", url=SAPI + "/edge/token-401",
         headers={"Authorization": "Bearer t0k3n"}, expect="blocked",
         server="API gateway: no Authorization (every preflight) -> 401 + WWW-Authenticate, no CORS headers",
         why="the gateway's 401 comes before the CORS layer: preflight without ACAO"),
    dict(name="https-edge-waf-403", api="fetch", url=SAPI + "/edge/waf-403", method="PUT",
         headers={"Content-Type": "application/json"}, body='{"put":true}', expect="blocked",
         server="WAF rule: OPTIONS -> 403, CORS headers added (always) by the layer in front",
         why="preflight answered 403: not an ok status although ACAO/ACAM/ACAH match"),
    # ---- proxies and ACAO
    dict(name="https-proxy-dup-acao-h2", api="fetch", url=SAPI + "/proxy/cors", credentials="include",
         expect="blocked",
         server="proxy_pass: the test server's ACAO and nginx's add_header: two access-control-allow-origin "
                "fields in one HTTP/2 HEADERS block",
         why="two HTTP/2 fields are two values: MultipleAllowOriginValues (credentialed connection)"),
    dict(name="https-proxy-dup-acao-h1tls", api="fetch", url=SAPI_H1 + "/proxy/cors", expect="blocked",
         server="the same proxy reached over HTTP/1.1 inside TLS (port without http2)",
         why="same verdict as over HTTP/2: two ACAO lines"),
    dict(name="https-proxy-strip-acao-ok", api="fetch", url=SAPI + "/edge/strip/ok", expect="ok",
         server="proxy hides the upstream's ACAO and adds its own without `always`; upstream 200",
         why="on a 200 nginx's add_header applies: one ACAO, matches"),
    dict(name="https-proxy-strip-acao-503", api="fetch", url=SAPI + "/edge/strip/unavailable", expect="blocked",
         server="same proxy; upstream 503 with its ACAO (hidden), nginx's add_header dropped on the error",
         why="the error response reaches the browser without any ACAO: the page cannot read the 503"),
    # ---- shared cache without Vary: Origin, both origins over one HTTP/2 connection
    dict(name="https-shared-cache-prime-b", api="fetch", url=SAPI + "/ts-cached/cors", page="B", expect="ok",
         server="nginx proxy_cache (key $uri, query ignored) before the test server, which reflects Origin "
                "without Vary: MISS, upstream reflects page B",
         why="from page B: the cache stores B's ACAO"),
    dict(name="https-shared-cache-hit-a", api="fetch", url=SAPI + "/ts-cached/cors", expect="blocked",
         server="same cache: HIT (X-Cache-Status: HIT) serving page B's ACAO",
         why="from page A right after B: A gets B's ACAO -> AllowOriginMismatch"),
    # ---- a preflight and its request among other in-flight HTTP/2 streams
    dict(name="https-h2-interleaved-preflight", api="fetch", url=SAPI + "/api/preflight-cache-0", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"}, body='{"put":true}',
         background=dict(url=SAPI + "/slow/poll", count=3), expect="ok",
         server="three 1 s long polls (reflected ACAO) in flight, then preflight 204 (Max-Age 0) + PUT 200",
         why="OPTIONS and PUT are answered on the same connection while the three GETs are still pending"),
    dict(name="https-preflight-cache-max-age", api="fetch", url=SAPI + "/api/preflight-cache-600", method="PUT",
         headers={"Content-Type": "application/json", "X-Custom-Token": "t0k3n"}, body="{}", repeat=2,
         cache="default", expect="ok", server="preflight 204 with Access-Control-Max-Age: 600 (HTTP/2)",
         why="two PUTs, one OPTIONS: the second PUT uses the cached preflight"),
    # ---- HTTP/2 connection coalescing: another authority on the same connection
    dict(name="https-h2-coalesced-authority", api="fetch", url=SAPI_NAME + "/api/wildcard", expect="ok",
         server="ACAO * (the API server reached as api.test, same IP and certificate)",
         why="https://api.test:24700 may ride on the connection opened for https://127.0.0.1:24700: "
             ":authority differs from the connection's SNI"),
    # ---- one request per forced TLS suite (each AEAD suite at least once)
    dict(name="https-tls12-chacha20", api="fetch", url="https://127.0.0.1:24706/suite", expect="ok",
         server="TLS 1.2 only, ECDHE-RSA-CHACHA20-POLY1305, h2; ACAO reflected",
         why="CORS is the same over every suite"),
    dict(name="https-tls13-chacha20", api="fetch", url="https://127.0.0.1:24707/suite", expect="ok",
         server="TLS 1.3 only, TLS_CHACHA20_POLY1305_SHA256, h2; ACAO reflected",
         why="CORS is the same over every suite"),
    dict(name="https-tls13-aes256", api="fetch", url="https://127.0.0.1:24708/suite", method="PUT",
         headers={"Content-Type": "application/json"}, body="{}", expect="ok",
         server="TLS 1.3 only, TLS_AES_256_GCM_SHA384, h2; preflight 204 then ACAO reflected",
         why="preflighted PUT over TLS 1.3 AES-256-GCM"),
    dict(name="https-tls12-aes256", api="fetch", url="https://127.0.0.1:24709/suite", expect="ok",
         server="TLS 1.2 only, ECDHE-RSA-AES256-GCM-SHA384, h2; ACAO reflected",
         why="CORS is the same over every suite"),
]

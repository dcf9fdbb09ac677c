#!/usr/bin/env python3
"""Write the nginx config of the HTTPS recording (record.sh group `https`).

Reads servers/nginx-cors.conf (the plaintext suite: the same CORS locations,
never copied by hand) and writes an nginx 1.22 config where

  * every browser-facing server listens with TLS (`listen ... ssl http2;`),
    and every origin named in a header or redirect is the https one:

      plaintext                  HTTPS suite
      http://127.0.0.1:24480  -> https://127.0.0.1:24700  API, h2 (TLS 1.2 + 1.3)
      http://localhost:24480  -> https://localhost:24701   same API server, HTTP/1.1 over TLS (no http2)
      http://127.0.0.1:24482  -> https://127.0.0.1:24702  page origin A, h2
      http://127.0.0.1:24483  -> https://127.0.0.1:24703  third origin, h2, TLS 1.2 ONLY (ECDHE-RSA-AES128-GCM-SHA256)
      http://127.0.0.1:24484  -> https://127.0.0.1:24704  page origin B, h2
      http://127.0.0.1:24485  -> http://127.0.0.1:24705   cache upstream: plaintext hop behind nginx
      http://127.0.0.1:24490  -> http://127.0.0.1:24710   testserver as proxy_pass upstream: plaintext hop
      http://127.0.0.1:24481  -> https://127.0.0.1:24729  "wrong port" ACAO (nothing listens there)
      (browser -> testserver directly: https://127.0.0.1:24711, testserver.py --tls)

  * the HTTPS incident locations below are added to the API server, a few
    upstream locations to the cache upstream, and four small servers that
    force one TLS suite each (24706-24709);
  * TLS: ssl_protocols TLSv1.2 TLSv1.3 (nginx 1.22 leaves 1.3 out by default),
    ssl_session_cache off + ssl_session_tickets off (one full handshake per
    connection), the throwaway certificate made by record.sh.

Usage: make_https_conf.py --cert CRT --key KEY --out nginx-https.conf [--in nginx-cors.conf]
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

PAGE_A = "https://127.0.0.1:24702"
PAGE_B = "https://127.0.0.1:24704"

# plaintext port -> (scheme, port) in the HTTPS suite
PORT_MAP = {
    24480: ("https", 24700),
    24481: ("https", 24729),
    24482: ("https", 24702),
    24483: ("https", 24703),
    24484: ("https", 24704),
    24485: ("http", 24705),
    24490: ("http", 24710),
}

LISTEN_MAP = {
    24480: "listen 127.0.0.1:24700 ssl http2;\n        listen 127.0.0.1:24701 ssl;        # HTTP/1.1 over TLS (no http2)",
    24482: "listen 127.0.0.1:24702 ssl http2;",
    24483: ("listen 127.0.0.1:24703 ssl http2;\n"
            "        # TLS 1.2 only, one suite: the redirect targets travel over TLS 1.2\n"
            "        ssl_protocols TLSv1.2;\n"
            "        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;"),
    24484: "listen 127.0.0.1:24704 ssl http2;",
    24485: "listen 127.0.0.1:24705;",
}

TLS_GLOBAL = """
    # ---- TLS (HTTPS suite; written by servers/make_https_conf.py)
    ssl_certificate     {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;      # nginx 1.22's default leaves TLS 1.3 out
    ssl_prefer_server_ciphers off;
    ssl_session_cache off;              # one full handshake per connection
    ssl_session_tickets off;
    proxy_cache_path tmp/cache-ts levels=1 keys_zone=tscache:1m max_size=4m inactive=10m;
"""

# Added to the API server (:24700 h2, :24701 HTTP/1.1 over TLS).
API_INCIDENTS = """
        # ================================================= HTTPS incidents
        # Edge auth (SSO gateway) in front of the API: a request without the
        # session cookie -- every preflight, which never carries cookies -- is
        # redirected to the identity provider's login page on another host.
        # The gateway knows nothing about CORS: no Access-Control-* on the 302.
        location = /edge/sso/orders {
            if ($cookie_session = "") {
                return 302 https://sso.test:24703/login?next=$uri$is_args$args;
            }
            add_header Access-Control-Allow-Origin "PAGE_A" always;
            add_header Access-Control-Allow-Credentials true always;
            return 200 '{"endpoint":"edge-sso-orders"}\\n';
        }
        # API gateway demanding a bearer token on every request: its 401 is
        # produced before the app's CORS layer, so it has no CORS headers.
        location = /edge/token-401 {
            if ($http_authorization = "") {
                add_header WWW-Authenticate 'Bearer realm="edge"' always;
                return 401 '{"error":"token required"}\\n';
            }
            add_header Access-Control-Allow-Origin "PAGE_A" always;
            return 200 '{"endpoint":"edge-token-401"}\\n';
        }
        # WAF rule "OPTIONS not allowed": 403, but the CORS layer in front of
        # it adds its headers (always) -- only the status is wrong.
        location = /edge/waf-403 {
            if ($request_method = OPTIONS) {
                add_header Access-Control-Allow-Origin "PAGE_A" always;
                add_header Access-Control-Allow-Methods "GET, PUT" always;
                add_header Access-Control-Allow-Headers "Content-Type" always;
                return 403 '{"error":"request blocked by edge policy"}\\n';
            }
            add_header Access-Control-Allow-Origin "PAGE_A" always;
            return 200 '{"endpoint":"edge-waf-403"}\\n';
        }
        # Proxy that replaces the upstream's ACAO with its own, with add_header
        # WITHOUT `always`: on the upstream's error status nginx drops it, and
        # the upstream's (correct) ACAO was hidden -> no ACAO at all.
        location /edge/strip/ {
            proxy_pass http://127.0.0.1:24705/upstream-status/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_hide_header Access-Control-Allow-Origin;
            add_header Access-Control-Allow-Origin $http_origin;
        }
        # Shared cache without `Vary: Origin` in front of the Python test
        # server (/upstream/cors reflects Origin, no Vary, no Cache-Control):
        # key $uri (query ignored), 60 s.  Whoever asks first decides the ACAO.
        location /ts-cached/ {
            proxy_pass http://127.0.0.1:24710/upstream/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache tscache;
            proxy_cache_key $uri;
            proxy_cache_valid 200 60s;
            add_header X-Cache-Status $upstream_cache_status always;
        }
        # Slow endpoint (the test server's 1 s long poll, reflected ACAO +
        # ACAC) for streams that stay open while a preflight and its request
        # pass them on the same HTTP/2 connection.
        location /slow/ {
            proxy_pass http://127.0.0.1:24710/longpoll/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
"""

# Added to the cache upstream (:24705, plaintext, reached through nginx only).
UPSTREAM_EXTRA = """
        # Upstream for /edge/strip/: CORS done right (ACAO `always`), also on errors.
        location = /upstream-status/ok {
            add_header Access-Control-Allow-Origin $http_origin always;
            return 200 '{"endpoint":"upstream-status-ok"}\\n';
        }
        location = /upstream-status/unavailable {
            add_header Access-Control-Allow-Origin $http_origin always;
            add_header Retry-After 30 always;
            return 503 '{"error":"upstream unavailable"}\\n';
        }
"""

SUITE_SERVER = """
    # -------------------------------------------------------------- {title}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name suite-{port};
        default_type application/json;
{tls}
        location / {{
            if ($request_method = OPTIONS) {{
                add_header Access-Control-Allow-Origin $http_origin;
                add_header Access-Control-Allow-Methods "GET, PUT";
                add_header Access-Control-Allow-Headers "Content-Type";
                add_header Access-Control-Max-Age 0;
                add_header Vary Origin;
                return 204;
            }}
            add_header Access-Control-Allow-Origin $http_origin always;
            add_header Vary Origin always;
            return 200 '{{"protocol":"$ssl_protocol","cipher":"$ssl_cipher","http2":"$http2"}}\\n';
        }}
    }}
"""

SUITES = [
    (24706, "TLS 1.2 only, ECDHE-RSA-CHACHA20-POLY1305",
     "        ssl_protocols TLSv1.2;\n        ssl_ciphers ECDHE-RSA-CHACHA20-POLY1305;"),
    (24707, "TLS 1.3 only, TLS_CHACHA20_POLY1305_SHA256",
     "        ssl_protocols TLSv1.3;\n        ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;"),
    (24708, "TLS 1.3 only, TLS_AES_256_GCM_SHA384",
     "        ssl_protocols TLSv1.3;\n        ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;"),
    (24709, "TLS 1.2 only, ECDHE-RSA-AES256-GCM-SHA384",
     "        ssl_protocols TLSv1.2;\n        ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384;"),
]


def convert(text, cert, key):
    def url(m):
        scheme, userinfo, port = m.group(1), m.group(2) or "", int(m.group(3))
        if port not in PORT_MAP:
            return m.group(0)
        s, p = PORT_MAP[port]
        return f"{s}://{userinfo}127.0.0.1:{p}"

    def listen(m):
        port = int(m.group(1))
        if port not in LISTEN_MAP:
            sys.exit(f"make_https_conf.py: no HTTPS listen for plaintext port {port}")
        return LISTEN_MAP[port]

    out = re.sub(r"listen 127\.0\.0\.1:(\d+);", listen, text)
    out = re.sub(r"(https?)://([^/@\s\"']+@)?127\.0\.0\.1:(\d+)", url, out)
    out = re.sub(r"\A", "# GENERATED by servers/make_https_conf.py from servers/nginx-cors.conf -- do not edit;\n"
                        "# the HTTPS recording (record.sh https).  Original header follows.\n", out)

    def insert_after(anchor, extra):
        nonlocal out
        i = out.find(anchor)
        if i < 0:
            sys.exit(f"make_https_conf.py: anchor {anchor!r} not found in nginx-cors.conf")
        i += len(anchor)
        out = out[:i] + extra + out[i:]

    insert_after("http {\n", TLS_GLOBAL.format(cert=cert, key=key))
    insert_after("        server_name api;\n", API_INCIDENTS.replace("PAGE_A", PAGE_A))
    insert_after("        server_name cache-upstream;\n", UPSTREAM_EXTRA)
    j = out.rstrip().rfind("}")  # end of the http block
    extra = "".join(SUITE_SERVER.format(title=t, port=p, tls=tls) for p, t, tls in SUITES)
    out = out[:j] + extra + out[j:]
    left = re.findall(r"https?://127\.0\.0\.1:244\d\d", out)
    if left:
        sys.exit(f"make_https_conf.py: plaintext origins left over: {sorted(set(left))}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--in", dest="src", default=os.path.join(HERE, "nginx-cors.conf"))
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.src) as f:
        text = f.read()
    with open(a.out, "w") as f:
        f.write(convert(text, os.path.abspath(a.cert), os.path.abspath(a.key)))


if __name__ == "__main__":
    main()

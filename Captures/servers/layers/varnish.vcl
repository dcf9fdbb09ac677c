# Varnish 7 in front of layer_app.py (record-layers.sh) with the default cache key (URL and
# Host): /api/cached carries `Cache-Control: public, max-age=300` and an Access-Control-Allow-
# Origin for the requesting origin but no `Vary: Origin`, so the second origin gets the
# first one's answer from the cache.
vcl 4.1;

backend app {
    .host = "127.0.0.1";
    .port = "24730";
}

// The HTTP/2 analyzer: frames, HPACK (NIOHPACK), streams → exchanges (issue #12).
import CorscopeHTTP

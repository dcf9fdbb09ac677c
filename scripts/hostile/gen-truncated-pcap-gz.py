#!/usr/bin/env python3
"""A gzip'd pcap cut inside its compressed stream: SIZE copies of the real capture (27 exchanges
each), compressed with a full flush after the last complete record, then the compressed form of
half of one more record, cut in the middle, and no gzip trailer.

What corscope must do: decode up to the cut, analyse every complete record, warn.
Expected: 27 * SIZE exchanges, exit 0 with a warning.
Full size: 20,000 copies (~ 120 MB uncompressed)."""
import sys
import zlib
from hostile import usage
from truncated import pcap_records

n, out = usage(__doc__, sys.argv)
compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
with open(out, "wb") as f:
    for piece, cut in pcap_records(n):
        if cut:
            f.write(compressor.flush(zlib.Z_FULL_FLUSH))
            rest = compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)
            f.write(rest[:max(1, len(rest) // 2)])
        else:
            f.write(compressor.compress(piece))

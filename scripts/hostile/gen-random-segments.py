#!/usr/bin/env python3
"""One connection whose request (the real capture's request, as a POST with a body that makes it
SIZE bytes) arrives in SIZE one-byte segments in a random order (fixed seed), then the real
response in order.

What corscope must do: buffer out-of-order segments in an ordered structure (O(log n) each).
Expected (SIZE <= 65,536, the per-connection segment cap): no gap, every byte delivered once, the
exchange complete. Above the cap: holes skipped as counted gaps (gaps_forced_by_buffer_cap), the
late bytes counted as late_bytes (already in gap_bytes).
Full size: 1,000,000 segments (~ 83 MB)."""
import importlib.util
import os
import random
import sys
from hostile import usage

spec = importlib.util.spec_from_file_location("reverse", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-reverse-segments.py"))
reverse = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reverse)


def shuffled(count):
    order = list(range(count))
    random.Random(1729).shuffle(order)
    return order


n, out = usage(__doc__, sys.argv)
reverse.write(out, n, shuffled)

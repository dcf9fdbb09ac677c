#!/usr/bin/env bash
# The BrowserRules library's documentation, with the toolchain's own docc (no package plugin):
# the module's symbol graph (`swift package dump-symbol-graph`, public symbols) and the catalog
# Sources/BrowserRules/BrowserRules.docc, converted with every warning an error (a link to a
# symbol that does not exist fails).
#   scripts/docs.sh [--scratch-path DIR]            writes DIR/docs/BrowserRules.doccarchive
#   scripts/docs.sh [--scratch-path DIR] --check    the same conversion, output thrown away;
#                                                   skipped (said so) when the toolchain has no docc
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

scratch=.build
check=false
while (($#)); do
  case "$1" in
    --scratch-path) scratch=$2; shift 2 ;;
    --check) check=true; shift ;;
    *) echo "usage: $0 [--scratch-path DIR] [--check]" >&2; exit 2 ;;
  esac
done

if ! docc=$(command -v docc); then
  if "$check"; then echo "docs: skipped, this toolchain has no docc" >&2; exit 0; fi
  echo "error: no docc on PATH (Swift toolchains ship it in usr/bin)" >&2
  exit 1
fi

# dump-symbol-graph builds what is not built yet and says where it wrote the graphs.
dump=$(${SWIFT:-swift} package --scratch-path "$scratch" dump-symbol-graph --minimum-access-level public 2>&1) \
  || { printf '%s\n' "$dump" >&2; exit 1; }
graphs=$(sed -n 's/^Files written to //p' <<<"$dump" | tail -1)
[ -f "$graphs/BrowserRules.symbols.json" ] || { printf '%s\n' "$dump" >&2; echo "error: no BrowserRules symbol graph in '$graphs'" >&2; exit 1; }

# Only this module's graph (the folder holds every module's).
work="$scratch/docs"
rm -rf "$work/symbol-graph"
mkdir -p "$work/symbol-graph"
cp "$graphs"/BrowserRules.symbols.json "$graphs"/BrowserRules@*.symbols.json "$work/symbol-graph/" 2>/dev/null || true

output="$work/BrowserRules.doccarchive"
"$check" && output="$work/check.doccarchive"
rm -rf "$output"
"$docc" convert Sources/BrowserRules/BrowserRules.docc \
  --additional-symbol-graph-dir "$work/symbol-graph" \
  --fallback-display-name BrowserRules --fallback-bundle-identifier org.corscope.BrowserRules \
  --transform-for-static-hosting --warnings-as-errors \
  --output-path "$output" >"$work/docc.log" 2>&1 || { cat "$work/docc.log" >&2; exit 1; }

if "$check"; then
  rm -rf "$output"
  echo "docs: BrowserRules.docc converts without warnings" >&2
else
  echo "$output (static site: serve the folder, open /documentation/browserrules)" >&2
fi

#!/usr/bin/env bash
# Regenerates Reports/: what `corscope analyze` writes for the bundled captures, in every format.
# A test (ReportsAreCurrentTests) fails when these files are stale.
#   scripts/make-reports.sh [path/to/corscope]
set -euo pipefail
cd "$(dirname "$0")/.."
CORSCOPE=${1:-.build/debug/corscope}
[ -x "$CORSCOPE" ] || swift build --product corscope >/dev/null
while read -r capture name; do
  for format in markdown html json sarif junit; do
    case $format in markdown) ext=md ;; html) ext=html ;; json) ext=json ;; sarif) ext=sarif ;; junit) ext=junit.xml ;; esac
    "$CORSCOPE" analyze --format "$format" --fail-on never --output "Reports/$name.$ext" "$capture" 2>/dev/null
  done
  echo "Reports/$name.{md,html,json,sarif,junit.xml} <- $capture"
done < Reports/inputs.txt

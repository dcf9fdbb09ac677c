#!/usr/bin/env bash
# Prints the closing line of a test run from XCTest's own totals: "N passed, N failed, N skipped".
set -euo pipefail
log=${1:?usage: test-summary.sh LOG}
line=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -1)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line")
skipped=$(grep -Eo "with [0-9]+ tests? skipped" <<<"$line" | grep -Eo "[0-9]+" || echo 0)
failed=$(grep -Eo "[0-9]+ failures?" <<<"$line" | grep -Eo "^[0-9]+" || echo 0)
passed=$((executed - skipped - failed)); [ "$passed" -ge 0 ] || passed=0
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

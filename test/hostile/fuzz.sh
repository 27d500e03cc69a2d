#!/usr/bin/env bash
# Runs every fuzz target of the hostile-input work for a while each
# (default 10s; CI's smoke run). Longer: test/hostile/fuzz.sh 10m
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH
T=${1:-10s}
for target in \
  "FuzzLoad ./zones" \
  "FuzzParse ./zones/policytest" \
  "FuzzCheckFile ./cmd/zonewall/internal/config" \
  "FuzzParseMessage ./enforcer/nflog" \
  "FuzzParsePayload ./enforcer/nflog"; do
  set -- $target
  echo "== fuzz $1 ($2, $T)"
  go test -run '^$' -fuzz "^$1\$" -fuzztime "$T" "$2" 2>&1 | tail -n 3
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "fuzz $1 failed (see testdata/fuzz/$1 in $2)"; exit 1; }
done

#!/usr/bin/env bash
# Runs zonewall against the hostile-input corpus (gen-corpus.sh): `check` and
# the daemon's reload for zone directories, `test` for policy test files,
# the configuration loader for config files. For every run it asserts
#   - the exit code,
#   - a message matching the case's pattern (file:line:col, or the key),
#   - no byte of the planted secret file in the output, no raw ESC/bidi,
#   - at most 5 s and 300 MB peak RSS.
# Usage: test/hostile/run.sh [CORPUS_DIR]   (root not needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH
CORPUS=${1:-/tmp/zwtest-h-corpus}
BIN=$(mktemp -d /tmp/zwtest-h-bin.XXXXXX)
trap 'rm -rf "$BIN" "$CORPUS"' EXIT

MAX_SECONDS=5
MAX_KB=$((300 * 1024))
# Address-space backstop only (Go reserves ~700 MB of address space at
# start, so RLIMIT_AS cannot express 300 MB); peak RSS is what is asserted.
AS_LIMIT=$((2 * 1024 * 1024 * 1024))

if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time (peak memory of each run)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

echo "== hostile corpus: build"
go build -o "$BIN/zonewall" ./cmd/zonewall
go test -c -o "$BIN/daemon.test" ./enforcer/daemon
bash test/hostile/gen-corpus.sh "$CORPUS"
SECRET=$(cat "$CORPUS/secret")
: >"$BIN/empty.yaml"

fails=0 runs=0 worst_s=0 worst_kb=0
# measure NAME WHAT EXPECT_EXIT PATTERN ENVFILE -- COMMAND...: runs COMMAND
# bounded and checks it.
measure() {
  local name=$1 what=$2 want=$3 pattern=$4 envfile=$5
  shift 6
  local out="$BIN/out" stats="$BIN/stats" code=0
  local -a envs=()
  if [ -n "$envfile" ]; then mapfile -t envs <"$envfile"; fi
  env ${envs[@]+"${envs[@]}"} timeout -k 1 $((MAX_SECONDS + 1)) prlimit --as=$AS_LIMIT \
    /usr/bin/time -o "$stats" -f '%e %M' "$@" >"$out" 2>&1 </dev/null || code=$?
  runs=$((runs + 1))
  local secs kb problem=""
  # GNU time puts "Command exited with non-zero status N" above its figures.
  read -r secs kb < <(tail -n 1 "$stats" 2>/dev/null) || true
  [[ "$secs" =~ ^[0-9.]+$ && "$kb" =~ ^[0-9]+$ ]] || { secs=$MAX_SECONDS.9; kb=0; }
  if [ "$code" = 124 ] || [ "$code" = 137 ]; then problem="timed out"; code="timeout"; fi
  [ "$code" = "$want" ] || problem+=" exit $code, want $want;"
  awk -v s="$secs" -v m=$MAX_SECONDS 'BEGIN { exit !(s > m) }' && problem+=" took ${secs}s;"
  [ "${kb:-0}" -le $MAX_KB ] || problem+=" peak RSS ${kb} KB;"
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$out"; then problem+=" no line matches /$pattern/;"; fi
  grep -qF -- "$SECRET" "$out" && problem+=" the secret file's content is in the output;"
  LC_ALL=C grep -q -e $'\033' -e $'\xe2\x80\xae' "$out" && problem+=" a raw ESC or bidi (U+202E) character reaches the terminal;"
  awk -v s="$secs" -v w="$worst_s" 'BEGIN { exit !(s > w) }' && worst_s=$secs
  [ "${kb:-0}" -le "$worst_kb" ] || worst_kb=$kb
  if [ -n "$problem" ]; then
    fails=$((fails + 1))
    echo "FAIL $name ($what):$problem"
    head -c 2000 "$out" | sed 's/^/    /'
  else
    printf 'ok   %-28s %-7s exit %s %5ss %6s KB\n' "$name" "$what" "$code" "$secs" "$kb"
  fi
}

for d in "$CORPUS"/cases/*/; do
  d=${d%/}
  name=$(basename "$d")
  kind=$(cat "$d/kind") want=$(cat "$d/exit") pattern=$(cat "$d/pattern")
  envfile=""
  [ -f "$d/env" ] && envfile="$d/env"
  case $kind in
  zones)
    measure "$name" check "$want" "$pattern" "$envfile" -- "$BIN/zonewall" --config "$BIN/empty.yaml" check "$d/input"
    reload_pattern="^reload: refused, [0-9]+ errors, previous policy kept: true"
    [ "$want" = 0 ] && reload_pattern="^reload: accepted"
    ZW_HOSTILE_DIR="$d/input" measure "$name" reload 0 "$reload_pattern" "" -- \
      env ZW_HOSTILE_DIR="$d/input" "$BIN/daemon.test" -test.run '^TestHostileReload$' -test.count=1
    ;;
  test)
    measure "$name" test "$want" "$pattern" "$envfile" -- "$BIN/zonewall" --config "$BIN/empty.yaml" test --zones-dir "$CORPUS/good" "$d/input"
    ;;
  config)
    measure "$name" config "$want" "$pattern" "$envfile" -- "$BIN/zonewall" --config "$d/input" check "$CORPUS/good"
    ;;
  esac
done

echo "hostile corpus: $runs runs, $fails failed; slowest ${worst_s}s, largest peak RSS ${worst_kb} KB"
[ "$fails" = 0 ]

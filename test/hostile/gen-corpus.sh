#!/usr/bin/env bash
# Generates the hostile-input corpus into DIR (default /tmp/zwtest-h-corpus):
# one directory per case under DIR/cases, each with
#   kind      zones | test | config   (what the runner feeds it to)
#   exit      the exit code zonewall must give
#   pattern   an extended regex the output must match (file:line:col or key)
#   input     the zones directory, test file or config file
#   env       optional KEY=VALUE lines for the command's environment
# plus DIR/outside/secret.yaml, a file outside every zones directory that
# links point to: its content must never appear in any output.
# Nothing large is kept in git; everything here is made in a few seconds.
set -euo pipefail
OUT=${1:-/tmp/zwtest-h-corpus}
rm -rf "$OUT"
mkdir -p "$OUT/cases" "$OUT/outside" "$OUT/good"
SECRET="zwtest-h-SECRET-$RANDOM$RANDOM"
printf '%s\n' "$SECRET" >"$OUT/outside/secret.yaml"
printf 'root:%s:19000:0:99999:7:::\nexpect: %s\n' "$SECRET" "$SECRET" >"$OUT/outside/shadow"
echo "$SECRET" >"$OUT/secret"

GOOD_ZONES='zones:
  web:
    members: [{name: "web-*"}]
  api:
    members: [{name: "api-*"}]
flows:
  - {name: web-api, from: web, to: api, ports: [tcp/8080]}
'
printf '%s' "$GOOD_ZONES" >"$OUT/good/shop.yaml"

FILE='[^ ]+:[0-9]+:[0-9]+: '   # file:line:col: at the start of a message

# newcase NAME KIND EXIT PATTERN: makes the case directory, prints its path.
newcase() {
  local d="$OUT/cases/$1"
  mkdir -p "$d"
  echo "$2" >"$d/kind"
  echo "$3" >"$d/exit"
  printf '%s\n' "$4" >"$d/pattern"
  if [ "$2" = zones ]; then mkdir -p "$d/input"; fi
  echo "$d"
}

# aliasbomb WIDTH COUNT: one anchored port list of WIDTH, aliased COUNT times.
aliasbomb() {
  awk -v w="$1" -v n="$2" 'BEGIN {
    print "zones:\n  a:\n    members: [{name: a}]\nflows:"
    printf "  - {from: a, to: a, ports: &p ["
    for (i = 1; i <= w; i++) printf "%stcp/%d", (i > 1 ? ", " : ""), i
    print "]}"
    for (i = 0; i < n; i++) print "  - {from: a, to: a, ports: *p}"
  }'
}

nested_bomb='a: &a [x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: [*g, *g, *g, *g, *g, *g, *g, *g, *g]'

## Zone directories (check, and the daemon's reload).
d=$(newcase alias-bomb zones 1 "${FILE}alias \"\\*p\": aliases expand this file to more than 100000 values")
aliasbomb 2000 20000 >"$d/input/bomb.yaml"

d=$(newcase alias-bomb-nested zones 1 "${FILE}alias \"\\*[a-h]\": aliases expand")
printf '%s\n' "$nested_bomb" >"$d/input/bomb.yaml"

d=$(newcase alias-self zones 1 "$FILE")
printf 'zones: &z\n  a: *z\n' >"$d/input/a.yaml"

d=$(newcase fifo zones 1 "${FILE}is a named pipe \\(FIFO\\), not a regular file")
printf '%s' "$GOOD_ZONES" >"$d/input/10-shop.yaml"
mkfifo "$d/input/20-pipe.yaml"

d=$(newcase link-dev-zero zones 1 "${FILE}symbolic link that leads outside the zones directory")
ln -s /dev/zero "$d/input/zero.yaml"

d=$(newcase link-dev-random-rel zones 1 "${FILE}symbolic link that leads outside the zones directory")
ln -s ../../../../../../../../../dev/urandom "$d/input/random.yaml"

d=$(newcase link-secret-abs zones 1 "${FILE}symbolic link that leads outside the zones directory")
ln -s "$OUT/outside/secret.yaml" "$d/input/secret.yaml"

d=$(newcase link-secret-rel zones 1 "${FILE}symbolic link that leads outside the zones directory")
ln -s ../../../outside/secret.yaml "$d/input/secret.yaml"

d=$(newcase link-shadow zones 1 "${FILE}symbolic link that leads outside the zones directory")
ln -s "$OUT/outside/shadow" "$d/input/shadow.yaml"

d=$(newcase link-dir-outside zones 1 "${FILE}symbolic link that leads outside the zones directory")
mkdir -p "$d/input/sub"
ln -s ../../../../outside/secret.yaml "$d/input/sub/x"
ln -s sub/x "$d/input/via-sub.yaml"

d=$(newcase dir-is-fifo zones 1 "input: not a (directory|zone file)")
rmdir "$d/input" && mkfifo "$d/input"

d=$(newcase link-dangling zones 1 "${FILE}symbolic link to nothing")
ln -s gone.txt "$d/input/gone.yaml"

d=$(newcase link-loop zones 1 "${FILE}symbolic link loop")
ln -s loop.yaml "$d/input/loop.yaml"

d=$(newcase dir-named-yaml zones 1 "${FILE}is a directory, not a regular file")
mkdir "$d/input/shop.yaml"

d=$(newcase sparse-huge zones 1 "${FILE}larger than 1024 KiB")
truncate -s 8G "$d/input/huge.yaml"

d=$(newcase just-over-size zones 1 "${FILE}larger than 1024 KiB")
head -c 1048577 /dev/zero | tr '\0' '#' >"$d/input/big.yaml"

d=$(newcase dir-total-size zones 1 "${FILE}the zone files together exceed 16 MiB")
for i in $(seq -w 1 17); do
  { echo "# filler $i"; head -c 1040000 /dev/zero | tr '\0' '#'; echo; } >"$d/input/$i.yaml"
done

d=$(newcase too-many-files zones 1 "input: 1001 zone files; at most 1000 are read")
for i in $(seq 1 1001); do : >"$d/input/f$i.yaml"; done

d=$(newcase zones-253 zones 1 "${FILE}zone \"z253\" is zone number 253 of 253; a policy may have at most 252 zones")
awk 'BEGIN { print "zones:"; for (i = 1; i <= 253; i++) printf "  z%d:\n    members: [{name: c%d}]\n", i, i }' >"$d/input/zones.yaml"

d=$(newcase errors-capped zones 1 "${FILE}4000 more errors not shown")
{ printf '%s' "$GOOD_ZONES"; echo "  - from: web"; echo "    to: api"; echo "    ports:"
  for i in $(seq 1 5000); do echo "      - tcp/0"; done; } >"$d/input/shop.yaml"

d=$(newcase deep-nesting zones 1 "$FILE")
{ printf 'zones: '; head -c 20000 /dev/zero | tr '\0' '['; echo; } >"$d/input/deep.yaml"

d=$(newcase long-key zones 1 "${FILE}unknown key \\(not shown: [0-9]+ characters\\) in zone file")
{ head -c 1000 /dev/zero | tr '\0' 'k'; echo ": 1"; } >"$d/input/long.yaml"   # YAML keys end at 1024

d=$(newcase binary-garbage zones 1 "$FILE")
head -c 200000 /dev/urandom >"$d/input/garbage.yaml"

d=$(newcase secret-as-content zones 1 "${FILE}zone file: expected a mapping, got a string")
cp "$OUT/outside/secret.yaml" "$d/input/copied.yaml"

d=$(newcase control-chars-file-name zones 1 'evil\\x1b\[2J\\u202e\.yaml:1:1: unknown key "bogus"')
printf 'bogus: 1\n' >"$d/input/$(printf 'evil\033[2J\342\200\256.yaml')"

d=$(newcase bidi-flow-name zones 1 "${FILE}name: \"x\\\\u202e")
{ printf '%s' "$GOOD_ZONES"; printf '  - {name: "x\342\200\256evil", from: web, to: api}\n'; } >"$d/input/shop.yaml"

d=$(newcase quote-flow-name zones 1 "${FILE}name: .*use letters, digits")
{ printf '%s' "$GOOD_ZONES"; printf '  - {name: "a\\"}; drop", from: web, to: api}\n'; } >"$d/input/shop.yaml"

d=$(newcase two-documents zones 1 "${FILE}a zone file holds one YAML document")
printf '%s---\nversion: 2\n' "$GOOD_ZONES" >"$d/input/shop.yaml"

d=$(newcase valid-large zones 0 "1 files, 2 zones, 10000 flows: ok")
{ printf '%s' "$GOOD_ZONES"; for i in $(seq 2 10000); do echo "  - {from: web, to: api, ports: [tcp/$i]}"; done; } >"$d/input/shop.yaml"

d=$(newcase flow-rules-over zones 1 "${FILE}flow 10001: the flows so far make 10001 allow rules")
{ printf '%s' "$GOOD_ZONES"; for i in $(seq 2 10001); do echo "  - {from: web, to: api, ports: [tcp/$i]}"; done; } >"$d/input/shop.yaml"

d=$(newcase valid-hidden-and-lock-links zones 0 "1 files, 2 zones, 1 flows: ok")
printf '%s' "$GOOD_ZONES" >"$d/input/shop.yaml"
printf 'garbage: [' >"$d/input/.shop.yaml.swp"
ln -s "user@host.1234" "$d/input/.#shop.yaml"
printf 'not: yaml: [' >"$d/input/README.md"

## Policy test files (zonewall test, against $OUT/good).
d=$(newcase test-two-documents test 1 "${FILE}a test file holds one YAML document")
printf 'expect:\n  - "web -> api tcp/8080: allow"\n---\nexpect:\n  - "web -> api tcp/9: allow"\n' >"$d/input"

d=$(newcase test-fifo test 1 "input: cannot read: is a named pipe")
mkfifo "$d/input"

d=$(newcase test-dir-with-fifo test 1 "fifo.yaml: cannot read: is a named pipe")
mkdir "$d/input"
printf 'expect:\n  - "web -> api tcp/8080: allow"\n' >"$d/input/a.yaml"
mkfifo "$d/input/fifo.yaml"

d=$(newcase test-dev-zero test 1 "input: cannot read: is a device, not a regular file")
ln -s /dev/zero "$d/zero"
ln -s zero "$d/input"

d=$(newcase test-secret test 1 "${FILE}expected a mapping with \"expect:\"")
ln -s "$OUT/outside/secret.yaml" "$d/input"

d=$(newcase test-huge test 1 "input: cannot read: larger than 1024 KiB")
truncate -s 4G "$d/input"

d=$(newcase test-alias-bomb test 1 "$FILE")
printf '%s\nexpect: *g\n' "$(printf '%s\n' "$nested_bomb" | sed '$d')" >"$d/input"

d=$(newcase test-many-bad test 1 "${FILE}4000 more errors not shown")
{ echo "expect:"; for i in $(seq 1 5000); do echo '  - "web -> nowhere tcp/1: allow"'; done; } >"$d/input"

d=$(newcase test-control-chars test 1 "\\\\x1b\\]0;")
printf 'expect:\n  - "web\\e]0;owned\\a -> api tcp/1: allow"\n' >"$d/input"   # YAML escapes: ESC, BEL

## Configuration files (zonewall --config FILE check $OUT/good).
d=$(newcase config-unknown-key config 1 "${FILE}unknown key \"zones_dirr\" in configuration \\(did you mean \"zones_dir\"\\?\\)")
printf 'zones_dirr: /etc/zonewall/zones.d\n' >"$d/input"

d=$(newcase config-nflog-range config 1 "${FILE}nflog_group: 70000: netfilter log group out of range 1-65535")
printf 'nflog_group: 70000\n' >"$d/input"

d=$(newcase config-log-format config 1 "${FILE}log_format: \"xml\": want text or json")
printf 'log_format: xml\n' >"$d/input"

d=$(newcase config-fifo config 1 "input: is a named pipe \\(FIFO\\), not a regular file")
mkfifo "$d/input"

d=$(newcase config-dev-zero config 1 "input: is a device, not a regular file")
ln -s /dev/zero "$d/input"

d=$(newcase config-huge config 1 "input: larger than 64 KiB")
truncate -s 2G "$d/input"

d=$(newcase config-secret config 1 "${FILE}configuration: expected a mapping of keys")
ln -s "$OUT/outside/secret.yaml" "$d/input"

d=$(newcase config-shadow config 1 "$FILE")
ln -s "$OUT/outside/shadow" "$d/input"

d=$(newcase config-alias-bomb config 1 "${FILE}socket: expected a single value")
printf '%s\n' "$nested_bomb" | sed 's/^h:/socket:/' >"$d/input"

d=$(newcase config-env-range config 1 "environment ZONEWALL_NFLOG_GROUP: nflog_group: 70000: netfilter log group out of range")
: >"$d/input"
echo "ZONEWALL_NFLOG_GROUP=70000" >"$d/env"

d=$(newcase config-env-unknown config 1 "environment \"ZONEWALL_ZONES_DIRR\": unknown setting \\(did you mean \"ZONEWALL_ZONES_DIR\"\\?\\)")
: >"$d/input"
echo "ZONEWALL_ZONES_DIRR=/x" >"$d/env"

echo "corpus: $(ls "$OUT/cases" | wc -l) cases in $OUT/cases"

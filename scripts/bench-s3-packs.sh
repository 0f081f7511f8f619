#!/usr/bin/env bash
# Push and pull through troved with local storage and with packs and objects (recipes, trees) in S3
# (a SeaweedFS started here), in the same run: one large file, then FILES small files (one tree
# object, recipes as catalog rows); pulls again from S3 with empty local caches; times
# `troved migrate` of the local store to the bucket. Prints seconds, MiB/s (files/s) and the load
# average. Usage:
#   scripts/bench-s3-packs.sh [SIZE_MIB=256] [BIN_DIR=.build/debug] [FILES=2000]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
size="${1:-256}"; bin="${2:-$here/.build/debug}"; files="${3:-2000}"
weed="$here/.venv-weed/bin/weed"
[ -x "$weed" ] || { echo "no $weed: run scripts/setup-tests" >&2; exit 1; }
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$work"; }
trap cleanup EXIT
base=$((30000 + RANDOM % 20000)); s3port=$((base + 6))
cat >"$work/s3.json" <<JSON
{"identities":[{"name":"bench","credentials":[{"accessKey":"bench","secretKey":"benchsecret"}],"actions":["Admin","Read","Write","List"]}]}
JSON
mkdir -p "$work/weed"
"$weed" mini -dir="$work/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -admin.ui=false -master.telemetry=false \
  -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -bucket=bench -s3.config="$work/s3.json" \
  -master.port=$base -master.port.grpc=$((base+1)) -volume.port=$((base+2)) -volume.port.grpc=$((base+3)) \
  -filer.port=$((base+4)) -filer.port.grpc=$((base+5)) -s3.port=$s3port -s3.port.grpc=$((base+7)) \
  -admin.port=$((base+8)) -admin.port.grpc=$((base+9)) >"$work/weed.log" 2>&1 &
pids+=($!)
echo benchsecret >"$work/secret"
cat >"$work/s3.toml" <<TOML
[storage]
packs = "s3"
[storage.s3]
endpoint = "http://127.0.0.1:$s3port"
bucket = "bench"
access_key_id = "bench"
secret_access_key_file = "$work/secret"
TOML
: >"$work/local.toml"
chmod 600 "$work/local.toml" "$work/s3.toml" "$work/secret"
head -c $((size << 20)) /dev/urandom >"$work/data.bin"
mkdir -p "$work/src" && mv "$work/data.bin" "$work/src/"
mkdir -p "$work/many"
for i in $(seq 1 "$files"); do
  d="$work/many/d$((i % 20))"; mkdir -p "$d"; head -c $((1024 + i * 7 % 8192)) /dev/urandom >"$d/f$i"
done
sed -e 's/^bucket = .*/bucket = "bench"\nprefix = "migrated\/"/' "$work/s3.toml" >"$work/migrate.toml"
chmod 600 "$work/migrate.toml"

start_troved() { # name config: starts troved, exports TROVE_SERVER, sets TROVED_PID
  rm -f "$work/$1.port"
  "$bin/troved" --root "$work/$1" --config "$2" --listen 127.0.0.1:0 --port-file "$work/$1.port" >>"$work/$1.log" 2>&1 &
  TROVED_PID=$!; pids+=($TROVED_PID)
  for _ in $(seq 1 600); do [ -s "$work/$1.port" ] && break; sleep 0.1; done
  export TROVE_SERVER="$(cat "$work/$1.port")"
}
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
row() { printf "%-34s %7.2f s %8.1f MiB/s\n" "$1" "$2" "$(echo "$size / $2" | bc -l)"; }
frow() { printf "%-34s %7.2f s %8.0f files/s\n" "$1" "$2" "$(echo "$files / $2" | bc -l)"; }

for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$s3port/" && break; sleep 0.2; done
echo "file: $size MiB random (incompressible), $files small files; binaries: $bin; $(uptime | sed 's/.*load/load/')"
for mode in local s3; do
  start_troved "$mode" "$work/$mode.toml"
  row "$mode: push" "$(secs "$bin/trove" push "$work/src" bench/file:1)"
  row "$mode: pull (cached)" "$(secs "$bin/trove" pull bench/file:1 "$work/out-$mode-1")"
  cmp "$work/src/data.bin" "$work/out-$mode-1/data.bin"
  frow "$mode: push small files" "$(secs "$bin/trove" push "$work/many" bench/many:1)"
  frow "$mode: pull small files (cached)" "$(secs "$bin/trove" pull bench/many:1 "$work/many-$mode-1")"
  diff -r "$work/many" "$work/many-$mode-1" >/dev/null
  kill "$TROVED_PID"; wait "$TROVED_PID" 2>/dev/null || true
  if [ "$mode" = s3 ]; then
    echo "s3: $(find "$work/s3/packs" -name '*.pack' | wc -l) packs, $(find "$work/s3/objects" -type f | wc -l) objects cached locally"
    rm -rf "$work/s3/packs" "$work/s3/objects"
    start_troved s3 "$work/s3.toml"
    row "s3: pull (no local caches)" "$(secs "$bin/trove" pull bench/file:1 "$work/out-s3-2")"
    cmp "$work/src/data.bin" "$work/out-s3-2/data.bin"
    frow "s3: pull small files (no caches)" "$(secs "$bin/trove" pull bench/many:1 "$work/many-s3-2")"
    diff -r "$work/many" "$work/many-s3-2" >/dev/null
    kill "$TROVED_PID"; wait "$TROVED_PID" 2>/dev/null || true
  else
    row "local → s3: troved migrate" "$(secs "$bin/troved" migrate --root "$work/local" --config "$work/migrate.toml")"
    row "local → s3: migrate again" "$(secs "$bin/troved" migrate --root "$work/local" --config "$work/migrate.toml")"
  fi
done
echo "after: $(uptime | sed 's/.*load/load/')"

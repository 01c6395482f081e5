#!/usr/bin/env bash
# The desktop app's footprint (issue 6): the barista screen with 50 open
# orders, under Xvfb. Prints the time from launch to the first painted
# screen and the resident memory (RSS) of the whole process tree: the app,
# WebKitWebProcess and WebKitNetworkProcess.
#
# Needs release builds of the hub and the app, and ui/dist (the app embeds it):
#   (cd ui && npm ci && npx vite build)
#   cargo build --release -p countertop-hub -p countertop-app
# and the packages xvfb xauth dbus imagemagick curl.
#
# Usage: bench/app-footprint.sh [runs]     (default 3)
# Environment:
#   CARGO_TARGET_DIR   where the release binaries are (default ./target)
#   HUB_BIN, APP_BIN   the binaries themselves, if elsewhere
#   APP_ENV            extra VAR=value settings for the app, e.g.
#                      APP_ENV="WEBKIT_DISABLE_COMPOSITING_MODE=0" (compositing on)
#   SMAPS=1            also list each process's largest mappings
#
# First paint: each window tells the app when its first screen with data
# is on the glass (the second animation frame after the render, when the
# first has been drawn), and the app logs it; the time is that log line's
# timestamp minus the launch. A screen grab right after checks that the
# board is really drawn (at least 64 distinct colours, which text and
# buttons give and a bare window does not). Polling the log costs next to
# nothing; grabbing the screen in a loop, as an earlier version of this
# script did, took CPU from the app it timed. RSS is read from /proc 3 s
# after the first paint (or after 20 s without one), when the board has
# settled, and split into pages of system libraries (WebKitGTK, Mesa, GTK,
# each mapped into every process of the tree) and the rest (heaps, the
# app's own code).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}/release"
hub_bin="${HUB_BIN:-$target/countertop-hub}"
app_bin="${APP_BIN:-$target/countertop}"
runs="${1:-3}"
orders=50

for f in "$hub_bin" "$app_bin"; do
  [ -x "$f" ] || { echo "missing $f (see the top of $0)" >&2; exit 1; }
done
for c in xvfb-run dbus-run-session import convert curl; do
  command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 1; }
done

work="$(mktemp -d -t countertop-footprint-XXXXXX)"
hub_pid=""
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The hub, with 50 open orders posted by a manager device.
"$hub_bin" serve --listen 127.0.0.1:0 --data "$work/hub" >"$work/hub.out" 2>"$work/hub.log" &
hub_pid=$!
for _ in $(seq 1 300); do
  grep -q '^listening on' "$work/hub.out" 2>/dev/null && break
  kill -0 "$hub_pid" 2>/dev/null || { cat "$work/hub.log" >&2; exit 1; }
  sleep 0.1
done
addr="$(sed -n 's/^listening on //p' "$work/hub.out" | head -1)"
[ -n "$addr" ] || { echo "the hub did not start" >&2; exit 1; }
hub="http://$addr"

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
pair() {
  local code
  code="$("$hub_bin" pairing-code --role "$1" --data "$work/hub" | json_field code)"
  curl -sf -X POST "$hub/api/devices/pair" -H 'content-type: application/json' \
    -d "{\"code\":\"$code\"}" | json_field token
}
manager="$(pair manager)"
for i in $(seq 1 "$orders"); do
  curl -sf -o /dev/null -X POST "$hub/api/orders" -H "authorization: Bearer $manager" \
    -H 'content-type: application/json' \
    -d "{\"idempotencyKey\":\"footprint-$i\",\"items\":[{\"menuId\":\"americano\",\"quantity\":1}],\"payType\":\"CARD\"}"
done
echo "hub $hub: $orders open orders" >&2

# One run inside Xvfb and a private D-Bus session: launch, wait for the logged first paint,
# then sum RSS over the app's process tree.
cat >"$work/run.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
app_bin="$1"; hub="$2"; code="$3"; data="$4"; shot="$5"
# Prints "RSS PSS" in KiB summed over the tree: RSS counts the pages the
# processes share (the WebKit library, fonts) once per process, PSS splits them.
tree_pids() {
  local pids=("$1") i=0
  while [ "$i" -lt "${#pids[@]}" ]; do
    for c in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do pids+=("$c"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}
tree_kib() {
  local rss=0 pss=0 p r q
  for p in $(tree_pids "$1"); do
    r="$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null || true)"
    q="$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || true)"
    rss=$((rss + ${r:-0})); pss=$((pss + ${q:-0}))
    printf '%s %s rss %s pss %s KiB\n' "$p" "$(cat /proc/"$p"/comm 2>/dev/null)" "${r:-0}" "${q:-0}" >&2
  done
  echo "$rss $pss"
}
colours() { import -silent -window root png:- 2>/dev/null | convert png:- -format %k info: 2>/dev/null || echo 0; }
now() { date +%s.%N; }
start="$(now)"
# shellcheck disable=SC2086
env ${APP_ENV:-} "$app_bin" --hub "$hub" --pair "$code" --data "$data" >"$data.out" 2>&1 &
app=$!
painted=""
while [ -z "$painted" ]; do
  line="$(grep -h 'first screen painted' "$data"/logs/*.log 2>/dev/null | head -1 || true)"
  if [ -n "$line" ]; then painted="$(date -d "${line%% *}" +%s.%N)"; break; fi
  kill -0 "$app" 2>/dev/null || { echo "the app exited" >&2; cat "$data.out" >&2; exit 1; }
  if awk -v a="$(now)" -v b="$start" 'BEGIN{exit !(a-b>20)}'; then break; fi
  sleep 0.02
done
drawn="$(colours)"
sleep 3
read -r rss pss <<<"$(tree_kib "$app")"
# System libraries against the rest, over the whole tree.
split="$(for p in $(tree_pids "$app"); do cat /proc/"$p"/smaps 2>/dev/null; done |
  awk '/^[0-9a-f]+-[0-9a-f]+ / {lib = ($6 ~ /^\/(usr\/)?lib/)} /^Rss:/ {if (lib) l += $2; else o += $2}
       END {printf "%.1f %.1f", l / 1024, o / 1024}')"
if [ -n "${SMAPS:-}" ]; then
  for p in $(tree_pids "$app"); do
    echo "largest mappings of $p $(cat /proc/"$p"/comm):" >&2
    awk '/^[0-9a-f]+-[0-9a-f]+ / {name=$6} /^Rss:/ {rss[name]+=$2} END {for (n in rss) print rss[n], n}' /proc/"$p"/smaps | sort -rn | head -12 >&2 || true
  done
fi
import -silent -window root "$shot" 2>/dev/null || true
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
read -r libs rest <<<"$split"
if [ -n "$painted" ]; then
  awk -v s="$start" -v t="$painted" -v r="$rss" -v q="$pss" -v c="$drawn" -v l="$libs" -v o="$rest" \
    'BEGIN { printf "first paint %.2f s (screen then: %d colours) | tree RSS %.1f MiB (system libraries %.1f, the rest %.1f), PSS %.1f MiB\n", t - s, c, r / 1024, l, o, q / 1024 }'
else
  awk -v r="$rss" -v q="$pss" 'BEGIN { printf "first paint NOT LOGGED within 20 s | tree RSS %.1f MiB, PSS %.1f MiB\n", r / 1024, q / 1024 }'
fi
EOF
chmod +x "$work/run.sh"

# One cache folder for all runs, with fontconfig's cache built first: a
# fresh one costs seconds of font scanning that a desktop has done long ago.
mkdir -p "$work/cache"
XDG_CACHE_HOME="$work/cache" fc-list >/dev/null 2>&1 || true

for run in $(seq 1 "$runs"); do
  code="$("$hub_bin" pairing-code --role barista --data "$work/hub" | json_field code)"
  x="$work/x$run"
  mkdir -p "$x/data" "$x/config" "$x/runtime"
  chmod 700 "$x/runtime"
  XDG_DATA_HOME="$x/data" XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$x/config" \
    XDG_RUNTIME_DIR="$x/runtime" APP_ENV="${APP_ENV:-}" \
    dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" \
    "$work/run.sh" "$app_bin" "$hub" "$code" "$x/app" "$work/shot$run.png" 2>"$work/run$run.err" \
    || { cat "$work/run$run.err" >&2; exit 1; }
  [ "$run" = 1 ] && [ -n "${SHOT:-}" ] && cp "$work/shot1.png" "$SHOT"
  [ -n "${VERBOSE:-}" ] && cat "$work/run$run.err" >&2
done

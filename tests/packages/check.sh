#!/usr/bin/env bash
# Checks the two Debian packages `./dev.sh package` made, as a café would
# get them: their contents, lintian, the hub's systemd unit (verify and
# security score), then a clean root of this machine's Debian release
# (mmdebstrap) where both are installed with apt from the registry, the hub
# answers /healthz as its service user with its defaults file, the app
# paints its first screen under Xvfb (screenshot), and both are purged
# leaving nothing but the hub's data (and that too with
# COUNTERTOP_PURGE_DATA=yes).
#
#   tests/packages/check.sh [DIR]     DIR: where the .deb files are (target/packages)
#
# Run as root (mmdebstrap, chroot, mounts). Every step prints its seconds.
# The clean root's base (mmdebstrap --variant=apt, nothing of ours in it) is
# kept as a tarball in target/packages-check/ and made by this script when
# missing; its name carries a hash of the apt sources and the mmdebstrap
# options, so a change of either makes a new one. Everything the packages
# need is installed from the registry on every run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DIR=${1:-target/packages}
DIR=$(cd "$DIR" && pwd)
WORK="$ROOT/target/packages-check"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() {
  printf '\033[1;31mpackage check FAILED: %s\033[0m\n' "$*" >&2
  exit 1
}

# step NAME COMMAND...: runs it, prints its seconds; a failure names the step.
TIMES=()
step() {
  local name=$1 start rc=0
  shift
  say "package check: $name"
  start=$(date +%s%N)
  # In a subshell of its own, where `set -e` holds (it does not in a
  # function called as `f || …`); what a step leaves for later is in files.
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  local tenths secs
  tenths=$(( ($(date +%s%N) - start) / 100000000 ))
  secs="$((tenths / 10)).$((tenths % 10))"
  TIMES+=("$(printf '%6ss  %s' "$secs" "$name")")
  printf '    (%s s)\n' "$secs" >&2
  [ $rc -eq 0 ] || fail "$name (status $rc)"
}

[ "$(id -u)" -eq 0 ] || fail "run as root (mmdebstrap, chroot and mounts need it)"
for tool in dpkg-deb lintian mmdebstrap systemd-analyze Xvfb import curl python3 unshare; do
  command -v "$tool" >/dev/null || fail "$tool is missing (./dev.sh setup installs it)"
done

APP_DEB=$(ls "$DIR"/countertop_*.deb 2>/dev/null | head -n 1)
HUB_DEB=$(ls "$DIR"/countertop-hub_*.deb 2>/dev/null | head -n 1)
[ -n "$APP_DEB" ] || fail "no countertop_*.deb in $DIR (./dev.sh package)"
[ -n "$HUB_DEB" ] || fail "no countertop-hub_*.deb in $DIR (./dev.sh package)"
mkdir -p "$WORK"

# --- contents -------------------------------------------------------------

# has DEB PATTERN...: each (an extended regex, anchored) is a path in DEB.
has() {
  local deb=$1 listing
  shift
  listing=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's#^\./##')
  for path in "$@"; do
    grep -Eqx "$path" <<<"$listing" || { echo "$(basename "$deb") lacks $path" >&2; return 1; }
  done
}

contents() {
  for deb in "$HUB_DEB" "$APP_DEB"; do
    echo "--- $(basename "$deb")"
    dpkg-deb --info "$deb"
    dpkg-deb --contents "$deb"
  done
  has "$HUB_DEB" \
    'usr/bin/countertop-hub' \
    '(usr/)?lib/systemd/system/countertop-hub.service' \
    'etc/default/countertop-hub' \
    'usr/share/doc/countertop-hub/copyright' \
    'usr/share/doc/countertop-hub/README.Debian'
  dpkg-deb --info "$HUB_DEB" conffiles | grep -qx '/etc/default/countertop-hub' \
    || { echo "/etc/default/countertop-hub is not a conffile" >&2; return 1; }
  local icons=()
  for size in 16x16 32x32 48x48 64x64 128x128 '256x256(@2)?' 512x512; do
    icons+=("usr/share/icons/hicolor/$size/apps/countertop.png")
  done
  has "$APP_DEB" \
    'usr/bin/countertop' \
    'usr/share/applications/Countertop.desktop' \
    'usr/share/doc/countertop/copyright' \
    "${icons[@]}"
  local desktop
  desktop=$(dpkg-deb --fsys-tarfile "$APP_DEB" | tar -xO --wildcards '*usr/share/applications/Countertop.desktop')
  echo "--- Countertop.desktop"
  echo "$desktop"
  for key in 'Name=Countertop' 'Exec=countertop' 'Icon=countertop' 'Type=Application' 'Categories=.+' 'Comment=.+'; do
    grep -Eqx "$key" <<<"$desktop" || { echo "the .desktop entry lacks $key" >&2; return 1; }
  done
  # What the app's binary needs at run time is in its Depends.
  local depends
  depends=$(dpkg-deb --field "$APP_DEB" Depends)
  for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1; do
    grep -q "$dep" <<<"$depends" || { echo "the app's Depends lacks $dep" >&2; return 1; }
  done
}

# --- lintian --------------------------------------------------------------

# Errors fail; overrides live in the packages, each with its reason.
lint() {
  lintian --fail-on error --display-info --tag-display-limit 0 "$HUB_DEB" "$APP_DEB"
}

# --- the unit ---------------------------------------------------------------

UNIT_ROOT="$WORK/unit-root"
unit_checks() {
  rm -rf "$UNIT_ROOT"
  mkdir -p "$UNIT_ROOT"
  dpkg-deb -x "$HUB_DEB" "$UNIT_ROOT"
  local unit
  unit=$(find "$UNIT_ROOT" -path '*/systemd/system/countertop-hub.service' | head -n 1)
  # verify looks the ExecStart binary up on this machine's root.
  install -m 755 "$UNIT_ROOT/usr/bin/countertop-hub" /usr/bin/countertop-hub.package-check
  local rc=0
  sed 's#/usr/bin/countertop-hub #/usr/bin/countertop-hub.package-check #' "$unit" >"$WORK/countertop-hub.service"
  SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$WORK/countertop-hub.service" 2>&1 \
    | tee "$WORK/verify.log" || rc=$?
  rm -f /usr/bin/countertop-hub.package-check
  [ $rc -eq 0 ] || return $rc
  # Anything verify says about our unit is a failure (it exits 0 on some).
  if grep -i 'countertop-hub.service' "$WORK/verify.log" >&2; then
    echo "systemd-analyze verify complains about the unit" >&2
    return 1
  fi
  systemd-analyze security --offline=yes --no-pager "$unit" | tee "$WORK/security.txt"
  grep -q 'Overall exposure level for countertop-hub.service' "$WORK/security.txt" \
    || { echo "no exposure score" >&2; return 1; }
}

# --- a clean root -------------------------------------------------------------

# This machine's Debian sources (deb822), registry only.
SOURCES=/etc/apt/sources.list.d/debian.sources
SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
MMDEBSTRAP_OPTS=(--variant=apt --include=ca-certificates,procps --aptopt='Acquire::Retries "3"')
BASE="$WORK/base-$SUITE-$(cat "$SOURCES" <(echo "$SUITE ${MMDEBSTRAP_OPTS[*]}") | sha256sum | cut -c1-12).tar"
base_tarball() {
  if [ -f "$BASE" ]; then
    echo "base root: $BASE (made earlier by this script)"
    return 0
  fi
  rm -f "$WORK"/base-*.tar
  rm -rf "$BASE.part"
  mmdebstrap --quiet --format=tar "${MMDEBSTRAP_OPTS[@]}" "$SUITE" "$BASE.part" - <"$SOURCES"
  mv "$BASE.part" "$BASE"
}

CHROOT="$WORK/root"
unpack_root() {
  rm -rf "$CHROOT"
  mkdir -p "$CHROOT"
  tar -C "$CHROOT" -xf "$BASE"
  cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
  mkdir -p "$CHROOT/debs"
  cp "$HUB_DEB" "$APP_DEB" "$CHROOT/debs/"
}

# in_root SCRIPT: runs bash SCRIPT inside the clean root, in a mount
# namespace of its own (/proc, /sys, /dev, /dev/pts, /dev/shm and the X
# socket folder mounted there), so no mount outlives it, whatever happens.
in_root() {
  unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1; script=$2
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/tmp/.X11-unix"
    mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive ${DISPLAY:+DISPLAY=$DISPLAY} \
      ${PURGE:+COUNTERTOP_PURGE_DATA=$PURGE} ${HUB_PORT:+HUB_PORT=$HUB_PORT} \
      ${APP_PORT:+APP_PORT=$APP_PORT} ${RECOMMENDS:+RECOMMENDS="$RECOMMENDS"} bash -euo pipefail -c "$script"
  ' in_root "$CHROOT" "$1"
}

install_packages() {
  # The app's Recommends too (fonts-noto-cjk: the Korean screens), as a
  # plain `apt install` would; not every Recommends of their dependencies.
  RECOMMENDS=$(dpkg-deb -f "$APP_DEB" Recommends | tr -d ' ' | tr ',' ' ')
  export RECOMMENDS
  in_root '
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ./debs/countertop-hub_*.deb ./debs/countertop_*.deb $RECOMMENDS >/tmp/apt.log 2>&1 \
      || { tail -n 40 /tmp/apt.log; exit 1; }
    grep -E "^(Setting up|Unpacking) countertop" /tmp/apt.log || true
    dpkg -s countertop countertop-hub | grep -E "^(Package|Status|Version):"
    getent passwd countertop-hub
  '
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 deadline=$(( $(date +%s) + $2 ))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "no $what within the deadline" >&2; return 1; }
    sleep 0.2
  done
}

# The hub from the package, started as its unit starts it: its user, its
# data folder (what StateDirectory= makes), its defaults file, its ExecStart.
hub_runs() {
  HUB_PORT=$(free_port)
  export HUB_PORT
  in_root '
    install -d -o countertop-hub -g countertop-hub -m 700 /var/lib/countertop
    unit=$(ls /usr/lib/systemd/system/countertop-hub.service /lib/systemd/system/countertop-hub.service 2>/dev/null | head -n 1)
    exec_start=$(sed -n "s/^ExecStart=//p" "$unit")
    echo "ExecStart: $exec_start"
    set -a; . /etc/default/countertop-hub; set +a
    export COUNTERTOP_LISTEN=127.0.0.1:$HUB_PORT
    cd /
    setsid runuser -u countertop-hub -- sh -c "umask 0077; exec $exec_start" >/tmp/hub.out 2>/tmp/hub.err </dev/null &
  ' || return 1
  local ok=0
  wait_for "/healthz from the packaged hub on 127.0.0.1:$HUB_PORT" 30 \
    curl -fsS "http://127.0.0.1:$HUB_PORT/healthz" || ok=1
  if [ $ok -eq 0 ]; then
    curl -fsS "http://127.0.0.1:$HUB_PORT/healthz"
    echo
  fi
  in_root '
    echo "--- hub stderr"; cat /tmp/hub.err
    ps -o user=,args= -p "$(pgrep -u countertop-hub countertop-hub | head -n1)" || true
    pkill -TERM -u countertop-hub -x countertop-hub || true
    for _ in $(seq 1 100); do pgrep -u countertop-hub -x countertop-hub >/dev/null || break; sleep 0.1; done
    ! pgrep -u countertop-hub -x countertop-hub
    ls -la /var/lib/countertop
    test -s /var/lib/countertop/hub.db
    test "$(stat -c %U /var/lib/countertop/hub.db)" = countertop-hub
    # The colours of a terminal stay out of the journal.
    ! grep -q "$(printf "\033")\[" /tmp/hub.err
  ' || ok=1
  return $ok
}

# The installed app under Xvfb, hosting a kiosk: waits for its log's
# "first screen painted" and takes a screenshot.
app_paints() {
  APP_PORT=$(free_port)
  export APP_PORT
  local display=99
  while [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
  Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
  local xvfb=$!
  local ok=0
  wait_for "Xvfb on :$display" 10 test -S "/tmp/.X11-unix/X$display" || ok=1
  export DISPLAY=":$display"
  if [ $ok -eq 0 ]; then
    in_root '
      mkdir -p /tmp/xdg/data /tmp/xdg/cache /tmp/xdg/config /tmp/xdg/runtime
      chmod 700 /tmp/xdg/runtime
      cd /tmp
      XDG_DATA_HOME=/tmp/xdg/data XDG_CACHE_HOME=/tmp/xdg/cache XDG_CONFIG_HOME=/tmp/xdg/config \
        XDG_RUNTIME_DIR=/tmp/xdg/runtime setsid /usr/bin/countertop --host --role kiosk \
        --port "$APP_PORT" --data /tmp/app >/tmp/app.out 2>&1 </dev/null &
    ' || ok=1
    wait_for "\"first screen painted\" in the app's log" 60 \
      bash -c "grep -qs 'first screen painted' '$CHROOT'/tmp/app/logs/countertop*.log" || ok=1
    grep -hs 'first screen painted' "$CHROOT"/tmp/app/logs/countertop*.log || true
    if [ $ok -eq 0 ]; then
      mkdir -p docs/screenshots
      import -display ":$display" -window root docs/screenshots/package-first-screen.png || ok=1
      echo "screenshot: docs/screenshots/package-first-screen.png"
    else
      echo "--- app output"
      tail -n 60 "$CHROOT/tmp/app.out" || true
    fi
    in_root '
      pkill -TERM -x countertop || true
      for _ in $(seq 1 100); do pgrep -x countertop >/dev/null || break; sleep 0.1; done
      pkill -KILL -f "^/usr/lib/.*/webkit2gtk-4.1/" || true
      pkill -KILL -x countertop || true
    ' || true
  fi
  kill "$xvfb" 2>/dev/null || true
  wait "$xvfb" 2>/dev/null || true
  return $ok
}

# Purged, nothing of theirs stays but the hub's data (and its user, by
# design); then the data too, with COUNTERTOP_PURGE_DATA=yes.
purge_clean() {
  local listing
  # Their files and links (folders such as /usr/share/doc are shared).
  listing=$( (dpkg-deb --contents "$HUB_DEB"; dpkg-deb --contents "$APP_DEB") | awk '$1 !~ /^d/ {print $6}' \
    | sed 's#^\.\{0,1\}/\{0,1\}#/#')
  printf '%s\n' "$listing" >"$CHROOT/tmp/package-files"
  in_root '
    apt-get purge -y -qq countertop countertop-hub 2>&1 | tr "\r" "\n" | grep -Ev "Reading database|^$" || true
    ! dpkg -l countertop countertop-hub 2>/dev/null | grep -E "^(ii|rc)"
    left=0
    while read -r f; do
      if [ -e "$f" ] || [ -L "$f" ]; then echo "left behind: $f"; left=1; fi
    done </tmp/package-files
    for f in /etc/default/countertop-hub /etc/systemd/system/multi-user.target.wants/countertop-hub.service \
      /var/lib/systemd/deb-systemd-helper-enabled/countertop-hub.service.dsh-also \
      /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/countertop-hub.service; do
      if [ -e "$f" ] || [ -L "$f" ]; then echo "left behind: $f"; left=1; fi
    done
    others=$(grep -rlI countertop /etc /var /usr /opt 2>/dev/null \
      | grep -Ev "^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^/var/lib/countertop(/|$)|^/var/lib/dpkg/|^/var/cache/|^/var/log/|^/var/lib/apt/" || true)
    if [ -n "$others" ]; then echo "left behind, mentioning countertop:"; echo "$others"; left=1; fi
    [ $left -eq 0 ]
    test -s /var/lib/countertop/hub.db || { echo "purge without COUNTERTOP_PURGE_DATA removed the data"; exit 1; }
    echo "kept: /var/lib/countertop ($(ls /var/lib/countertop | tr "\n" " "))"
  '
  PURGE=yes in_root '
    apt-get install -y -qq --no-install-recommends ./debs/countertop-hub_*.deb >/dev/null 2>&1
    test -s /var/lib/countertop/hub.db
    apt-get purge -y -qq countertop-hub >/dev/null 2>&1
    ! test -e /var/lib/countertop || { echo "COUNTERTOP_PURGE_DATA=yes left /var/lib/countertop"; exit 1; }
    echo "purged with COUNTERTOP_PURGE_DATA=yes: /var/lib/countertop is gone"
  '
}

cleanup() {
  rm -rf "$CHROOT" "$UNIT_ROOT"
}
trap cleanup EXIT

total=$(date +%s)
step "dpkg-deb --info/--contents" contents
step "lintian" lint
step "systemd-analyze verify and security" unit_checks
step "clean root: base (mmdebstrap $SUITE, cached tarball)" base_tarball
step "clean root: unpack" unpack_root
step "clean root: apt-get install both packages" install_packages
step "clean root: the hub answers /healthz as its user" hub_runs
step "clean root: the app paints its first screen under Xvfb" app_paints
step "clean root: purge leaves only the data (and COUNTERTOP_PURGE_DATA=yes)" purge_clean
say "package check passed in $(( $(date +%s) - total )) s; hub unit: $(grep -o 'Overall exposure level.*' "$WORK/security.txt")"
printf '%s\n' "${TIMES[@]}" >&2

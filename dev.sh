#!/usr/bin/env bash
# Countertop developer entry point. Two commands a newcomer types:
#   ./dev.sh run    set everything up, then run Countertop with demo data
#   ./dev.sh test   set everything up, then run every check and test
# `./dev.sh hub` runs the hub alone (no window), as the README's walk-through uses.
# `./dev.sh package` builds the Debian packages (target/packages/).
# `./dev.sh setup` only installs what is missing. Safe to run again: each
# step checks first and does nothing when its work is already done.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# System packages: building (C toolchain, ALSA and D-Bus headers, the
# WebKitGTK stack of the Tauri app) and the tools the tests run real
# backends with (private D-Bus, kernel keyring, Xvfb, WebKitWebDriver,
# headless Chromium for the seeds' client code and the hub's pages, a
# PostgreSQL server for the hub's tests on PostgreSQL).
APT_PACKAGES=(
  build-essential pkg-config curl ca-certificates
  libasound2-dev libdbus-1-dev libssl-dev
  libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev libgtk-3-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  dbus dbus-x11 keyutils
  xvfb xauth webkit2gtk-driver imagemagick fonts-noto-cjk strace
  tcpdump  # crates/client/tests/capture.rs: a capture on lo shows no secret in clear
  chromium chromium-driver
  python3 python3-venv
  python3-xlib  # tests/kiosk_lock.rs: a window's size and hints, and a real close request (WM_DELETE_WINDOW)
  postgresql  # with_postgres: a throw-away cluster for the tests, never the package's own
  mmdebstrap lintian  # tests/packages/check.sh: a clean root to install the .deb files in, and lint them
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

setup_system() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
      say "Missing system packages (${missing[*]}) and no apt-get: install them with your package manager."
      exit 1
    fi
    say "Installing system packages: ${missing[*]}"
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
      no_main_cluster
    fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Debian's postgresql package creates and starts a "main" cluster when it is
# installed; the tests start their own (with_postgres) and want none running.
# Said before the install, in the file the package reads (and keeps: ucf
# leaves a file that is already there).
no_main_cluster() {
  local conf=/etc/postgresql-common/createcluster.conf
  as_root mkdir -p "$(dirname "$conf")"
  if [ -f "$conf" ] && grep -q '^[#[:space:]]*create_main_cluster' "$conf"; then
    as_root sed -i 's/^[#[:space:]]*create_main_cluster.*/create_main_cluster = false/' "$conf"
  else
    echo 'create_main_cluster = false' | as_root tee -a "$conf" >/dev/null
  fi
}

setup_rust() {
  if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      say "Installing Rust with rustup (https://rustup.rs)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt 2>/dev/null || true
}

setup_node() {
  if ! command -v npm >/dev/null; then
    say "Installing Node.js and npm (the UI is built with Vite)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
}

# tauri-driver bridges WebDriver to the app's WebKitWebDriver (end-to-end tests).
setup_tauri_driver() {
  if ! cargo install --list | grep -q '^tauri-driver v2\.'; then
    say "Installing tauri-driver 2"
    cargo install tauri-driver --version '^2' --locked
  fi
}

# cargo-deb packs the hub's .deb (crates/hub/Cargo.toml, [package.metadata.deb]).
setup_cargo_deb() {
  if ! cargo install --list | grep -q '^cargo-deb v'; then
    say "Installing cargo-deb"
    cargo install cargo-deb --locked
  fi
}

# Both Debian packages, release builds, into target/packages/: the app by
# Tauri's bundler (the Tauri CLI from ui/node_modules, npm), the hub by
# cargo-deb. The UI is built first (build_ui); the bundler does not build it.
PACKAGES_DIR=target/packages

# Each package's Debian changelog (lintian wants one), with the workspace's
# version and the last commit's date: what changed for users is CHANGELOG.md.
debian_changelogs() {
  local version date
  version=$(cargo metadata --no-deps --format-version 1 --locked \
    | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "countertop-hub"))')
  date=$(git log -1 --format=%cD 2>/dev/null || date -R)
  mkdir -p target/packaging
  local package deb_version
  for package in countertop countertop-hub; do
    deb_version=$version
    [ "$package" = countertop-hub ] && deb_version="$version-1"  # cargo-deb's revision
    printf '%s (%s) stable; urgency=medium\n\n  * Countertop %s: see CHANGELOG.md for what changed.\n\n -- %s  %s\n' \
      "$package" "$deb_version" "$version" "Countertop maintainers <maintainers@countertop.invalid>" "$date" \
      >"target/packaging/$package.changelog"
  done
  gzip -9nf -k target/packaging/countertop.changelog
}

# The app binary's shared-library dependencies as a JSON list.
app_depends() {
  local dir
  dir=$(mktemp -d)
  mkdir -p "$dir/debian"
  printf 'Source: countertop\n\nPackage: countertop\nArchitecture: any\n' >"$dir/debian/control"
  (cd "$dir" && dpkg-shlibdeps -O "$ROOT/target/release/countertop" 2>/dev/null) \
    | sed -n 's/^shlibs:Depends=//p' \
    | python3 -c 'import json, sys; print(json.dumps([d.strip() for d in sys.stdin.read().split(",") if d.strip()]))'
  rm -rf "$dir"
}

build_packages() {
  build_ui
  setup_cargo_deb
  rm -rf "$PACKAGES_DIR"
  mkdir -p "$PACKAGES_DIR"
  debian_changelogs
  say "Packages: the app (tauri build, release; stripped; tauri bundle --bundles deb)"
  rm -rf target/release/bundle/deb
  # Both binaries in one cargo build, as `tauri build` builds the app
  # (`--bins --features tauri/custom-protocol`, which then finds it done):
  # the hub's crates are built once, with the features the app needs too
  # (built alone, `cargo deb` would resolve fewer features and build the
  # hub's tree a second time: about 6 minutes).
  (cd src-tauri && cargo build --release --locked --bins --features tauri/custom-protocol \
    -p countertop-app -p countertop-hub)
  (cd src-tauri && ../ui/node_modules/.bin/tauri build --ci --no-bundle)
  strip --strip-unneeded --remove-section=.comment target/release/countertop
  # Depends: what the binary links (dpkg-shlibdeps), beside what Tauri's
  # bundler adds itself (webkit2gtk 4.1, GTK 3, and the ayatana
  # appindicator the tray icon opens at run time).
  local depends
  depends=$(app_depends) || return 1
  (cd src-tauri && ../ui/node_modules/.bin/tauri bundle --ci --bundles deb \
    --config "{\"bundle\":{\"linux\":{\"deb\":{\"depends\":$depends}}}}")
  local deb
  for deb in target/release/bundle/deb/*.deb; do
    # Debian's file name: package_version_architecture.deb
    cp "$deb" "$PACKAGES_DIR/$(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version)_$(dpkg-deb -f "$deb" Architecture).deb"
  done
  say "Packages: the hub (cargo deb, release)"
  cargo deb --locked --no-build --strip -p countertop-hub --output "$PACKAGES_DIR/"
  say "Packages in $PACKAGES_DIR:"
  ls -1 "$ROOT/$PACKAGES_DIR"/*.deb
}

setup() {
  setup_system
  setup_rust
  setup_node
}

# The app embeds ui/dist, so the UI is built (and type-checked) before any
# cargo build or clippy of the workspace. (ui/package.json overrides rollup
# with its WebAssembly build: some npm mirrors lack rollup's per-platform
# packages, which leaves `npm ci` with a lock file it calls out of sync.)
build_ui() {
  say "UI: npm ci, type check (tsc --noEmit) and build (ui/dist)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npx vite build --logLevel warn)
}

# The browser tests' driver (tests/browser: puppeteer-core, socket.io-client,
# typescript), which runs the seeds' client code and the hub's pages in
# headless Chromium (tests/seeds.rs, tests/pages.rs).
setup_browser_tests() {
  say "Browser tests: npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
}

# Every test's session: the app's window under a virtual display, a private
# D-Bus (notifications, Secret Service), a fresh kernel session keyring, and
# fresh XDG folders so WebKit leaves nothing behind in the user's home.
with_desktop() {
  local xdg
  xdg=$(mktemp -d)
  mkdir -p "$xdg"/{data,cache,config,runtime}
  chmod 700 "$xdg/runtime"
  local rc=0
  XDG_DATA_HOME="$xdg/data" XDG_CACHE_HOME="$xdg/cache" XDG_CONFIG_HOME="$xdg/config" \
    XDG_RUNTIME_DIR="$xdg/runtime" \
    keyctl session - dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" "$@" || rc=$?
  rm -rf "$xdg"
  return $rc
}

# A throw-away PostgreSQL for the tests: a cluster in a temporary folder,
# made and run by initdb/pg_ctl (as the postgres user when run as root: the
# server refuses root), on a free port of 127.0.0.1 with a random password,
# fsync off (nothing in it outlives the run). Runs "$@" (a command or a
# function of this file) with COUNTERTOP_TEST_POSTGRES set to a URL where
# tests may create databases, then stops the cluster and removes the folder,
# whatever the outcome; answers the command's status.
with_postgres() {
  (
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
      say "PostgreSQL's server is not installed (Debian: apt-get install postgresql)"
      exit 1
    fi
    dir=$(mktemp -d)
    run=()
    if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
    started=
    stop() {
      if [ -n "$started" ]; then
        "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
      fi
      rm -rf "$dir"
    }
    trap stop EXIT
    trap 'exit 130' INT TERM
    chmod 755 "$dir"
    owner=()
    if [ "$(id -u)" -eq 0 ]; then owner=(-o postgres); fi
    install -d "${owner[@]}" -m 700 "$dir/data" "$dir/sock" "$dir/log"
    password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    install "${owner[@]}" -m 600 /dev/null "$dir/log/password"
    printf '%s\n' "$password" >"$dir/log/password"
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U countertop --pwfile="$dir/log/password" \
      -A scram-sha-256 -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      say "initdb failed"
      exit 1
    }
    for _ in 1 2 3; do
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      if "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w -t 60 \
        -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
        started=1
        break
      fi
    done
    if [ -z "$started" ]; then
      tail -n 20 "$dir/log/server.log" >&2 || true
      say "PostgreSQL did not start"
      exit 1
    fi
    say "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') for the tests on 127.0.0.1:$port (in $dir)"
    COUNTERTOP_TEST_POSTGRES="postgres://countertop:$password@127.0.0.1:$port/postgres" "$@"
  )
}

# The hub's integration suite (crates/hub/tests) again, every test hub on
# PostgreSQL (COUNTERTOP_TEST_BACKEND=postgres; a database of its own on
# with_postgres's server). The test programs are those the workspace's
# build made: a `cargo test -p countertop-hub` would resolve other features
# and build the hub's tree again (see run_tests), so `cargo test --workspace
# --no-run` (nothing to build) names them and they run here, as cargo would,
# in the crate's folder.
hub_tests_on_postgres() {
  local programs rc=0 program
  programs=$(cargo test --workspace --locked --no-run --message-format=json | python3 -c '
import json, sys
programs = {}
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["test"]
            and m["manifest_path"].endswith("/crates/hub/Cargo.toml") and m.get("executable")):
        programs[m["target"]["name"]] = m["executable"]
print("\n".join(programs[name] for name in sorted(programs)))
') || return 1
  [ -n "$programs" ] || { say "no test programs of the hub found"; return 1; }
  for program in $programs; do
    printf '\n     Running %s (PostgreSQL)\n' "${program#"$ROOT"/}"
    (cd crates/hub && COUNTERTOP_TEST_BACKEND=postgres "$program") || rc=1
  done
  return $rc
}

run_tests() {
  # A one-off run has no use for incremental state, which is as big as the
  # build itself; a developer who runs this again and again can set
  # CARGO_INCREMENTAL=1.
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
  say "Formatting (cargo fmt --check)"
  cargo fmt --all -- --check
  build_ui
  say "Lints (cargo clippy -D warnings)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  # One build of every target in one feature set: the binaries the tests
  # start and the bench smoke run are the ones built with the tests. A
  # `cargo build --bins` (no dev-dependencies) or a `cargo test -p` of one
  # package would resolve other features and build the whole tree again,
  # which is what filled a CI machine's disk. Incremental state is of no use
  # to a one-off run either (see the top of run_tests).
  say "Building every crate, binary and test (cargo build --workspace --lib --bins --tests)"
  cargo build --workspace --lib --bins --tests --locked
  setup_tauri_driver
  setup_browser_tests
  say "Tests (cargo test --workspace): the app window under Xvfb and tauri-driver, headless Chromium, a private D-Bus and keyring, a throw-away PostgreSQL"
  local rc=0
  with_postgres with_desktop cargo test --workspace --locked --no-fail-fast || rc=$?
  say "The hub's integration suite again, on PostgreSQL"
  with_postgres hub_tests_on_postgres || rc=$?
  # Proves the benchmark runs against all three servers; the figures of a
  # debug build on a CI machine mean nothing (BENCHMARKS.md has the real run).
  say "Benchmark smoke run (countertop-bench --quick, debug build, no timing assertions)"
  bash bench/setup.sh
  target/debug/countertop-bench --quick || rc=$?
  # The Debian packages a café installs: built (release), linted, installed
  # into a clean root of this Debian release, run, purged
  # (tests/packages/check.sh; each step prints its seconds).
  local packaged=0
  build_packages || packaged=1
  if [ $packaged -eq 0 ]; then
    as_root tests/packages/check.sh "$PACKAGES_DIR" || { say "The package check failed (see above)"; rc=1; }
  else
    say "Building the packages failed (see above)"
    rc=1
  fi
  return $rc
}

run_app() {
  if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    say "No DISPLAY: the desktop app needs a screen, so only the hub runs (see README)."
    run_hub "$@"
    return
  fi
  local data="$ROOT/.countertop-dev/app"
  build_ui
  say "Building the app"
  cargo build -p countertop-app --locked
  say "Starting Countertop --demo: a kiosk and a barista window (data in $data)"
  exec target/debug/countertop --demo --data "$data" "$@"
}

run_hub() {
  local data="$ROOT/.countertop-dev/hub"
  say "Building the hub"
  cargo build -p countertop-hub --locked
  say "Starting the hub with the demo café (data in $data); Ctrl-C stops it"
  cat >&2 <<EOT

  Try it (see README.md, "Walk-through"):
    target/debug/countertop-hub pairing-code --role kiosk --data $data
    curl -s http://127.0.0.1:3001/api/menu

EOT
  exec target/debug/countertop-hub serve --data "$data" "$@"
}

# Sourced (`source dev.sh`, to try one of its functions), it only defines them.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return 0
fi

cmd=${1:-}
shift || true
case "$cmd" in
  setup) setup ;;
  run) setup; run_app "$@" ;;
  hub) setup; run_hub "$@" ;;
  test) setup; run_tests ;;
  package) setup; build_packages ;;
  *) echo "usage: ./dev.sh run | test | setup | hub | package" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Countertop developer entry point. Two commands a newcomer types:
#   ./dev.sh run    set everything up, then run Countertop with demo data
#   ./dev.sh test   set everything up, then run every check and test
# `./dev.sh setup` only installs what is missing. Safe to run again: each
# step checks first and does nothing when its work is already done.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# System packages: building (C toolchain, ALSA and D-Bus headers) and the
# tools the tests run real backends with (private D-Bus, kernel keyring).
APT_PACKAGES=(
  build-essential pkg-config curl ca-certificates
  libasound2-dev libdbus-1-dev
  dbus dbus-x11 keyutils
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
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

setup() {
  setup_system
  setup_rust
}

# A throw-away session for tests that need real desktop services: a private
# D-Bus (notifications, Secret Service) and a fresh kernel session keyring.
with_services() {
  local runtime
  runtime=$(mktemp -d)
  chmod 700 "$runtime"
  local rc=0
  XDG_RUNTIME_DIR="$runtime" keyctl session - dbus-run-session -- "$@" || rc=$?
  rm -rf "$runtime"
  return $rc
}

run_tests() {
  say "Formatting (cargo fmt --check)"
  cargo fmt --all -- --check
  say "Lints (cargo clippy -D warnings)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  say "Building binaries the end-to-end tests start"
  cargo build --workspace --bins --locked
  say "Tests (cargo test --workspace)"
  with_services cargo test --workspace --locked --no-fail-fast
}

run_app() {
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

cmd=${1:-}
shift || true
case "$cmd" in
  setup) setup ;;
  run) setup; run_app "$@" ;;
  test) setup; run_tests ;;
  *) echo "usage: ./dev.sh run | test | setup" >&2; exit 2 ;;
esac

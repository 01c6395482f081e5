#!/usr/bin/env bash
# Installs the benchmark peers (bench/peers/): the Node.js Socket.IO server's
# npm packages and the Python FastAPI server's virtualenv. Idempotent: a step
# whose result is already there is skipped.
#
# System packages it needs (Debian): nodejs npm python3 python3-venv
#   build-essential (better-sqlite3 is compiled from source with node-gyp
#   against the Node.js headers in /usr/include/node, since its prebuilt
#   binaries are downloaded from outside the npm registry).
set -euo pipefail
cd "$(dirname "$0")/peers"

if [ ! -f socketio/node_modules/better-sqlite3/build/Release/better_sqlite3.node ] \
  || [ socketio/package-lock.json -nt socketio/node_modules/.package-lock.json ]; then
  echo "==> bench peers: npm ci (socket.io, better-sqlite3 built from source)" >&2
  # nodedir: build against the system Node.js headers instead of downloading them.
  (cd socketio && npm_config_nodedir=/usr npm_config_build_from_source=true \
    npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -x fastapi/.venv/bin/python ] \
  || ! fastapi/.venv/bin/python -c 'import fastapi, uvicorn, websockets' 2>/dev/null \
  || [ fastapi/requirements.txt -nt fastapi/.venv/.installed ]; then
  echo "==> bench peers: python venv + pip install (fastapi, uvicorn, websockets)" >&2
  python3 -m venv fastapi/.venv
  fastapi/.venv/bin/pip install --quiet --disable-pip-version-check -r fastapi/requirements.txt
  touch fastapi/.venv/.installed
fi
echo "==> bench peers ready" >&2

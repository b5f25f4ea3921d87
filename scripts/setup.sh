#!/usr/bin/env bash
# Idempotent set-up for a fresh machine (Debian/Ubuntu, Node >= 20.19): pnpm, dependencies, redis-server, postgresql,
# and the converted models. Fast when everything is already in place. Used by quickstart.sh and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node's install script downloads CUDA binaries (fails offline); the CPU binaries ship inside.
export ONNXRUNTIME_NODE_INSTALL=skip
PNPM_VERSION=10.34.8

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("labelq needs Node >= 20.19 (found "+process.version+")"); process.exit(1) }'
if [ "$(pnpm -v 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION"
fi
if ! command -v redis-server >/dev/null; then
  echo "setup: installing redis-server (apt)"
  apt_install redis-server
fi
# The results index's tests and the embedded stack start a private cluster when no Postgres answers on 5432.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  echo "setup: installing postgresql (apt)"
  apt_install postgresql
fi
# The dashboard's browser test drives Debian's chromium (playwright-core never downloads a browser).
if ! command -v chromium >/dev/null; then
  echo "setup: installing chromium (apt)"
  apt_install chromium
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm models
# NanoDet is no longer in the default set but tests still compare against it.
pnpm models coco-nanodet
# The opt-in OCR model (PP-OCRv4, copied as shipped) for the text tests.
pnpm models text

#!/usr/bin/env bash
# The README's two commands: `bash scripts/quickstart.sh demo [dir] [--json]` and `bash scripts/quickstart.sh test`.
# Each sets up what is missing (pnpm, dependencies, redis-server, models), then runs the demo or the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-demo}
shift || true
bash scripts/setup.sh
case "$what" in
  demo) exec pnpm --silent demo "$@" ;;
  test) exec pnpm --silent test "$@" ;;
  *) echo "usage: bash scripts/quickstart.sh demo|test [args]" >&2; exit 2 ;;
esac

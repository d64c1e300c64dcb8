#!/usr/bin/env bash
# Runs every test of berth: unit tests, the corpus tests and the integration tests, which
# drive the real binary as root against a temporary store each.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
if [ "$(id -u)" != 0 ]; then
  echo "berth's integration tests mount overlays and create namespaces: run them as root" >&2
  exit 1
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi

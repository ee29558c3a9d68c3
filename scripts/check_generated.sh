#!/usr/bin/env bash
# Fail with a readable diff when generated/cflow_openapi is not what openapi/ produces.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash scripts/regen.sh "$tmp/cflow_openapi"
if ! diff -ruN -x __pycache__ -x .ruff_cache "$tmp/cflow_openapi" generated/cflow_openapi > "$tmp/diff"; then
  echo "generated/cflow_openapi differs from what openapi/ produces:" >&2
  cat "$tmp/diff" >&2
  echo >&2
  echo "Never edit generated/ by hand: change openapi/ (spec, config.yaml, templates/) and run 'make regen'." >&2
  exit 1
fi
echo "generated/cflow_openapi matches openapi/"

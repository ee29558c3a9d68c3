#!/usr/bin/env bash
# Fail with a readable diff when generated/cflow_openapi, or the facade's generated OpenAPI
# namespaces (cflow_async/_openapi_*.py), are not what openapi/ produces.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/facade"
bash scripts/regen.sh "$tmp/cflow_openapi" "$tmp/facade"
: > "$tmp/diff"
diff -ruN -x __pycache__ -x .ruff_cache "$tmp/cflow_openapi" generated/cflow_openapi >> "$tmp/diff" || true
for name in _openapi_namespaces.py _openapi_mixin.py; do
  diff -uN "$tmp/facade/$name" "cflow_async/$name" >> "$tmp/diff" || true
done
if [ -s "$tmp/diff" ]; then
  echo "generated code differs from what openapi/ produces:" >&2
  cat "$tmp/diff" >&2
  echo >&2
  echo "Never edit generated code by hand: change openapi/ (spec, config.yaml, facade.yaml," >&2
  echo "templates/) or scripts/gen_facade.py and run 'make regen'." >&2
  exit 1
fi
echo "generated/cflow_openapi and cflow_async/_openapi_*.py match openapi/"

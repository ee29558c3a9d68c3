#!/usr/bin/env bash
# Regenerate the low-level package from openapi/cflow.yaml into $1 (default generated/cflow_openapi),
# and the facade's OpenAPI namespaces (scripts/gen_facade.py) into $2 (default cflow_async).
# Deterministic: runs the pinned generator and pinned ruff, leaves no caches behind.
# The tools come from $REGEN_BIN when set (scripts/regen.py sets it to its Python's bin/,
# so a copy of the project needs no .venv of its own), else from .venv/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-generated/cflow_openapi}"
facade_out="${2:-cflow_async}"
venv_bin="${REGEN_BIN:-$(pwd)/.venv/bin}"
export PATH="$venv_bin:$PATH" RUFF_NO_CACHE=true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
openapi-python-client generate \
  --path openapi/cflow.yaml \
  --config openapi/config.yaml \
  --custom-template-path openapi/templates \
  --meta none \
  --output-path "$work/cflow_openapi" \
  --overwrite >/dev/null
touch "$work/cflow_openapi/py.typed"
find "$work" -name .ruff_cache -prune -exec rm -rf {} +
find "$work" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -R "$work/cflow_openapi" "$out"
python scripts/gen_facade.py --out "$facade_out"

#!/usr/bin/env bash
# Create .venv and install augkit with its dependencies (idempotent).
# On the CPU build machines torch is pinned to the wheel on disk; elsewhere set AUGKIT_TORCH_PIN=""
# (or e.g. "torch==2.5.1") to let pip choose.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "${AUGKIT_TORCH_PIN-torch==2.13.0}" > "$constraints"
export PIP_CONSTRAINT="$constraints" PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip setuptools 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import augkit, torch, transformers; print('augkit', augkit.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"

#!/usr/bin/env bash
# Set up the development environment in .venv: torch 2.13.0 (CPU, pinned by
# constraints.txt), the six packages installed editable, and the test tools.
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q -c constraints.txt)
quiet() { grep -v "is ignored: it is neither" || true; }   # pip's local-index noise
# torch first, on its own, so the resolver never looks for another torch
"${pip[@]}" torch==2.13.0 2>&1 | quiet
# test tools and the optional extras the tests exercise (render: graphviz, generic:
# pyro-api, arviz: ArviZ export of MCMC and pyro fit --out .nc)
"${pip[@]}" pytest hypothesis scipy tox ruff hatchling matplotlib graphviz pyro-api arviz 2>&1 | quiet
"${pip[@]}" --no-build-isolation \
  -e packages/core -e packages/distributions -e packages/optim \
  -e packages/nn -e packages/infer -e packages/autoguide 2>&1 | quiet
echo "[bootstrap] ready: $VENV ($("$VENV/bin/python" -c 'import torch, pyro; print("torch", torch.__version__, "pyro", pyro.__version__)'))"

#!/usr/bin/env bash
# Regenerates every fixture under core/tests/fixtures/ and std-ext/tests/fixtures/. Run from
# the repository root. Most scripts need only NumPy; optim.py records PyTorch's optimizers
# (pip install torch), safetensors.py needs the safetensors package.
set -euo pipefail
for f in scripts/fixtures/*.py; do python3 "$f"; done

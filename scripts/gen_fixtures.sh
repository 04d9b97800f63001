#!/usr/bin/env bash
# Regenerates every NumPy fixture under core/tests/fixtures/. Run from the repository root.
set -euo pipefail
for f in scripts/fixtures/*.py; do python3 "$f"; done

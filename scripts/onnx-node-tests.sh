#!/usr/bin/env bash
# Fetches the ONNX backend node tests (1,765 cases: model.onnx plus input and expected
# output tensors) from the `onnx` 1.22.0 wheel, the last release that ships them, and
# unpacks them to target/onnx-node-tests/node (or $1). Idempotent: a complete folder is
# left as is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/target/onnx-node-tests/node}"
if [ -f "$dest/.complete" ]; then
    exit 0
fi
work="$(dirname "$dest")/wheel"
mkdir -p "$work"
if ! ls "$work"/onnx-1.22.0-*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: onnx==1.22.0 -d "$work"
fi
python3 - "$work" "$dest" <<'PY'
import os, shutil, sys, zipfile
work, dest = sys.argv[1], sys.argv[2]
wheel = next(os.path.join(work, f) for f in sorted(os.listdir(work)) if f.endswith(".whl"))
prefix = "onnx/backend/test/data/node/"
tmp = dest + ".partial"
shutil.rmtree(tmp, ignore_errors=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = os.path.join(tmp, name[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
shutil.rmtree(dest, ignore_errors=True)
os.rename(tmp, dest)
cases = [d for d in os.listdir(dest) if os.path.isdir(os.path.join(dest, d))]
open(os.path.join(dest, ".complete"), "w").write(f"{len(cases)}\n")
print(f"{len(cases)} ONNX node test cases in {dest}")
PY

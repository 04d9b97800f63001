#!/usr/bin/env bash
# Host latency of the MNIST models through `born bench` (f32 and int8, MLP and CNN), their
# planned arena and file sizes through `born inspect`, and onnxruntime (the peer) on the same
# CNN in the same run. Figures go to docs/PERFORMANCE.md.
# Usage: bash scripts/bench_mnist.sh [iters]        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS="${1:-3000}"
DATA="${BORN_DATA:-../shared/data}"
python3 -c 'import numpy, onnx, onnxruntime' 2>/dev/null || python3 -m pip install --quiet numpy onnx onnxruntime
python3 scripts/mnist_cnn_weights.py "$DATA/onnx/mnist-cnn/model.onnx" target/mnist-cnn-weights >/dev/null
cargo build -q --release -p born-std --bin born
BORN_DATA="$DATA" cargo run -q --release -p born-examples --example mnist_int8 -- target/mnist-cnn-weights target/mnist
BORN="${CARGO_TARGET_DIR:-target}/release/born"
for m in mnist_mlp mnist_mlp.int8 mnist_cnn mnist_cnn.int8; do
  echo "== $m.born"
  "$BORN" inspect "target/mnist/$m.born" | grep -E '^(file|arena)'
  "$BORN" bench "target/mnist/$m.born" --iters "$ITERS" | tail -2
done
echo "== onnxruntime $(python3 -c 'import onnxruntime; print(onnxruntime.__version__)'), same CNN, 1 thread, batch 1"
BORN_DATA="$DATA" python3 scripts/bench_ort.py "$DATA/onnx/mnist-cnn/model.onnx" target/mnist "$ITERS" 2>/dev/null

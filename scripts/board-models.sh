#!/usr/bin/env bash
# Makes what the firmware in boards/ embeds, into OUT_DIR (default target/board-models):
#   mlp.born, mlp.int8.born   MNIST MLP 784-128-10 trained by `born train` (seed 0, 10 epochs)
#   cnn.born, cnn.int8.born   the PyTorch-trained CNN of $BORN_DATA/onnx/mnist-cnn, rebuilt
#                             from nn modules and quantized by the mnist_int8 example
#   t10k-images.u8            the first 1000 MNIST test images, 784 bytes each (row-major)
#   t10k-labels.u8            their labels, one byte each
# Usage: scripts/board-models.sh [--force] [OUT_DIR]. Outputs that exist are kept unless
# --force. The data directory is $BORN_DATA, else ../shared/data (or ../../shared/data, for
# a worktree one level deeper).
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
out=""
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) out="$a" ;;
  esac
done
out=${out:-target/board-models}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ -z "${BORN_DATA:-}" ]; then
  for d in ../shared/data ../../shared/data; do
    if [ -d "$d/mnist" ]; then BORN_DATA=$(cd "$d" && pwd); break; fi
  done
fi
if [ -z "${BORN_DATA:-}" ] || [ ! -d "$BORN_DATA/mnist" ]; then
  echo "board-models: no data directory with mnist/: set BORN_DATA" >&2
  exit 1
fi
export BORN_DATA

need() { # true if any of the named outputs is missing (or --force)
  [ "$force" = 1 ] && return 0
  for f in "$@"; do [ -s "$out/$f" ] || return 0; done
  return 1
}

if need mlp.born mlp.int8.born; then
  echo "board-models: training the MNIST MLP (seed 0)" >&2
  cargo run -q -p born-std --bin born -- train mnist --model mlp --seed 0 --threads 2 \
    --out "$out/mlp.born" --int8 "$out/mlp.int8.born" \
    --checkpoint "$out/mlp.safetensors" >&2
fi

if need cnn.born cnn.int8.born; then
  echo "board-models: rebuilding the PyTorch MNIST CNN" >&2
  python3 scripts/mnist_cnn_weights.py "$BORN_DATA/onnx/mnist-cnn/model.onnx" target/mnist-cnn-weights >&2
  cargo run -q -p born-examples --example mnist_int8 -- target/mnist-cnn-weights target/mnist >&2
  cp target/mnist/mnist_cnn.born "$out/cnn.born"
  cp target/mnist/mnist_cnn.int8.born "$out/cnn.int8.born"
fi

if need t10k-images.u8 t10k-labels.u8; then
  n=1000
  img="$BORN_DATA/mnist/t10k-images-idx3-ubyte"
  lab="$BORN_DATA/mnist/t10k-labels-idx1-ubyte"
  cat_idx() { if [ -f "$1.gz" ]; then gzip -dc "$1.gz"; else cat "$1"; fi; }
  # IDX: images have a 16-byte header, labels an 8-byte one. `head` stops reading early,
  # which fails the pipeline's writers with SIGPIPE: the sizes are checked instead.
  set +o pipefail
  cat_idx "$img" | tail -c +17 | head -c $((n * 784)) >"$out/t10k-images.u8"
  cat_idx "$lab" | tail -c +9 | head -c "$n" >"$out/t10k-labels.u8"
  set -o pipefail
  [ "$(stat -c %s "$out/t10k-labels.u8")" = "$n" ] || { echo "board-models: short label file" >&2; exit 1; }
  [ "$(stat -c %s "$out/t10k-images.u8")" = $((n * 784)) ] || { echo "board-models: short image file" >&2; exit 1; }
fi
ls -l "$out" >&2

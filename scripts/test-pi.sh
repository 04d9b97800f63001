#!/usr/bin/env bash
# The Raspberry Pi build (boards/raspberry-pi, binary `born-pi`) for aarch64 Linux, run under
# qemu-user: the crate's tests for aarch64-unknown-linux-gnu, `born-pi` on real MNIST test
# images when a trained board model and the data are there, and a static
# aarch64-unknown-linux-musl binary when that target installs.
#
#   bash scripts/test-pi.sh
#
# Environment: CARGO_TARGET_DIR (default target/), BORN_DATA (default ../shared/data),
# BORN_PI_MODEL (default target/board-models/mlp.int8.born), PI_IMAGES (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
crate=boards/raspberry-pi
gnu=aarch64-unknown-linux-gnu
musl=aarch64-unknown-linux-musl

bash scripts/install-aarch64.sh
rustup target add "$gnu" >/dev/null 2>&1 || true
# Plain cargo with the cross linker and qemu-user as the runner (also in the crate's
# .cargo/config.toml; set here so the script works from anywhere).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"

echo "== born-pi: tests for $gnu under qemu-aarch64"
(cd "$crate" && cargo test --target "$gnu")

echo "== born-pi: release build for $gnu"
(cd "$crate" && cargo build --release --target "$gnu")
bin=$CARGO_TARGET_DIR/$gnu/release/born-pi
echo "born-pi ($gnu, dynamically linked): $(stat -c %s "$bin") bytes"

model=${BORN_PI_MODEL:-target/board-models/mlp.int8.born}
data=${BORN_DATA:-../shared/data}
images=$data/mnist/t10k-images-idx3-ubyte.gz
labels=$data/mnist/t10k-labels-idx1-ubyte.gz
n=${PI_IMAGES:-100}
if [[ -f $model && -f $images && -f $labels ]]; then
  echo "== born-pi on the first $n MNIST test images with $model (qemu-aarch64)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # IDX files: 16 header bytes before the images, 8 before the labels. `head` closes the
  # pipe early, so the SIGPIPE of the commands before it is expected (no pipefail here).
  (
    set +o pipefail
    gzip -dc "$images" | tail -c +17 | head -c $((784 * n)) >"$tmp/images.u8"
    gzip -dc "$labels" | tail -c +9 | head -c "$n" >"$tmp/labels.u8"
  )
  if [[ $(stat -c %s "$tmp/images.u8") != $((784 * n)) || $(stat -c %s "$tmp/labels.u8") != "$n" ]]; then
    echo "error: $images or $labels has fewer than $n images" >&2
    exit 1
  fi
  od -An -v -tu1 "$tmp/labels.u8" | tr -s ' ' '\n' | sed '/^$/d' >"$tmp/labels.txt"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" "$model" "$tmp/images.u8" --bench 200 >"$tmp/pred.txt"
  right=$(paste -d' ' "$tmp/pred.txt" "$tmp/labels.txt" | awk '$1 == $2' | wc -l)
  echo "born-pi: $right/$n correct"
  if ((right * 100 < 85 * n)); then
    echo "error: accuracy below 85% on $n test images" >&2
    exit 1
  fi
  # Standard input gives the same answers.
  if ! cmp -s "$tmp/pred.txt" <(qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" "$model" - <"$tmp/images.u8"); then
    echo "error: standard input gave other predictions than the file" >&2
    exit 1
  fi
else
  echo "== skipping real MNIST images: need $model (bash scripts/board-models.sh) and $images"
fi

echo "== born-pi: static $musl binary"
if rustup target add "$musl" >/dev/null 2>&1; then
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
  (cd "$crate" && cargo build --release --target "$musl")
  static=$CARGO_TARGET_DIR/$musl/release/born-pi
  echo "born-pi ($musl, static): $(stat -c %s "$static") bytes"
  # Runs without the aarch64 glibc (no -L).
  qemu-aarch64 "$static" --version
else
  echo "skipping: rustup cannot add $musl here"
fi
echo "test-pi: ok"

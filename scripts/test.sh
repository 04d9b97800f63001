#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then checks formatting,
# lints, tests (against NumPy-generated fixtures), the training demo, the no_std builds for
# microcontrollers, born-core's tests again on aarch64 under qemu-user (NEON paths) and on
# 32-bit Arm (DSP path), and the boards: QEMU firmware, the STM32 crate, the Raspberry Pi
# program.
# Usage: bash scripts/test.sh        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

# step NAME: starts a step, printing the time since the start; a summary of each step's wall
# time closes a passing run, so a slow CI run shows where its minutes went.
t0=$SECONDS
t_step=$SECONDS
name_step=""
timings=()
step() {
  if [ -n "$name_step" ]; then timings+=("$(printf '%5ds  %s' $((SECONDS - t_step)) "$name_step")"); fi
  t_step=$SECONDS
  name_step=$*
  printf '\n==> %s  (at %ds)\n' "$*" $((SECONDS - t0))
}

NO_STD_TARGETS=(thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf)

step "toolchain: components and targets"
rustup component add rustfmt clippy >/dev/null
rustup target add "${NO_STD_TARGETS[@]}" >/dev/null

step "python: NumPy for the reference fixtures, onnx to read the trained MNIST CNN, safetensors, onnxruntime"
if ! python3 -c 'import numpy, onnx, safetensors, onnxruntime' 2>/dev/null; then
  python3 -m pip install --quiet numpy onnx safetensors onnxruntime
fi

step "ONNX: the backend node tests (onnx 1.22.0 wheel) and onnxruntime's QDQ int8 models"
bash scripts/onnx-node-tests.sh
python3 scripts/qdq_models.py --data "${BORN_DATA:-../shared/data}" --out target/qdq

step "fixtures: regenerate every NumPy reference from its script"
bash scripts/gen_fixtures.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (workspace, all targets; core without features too)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p born-core --all-targets --no-default-features -- -D warnings

step "cargo doc (workspace, warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --no-deps

step "cargo test (workspace; born-core's fast-math feature on its own)"
cargo test --workspace
cargo test -q -p born-core --features std,fast-math --test fast_math

step "examples run"
cargo run -q -p born-examples --example quickstart
cargo run -q -p born-examples --example no_heap

step "MNIST CNN: PyTorch weights -> nn modules -> .born -> int8; f32 vs int8 accuracy on t10k"
DATA="${BORN_DATA:-../shared/data}"
python3 scripts/mnist_cnn_weights.py "$DATA/onnx/mnist-cnn/model.onnx" target/mnist-cnn-weights
BORN_DATA="$DATA" cargo run -q -p born-examples --example mnist_int8 -- target/mnist-cnn-weights target/mnist

# `cargo check` here: the boards step below builds (and runs) born-core without features for
# each of these targets, so code generation is covered there; these prove the feature
# combinations compile for them.
step "no_std builds of born-core (with and without alloc; train, defmt, fast-math)"
for t in "${NO_STD_TARGETS[@]}"; do
  cargo check -q -p born-core --target "$t"
  cargo check -q -p born-core --target "$t" --features alloc
  echo "ok: $t (core, core+alloc)"
done
cargo check -q -p born-core --target thumbv7em-none-eabihf --features train
cargo check -q -p born-core --target thumbv6m-none-eabi --features defmt,fast-math
echo "ok: thumbv7em-none-eabihf (core+train), thumbv6m-none-eabi (core+defmt+fast-math)"

# The kernel tests (every NEON path against its portable twin; the accuracy sweeps of the
# math functions and activations sparser than on the host: one f32 pattern in 16,381, not
# 1,021, and every 16th f32 of the dense intervals) and the loader's; the graph-level tests
# (autodiff, nn, optim, tensor ops) run on the host only.
step "aarch64 (Raspberry Pi class): born-core tests on the NEON paths, under qemu-aarch64"
rustup target add aarch64-unknown-linux-gnu >/dev/null
bash scripts/install-aarch64.sh
A64_TESTS=(activation conv corrupt elementwise gemm grad_kernels int8 math matmul model norm pool
  reduce softmax unary)
BORN_MATH_STRIDE=16381 BORN_SWEEP_THIN=16 \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
  cargo test -p born-core --features std,train --target aarch64-unknown-linux-gnu --lib \
  "${A64_TESTS[@]/#/--test=}"

step "32-bit Arm (Cortex-M4/M7 DSP instructions): int8 tests on the SMLAD path, under qemu-arm"
bash scripts/test-arm-dsp.sh

step "boards: QEMU firmware on Cortex-M0/M3/M4F/M7 and RISC-V, corrupted models in flash"
BORN_DATA="$DATA" bash scripts/test-boards.sh

step "boards: STM32F411 crate (host tests against embedded-hal-mock, firmware build)"
(cd boards/stm32f4-mnist && cargo test -q && cargo clippy -q --all-targets -- -D warnings \
  && cargo fw-clippy -q -- -D warnings && cargo fw -q)

step "boards: Raspberry Pi program (aarch64 under qemu-aarch64, static musl build)"
BORN_DATA="$DATA" bash scripts/test-pi.sh

step "born demo: train the MNIST CNN, export f32 and int8, check both on t10k (>= 99.0%), run int8 on the emulated Cortex-M4F"
BORN_DATA="$DATA" cargo run -q -p born-std --bin born -- demo --retrain --check --out-dir target/born-demo

step "all checks passed"
printf '%s\n' "${timings[@]}"
printf '%5ds  total\n' $((SECONDS - t0))

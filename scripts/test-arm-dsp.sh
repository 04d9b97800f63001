#!/usr/bin/env bash
# Runs born-core's int8, model-format and corruption tests on 32-bit Arm (armv7 Linux under
# qemu-arm, as the microcontrollers are 32-bit) with the DSP-extension inner product (SXTB16/SXTAB16 + SMLAD, the instructions of Cortex-M4/M7) compiled in, so that
# path is checked bit for bit against the reference twins and the NumPy fixtures.
#
# The DSP path is compiled in by born-core's `arm-dsp` feature (stable rustc does not report
# the `dsp` target feature to `cfg`); armv7-a has the same instructions as Cortex-M4/M7.
# Usage: bash scripts/test-arm-dsp.sh        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add armv7-unknown-linux-gnueabihf >/dev/null
if ! command -v arm-linux-gnueabihf-gcc >/dev/null || ! command -v qemu-arm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends gcc-arm-linux-gnueabihf libc6-dev-armhf-cross >/dev/null
  command -v qemu-arm >/dev/null || bash scripts/install-aarch64.sh
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/arm-dsp"
CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc \
CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf" \
  cargo test -p born-core --features std,arm-dsp --target armv7-unknown-linux-gnueabihf --test int8 --test corrupt --test model
# The Cortex-M4F build with the DSP path (no test harness there; this checks it compiles).
cargo build -p born-core --target thumbv7em-none-eabihf --features arm-dsp

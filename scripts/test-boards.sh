#!/usr/bin/env bash
# Builds Born's MNIST firmware for every emulated board and runs it under QEMU; fails on any
# failure. In order: installs QEMU, the bare-metal targets and the insncount plugin
# (install-qemu-system.sh); makes the models (board-models.sh); host tests of
# boards/mnist-fw; fmt and clippy -D warnings per board target; then runs
#   micro:bit (Cortex-M0, thumbv6m)          int8 MLP, 100 images
#   MPS2 AN385 (Cortex-M3, thumbv7m)         int8/f32 MLP and CNN, 300 images
#   MPS2 AN386 (Cortex-M4F, thumbv7em-eabihf) the same
#   MPS2 AN500 (Cortex-M7, the same ELF)     the same
#   riscv32 virt (riscv32imac)               the same
# each of which must report `result: OK` and exit 0 (every prediction equal to the host
# interpreter's), and firmware with a corrupted model byte (in the header, in the weights,
# in the CRC), which must print the loader's error and exit non-zero.
# Environment: BORN_DATA (data directory), BORN_BOARDS_TARGET_DIR (cargo target dir of the
# boards workspace; default $CARGO_TARGET_DIR/boards or target/boards), BORN_BOARD_TIMEOUT
# (seconds per QEMU run, default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-qemu-system.sh
bash scripts/install-defmt-print.sh
bash scripts/board-models.sh
models=$root/target/board-models
export BORN_BOARD_MODELS=$models
unset BORN_BOARD_ONLY BORN_BOARD_IMAGES BORN_BOARD_RUNS BORN_BOARD_CORRUPT

tdir=${BORN_BOARDS_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/boards}
export CARGO_TARGET_DIR=$tdir
limit=${BORN_BOARD_TIMEOUT:-300}
elfs=$root/target/board-elfs
mkdir -p "$elfs"
qemu_flags=(-nographic -monitor none -semihosting-config enable=on,target=native)
cortex_targets=(thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf)
riscv_target=riscv32imac-unknown-none-elf

cd boards
echo "== host tests: mnist-fw"
cargo test -q -p mnist-fw --features gen
echo "== fmt and clippy"
cargo fmt --all -- --check
cargo clippy -q -p mnist-fw --all-targets --features gen -- -D warnings
for t in "${cortex_targets[@]}"; do
  cargo clippy -q -p qemu-cortex-m --target "$t" -- -D warnings
done
cargo clippy -q -p qemu-cortex-m --target thumbv7em-none-eabihf --features text -- -D warnings
cargo clippy -q -p qemu-riscv --target "$riscv_target" -- -D warnings
cargo clippy -q -p math-bench --target thumbv7em-none-eabihf -- -D warnings

# build PACKAGE TARGET NAME [FEATURES]: build with profile $profile (default release), ELF
# copied to $elfs/NAME.elf. The micro:bit's 256 KB flash takes the min-size profile (born-core
# at "s" too): the release one leaves it only 2 KB.
build() {
  local p=${profile:-release}
  [ "$2" = thumbv6m-none-eabi ] && p=min-size
  cargo build -q --profile "$p" -p "$1" --target "$2" ${4:+--features "$4"}
  cp "$tdir/$2/$p/$1" "$elfs/$3.elf"
}

echo "== build"
build qemu-cortex-m thumbv6m-none-eabi m0
build qemu-cortex-m thumbv7m-none-eabi m3
build qemu-cortex-m thumbv7em-none-eabihf m4f
build qemu-riscv "$riscv_target" rv32
build qemu-cortex-m thumbv7em-none-eabihf m4f-text text

failures=0
# run NAME EXPECT_RC GREP -- QEMU ARGS...: runs QEMU with a timeout; checks the exit status
# (0, or "nonzero") and that the output has the line GREP matches. With DEFMT_ELF set, the
# output is defmt frames, decoded with defmt-print against that ELF.
run() {
  local name=$1 want=$2 pattern=$3
  shift 4
  local log=$elfs/$name.log rc=0
  if [ -n "${DEFMT_ELF:-}" ]; then
    { timeout "$limit" "$@" 2>"$log.err" | defmt-print -e "$DEFMT_ELF" >"$log" 2>&1; } ||
      rc=${PIPESTATUS[0]}
    cat "$log.err" >>"$log"
  else
    timeout "$limit" "$@" >"$log" 2>&1 || rc=$?
  fi
  sed 's/^/    /' "$log"
  local ok=1
  if [ "$want" = 0 ] && [ "$rc" != 0 ]; then ok=0; fi
  if [ "$want" = nonzero ] && { [ "$rc" = 0 ] || [ "$rc" = 124 ]; }; then ok=0; fi
  grep -q -- "$pattern" "$log" || ok=0
  if [ "$ok" = 1 ]; then
    echo "PASS $name (exit $rc)"
  else
    echo "FAIL $name (exit $rc$([ "$rc" = 124 ] && echo ', timed out'); expected exit $want and a line matching '$pattern')"
    failures=$((failures + 1))
  fi
}

echo "== run"
# The Cortex-M firmware reports as defmt frames over semihosting (decoded here); the
# m4f-text build reports as plain text through core::fmt, as the RISC-V one does.
DEFMT_ELF=$elfs/m0.elf run microbit-m0 0 '^result: OK' -- qemu-system-arm -machine microbit -cpu cortex-m0 "${qemu_flags[@]}" -kernel "$elfs/m0.elf"
DEFMT_ELF=$elfs/m3.elf run mps2-an385-m3 0 '^result: OK' -- qemu-system-arm -machine mps2-an385 -cpu cortex-m3 "${qemu_flags[@]}" -kernel "$elfs/m3.elf"
DEFMT_ELF=$elfs/m4f.elf run mps2-an386-m4f 0 '^result: OK' -- qemu-system-arm -machine mps2-an386 -cpu cortex-m4 "${qemu_flags[@]}" -kernel "$elfs/m4f.elf"
DEFMT_ELF=$elfs/m4f.elf run mps2-an500-m7 0 '^result: OK' -- qemu-system-arm -machine mps2-an500 -cpu cortex-m7 "${qemu_flags[@]}" -kernel "$elfs/m4f.elf"
run riscv32-virt 0 '^result: OK' -- qemu-system-riscv32 -machine virt -cpu rv32 -bios none "${qemu_flags[@]}" -kernel "$elfs/rv32.elf"
run mps2-an386-m4f-text 0 '^result: OK' -- qemu-system-arm -machine mps2-an386 -cpu cortex-m4 "${qemu_flags[@]}" -kernel "$elfs/m4f-text.elf"

echo "== corrupted models (the int8 MLP, one byte inverted)"
size=$(stat -c %s "$models/mlp.int8.born")
export BORN_BOARD_ONLY=mlp.int8 BORN_BOARD_IMAGES=10
# spec: offset:defmt-line:text-line (the loader's error as derived defmt::Format, and as
# born-core's Display)
for spec in "0:BadMagic:not a .born file" "$((size / 2)):Checksum:checksum mismatch" "$((size - 2)):Checksum:checksum mismatch"; do
  off=${spec%%:*} rest=${spec#*:}
  BORN_BOARD_CORRUPT=$off build qemu-cortex-m thumbv7em-none-eabihf m4f-corrupt-$off
  DEFMT_ELF=$elfs/m4f-corrupt-$off.elf run "mps2-an386-corrupt-byte-$off" nonzero "^mlp.int8: error: Model(Model(${rest%%:*} " -- \
    qemu-system-arm -machine mps2-an386 -cpu cortex-m4 "${qemu_flags[@]}" -kernel "$elfs/m4f-corrupt-$off.elf"
done
BORN_BOARD_CORRUPT=$((size / 2)) build qemu-cortex-m thumbv7em-none-eabihf m4f-text-corrupt text
run mps2-an386-text-corrupt-byte-$((size / 2)) nonzero '^mlp.int8: error: model: checksum mismatch' -- \
  qemu-system-arm -machine mps2-an386 -cpu cortex-m4 "${qemu_flags[@]}" -kernel "$elfs/m4f-text-corrupt.elf"
BORN_BOARD_CORRUPT=$((size / 2)) build qemu-cortex-m thumbv6m-none-eabi m0-corrupt
DEFMT_ELF=$elfs/m0-corrupt.elf run microbit-corrupt-byte-$((size / 2)) nonzero '^mlp.int8: error: Model(Model(Checksum ' -- \
  qemu-system-arm -machine microbit -cpu cortex-m0 "${qemu_flags[@]}" -kernel "$elfs/m0-corrupt.elf"
BORN_BOARD_CORRUPT=0 build qemu-riscv "$riscv_target" rv32-corrupt
run riscv32-corrupt-byte-0 nonzero '^mlp.int8: error: model: not a .born file' -- \
  qemu-system-riscv32 -machine virt -cpu rv32 -bios none "${qemu_flags[@]}" -kernel "$elfs/rv32-corrupt.elf"
unset BORN_BOARD_ONLY BORN_BOARD_IMAGES

echo "== f32 math on the M4F: instructions per call, born beside micromath and libm"
(cd "$root" && python3 scripts/math_insns.py) || failures=$((failures + 1))

if [ "$failures" != 0 ]; then
  echo "test-boards: $failures failure(s)"
  exit 1
fi
echo "test-boards: all passed"

#!/usr/bin/env python3
"""Instructions per call of born's f32 math beside micromath's and libm's on a Cortex-M4F.

Builds boards/math-bench once per function and library (BORN_MATH_BENCH, release profile:
born-core at opt-level 3, like the firmware), runs each under qemu-system-arm (MPS2 AN386)
with the insncount plugin, and prints a Markdown table of
(insns(function) - insns(identity)) / calls: the cost of one call, loop and indirect call
excluded. Needs `bash scripts/install-qemu-system.sh` first.

    python3 scripts/math_insns.py
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = os.path.join(ROOT, "target", "libinsncount.so")
CRATE = os.path.join(ROOT, "boards", "math-bench")
TARGET = "thumbv7em-none-eabihf"
CALLS = 1000
FUNCS = [("exp", ["born", "micromath", "libm"]), ("ln", ["born", "micromath", "libm"]),
         ("sin", ["born", "micromath", "libm"]), ("cos", ["born", "micromath", "libm"]),
         ("tanh", ["born", "libm"]), ("sigmoid", ["born"]), ("erf", ["born", "libm"])]


def insns(which):
    env = dict(os.environ, BORN_MATH_BENCH=which)
    env.pop("CARGO_TARGET_DIR", None)
    subprocess.run(["cargo", "build", "-q", "--release", "--target", TARGET], cwd=CRATE,
                   env=env, check=True)
    elf = os.path.join(ROOT, "boards", "target", TARGET, "release", "math-bench")
    cmd = ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
           "-monitor", "none", "-semihosting-config", "enable=on,target=native",
           "-icount", "shift=0", "-plugin", PLUGIN, "-kernel", elf]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"math_insns: {which} failed:\n{p.stdout}{p.stderr}")
    return int(re.search(r"insns: (\d+)", p.stdout + p.stderr).group(1))


def main():
    base = insns("none")
    print("| function | born | micromath | libm |")
    print("|---|---:|---:|---:|")
    for name, libs in FUNCS:
        cells = {lib: f"{(insns(f'{name}.{lib}') - base) / CALLS:.1f}" for lib in libs}
        row = [cells.get(lib, "-") for lib in ("born", "micromath", "libm")]
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the embedded figures in docs/PERFORMANCE.md: flash split into runtime code and
model data, RAM (static arena + measured stack high-water mark) and exact instructions per
inference under QEMU, for the MNIST MLP and CNN, int8 and f32, on each emulated core.

Run from the repository root after `bash scripts/install-qemu-system.sh`,
`bash scripts/install-defmt-print.sh` (the Cortex-M firmware reports in defmt frames) and
`bash scripts/board-models.sh` (scripts/test-boards.sh does all three):

    python3 scripts/board_figures.py [--images N] [--no-write]

Method, per (core, model): the firmware is built with only that model embedded
(BORN_BOARD_ONLY), N test images, once with one pass over the images and once with two
(BORN_BOARD_RUNS=1/2); both run under qemu-system-* with the qemu-insncount plugin
(-icount shift=0), and (insns(2 passes) - insns(1 pass)) / N is the cost of one inference:
copying the image in, invoke, argmax. Flash = text + rodata of the 1-pass ELF (llvm-size);
model data = the .born file's bytes, image data = N * 786 bytes (pixels + label + host
prediction); runtime code = flash - model - images. RAM = the static arena the firmware
reserves (its .bss) and the stack high-water mark the firmware measures by painting.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "target", "board-models")
PLUGIN = os.path.join(ROOT, "target", "libinsncount.so")
BEGIN = "<!-- board-figures:begin -->"
END = "<!-- board-figures:end -->"

# Multiply-accumulates per inference: MLP 784-128-10; the CNN of ../shared/data/onnx/mnist-cnn
# (conv 1->16 3x3 pad 1 at 28x28, pool, conv 16->32 3x3 pad 1 at 14x14, pool, 1568->64->10).
MACS = {
    "mlp": 784 * 128 + 128 * 10,
    "cnn": 28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 1568 * 64 + 64 * 10,
}

# (core, crate, target, profile, qemu command before -kernel, models that fit)
CORES = [
    ("Cortex-M0 (micro:bit)", "qemu-cortex-m", "thumbv6m-none-eabi", "min-size",
     ["qemu-system-arm", "-machine", "microbit", "-cpu", "cortex-m0"], ["mlp.int8"]),
    ("Cortex-M3 (MPS2 AN385)", "qemu-cortex-m", "thumbv7m-none-eabi", "release",
     ["qemu-system-arm", "-machine", "mps2-an385", "-cpu", "cortex-m3"],
     ["mlp.int8", "mlp", "cnn.int8", "cnn"]),
    ("Cortex-M4F (MPS2 AN386)", "qemu-cortex-m", "thumbv7em-none-eabihf", "release",
     ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4"],
     ["mlp.int8", "mlp", "cnn.int8", "cnn"]),
    ("Cortex-M7 (MPS2 AN500)", "qemu-cortex-m", "thumbv7em-none-eabihf", "release",
     ["qemu-system-arm", "-machine", "mps2-an500", "-cpu", "cortex-m7"],
     ["mlp.int8", "mlp", "cnn.int8", "cnn"]),
    ("RISC-V rv32imac (virt)", "qemu-riscv", "riscv32imac-unknown-none-elf", "release",
     ["qemu-system-riscv32", "-machine", "virt", "-cpu", "rv32", "-bios", "none"],
     ["mlp.int8", "mlp", "cnn.int8", "cnn"]),
]
SEMI = ["-nographic", "-semihosting-config", "enable=on,target=native"]


def llvm_size():
    sysroot = subprocess.check_output(["rustc", "--print", "sysroot"], text=True).strip()
    host = re.search(r"host: (\S+)", subprocess.check_output(["rustc", "-vV"], text=True))
    return os.path.join(sysroot, "lib", "rustlib", host.group(1), "bin", "llvm-size")


def build(crate, target, profile, model, images, runs):
    env = dict(os.environ, BORN_BOARD_ONLY=model, BORN_BOARD_IMAGES=str(images),
               BORN_BOARD_RUNS=str(runs), BORN_BOARD_MODELS=MODELS)
    env.pop("CARGO_TARGET_DIR", None)
    cwd = os.path.join(ROOT, "boards", crate)
    subprocess.run(["cargo", "build", "-q", "--profile", profile, "--target", target],
                   cwd=cwd, env=env, check=True)
    out = "release" if profile == "release" else profile
    elf = os.path.join(ROOT, "boards", "target", target, out, crate)
    dst = os.path.join(ROOT, "target", "board-figures", f"{crate}-{target}-{model}-r{runs}.elf")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(elf, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    return dst


def run(qemu, elf, defmt):
    """Runs ELF under QEMU with the insncount plugin: (instructions, report text). With
    `defmt`, the firmware's stdout is defmt frames, decoded with defmt-print."""
    cmd = qemu + SEMI + ["-icount", "shift=0", "-plugin", PLUGIN, "-kernel", elf]
    p = subprocess.run(cmd, capture_output=True, timeout=1800)
    err = p.stderr.decode(errors="replace")
    if defmt:
        d = subprocess.run(["defmt-print", "-e", elf], input=p.stdout, capture_output=True,
                           check=True)
        text = d.stdout.decode(errors="replace")
    else:
        text = p.stdout.decode(errors="replace")
    text += err
    if p.returncode != 0:
        sys.exit(f"board_figures: {' '.join(cmd)} failed:\n{text}")
    insns = int(re.search(r"insns: (\d+)", text).group(1))
    return insns, text


def sizes(elf):
    out = subprocess.check_output([llvm_size(), "-A", elf], text=True)
    sec = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            sec[parts[0]] = int(parts[1])
    flash = sum(v for k, v in sec.items() if k in (".vector_table", ".text", ".rodata",
                                                   ".init", ".data", ".srodata", ".sdata"))
    return flash, sec.get(".bss", 0) + sec.get(".sbss", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--core", default="", help="only cores whose name contains this")
    ap.add_argument("--model", default="", help="only this model (e.g. mlp.int8)")
    args = ap.parse_args()
    rows = []
    for core, crate, target, profile, qemu, models in CORES:
        if args.core not in core:
            continue
        for model in models:
            if args.model and model != args.model:
                continue
            path = os.path.join(MODELS, model + ".born")
            if not os.path.exists(path):
                sys.exit(f"board_figures: {path} missing: run bash scripts/board-models.sh")
            e1 = build(crate, target, profile, model, args.images, 1)
            e2 = build(crate, target, profile, model, args.images, 2)
            defmt = crate == "qemu-cortex-m"
            i1, text = run(qemu, e1, defmt)
            i2, _ = run(qemu, e2, defmt)
            per = (i2 - i1) / args.images
            flash, bss = sizes(e1)
            model_bytes = os.path.getsize(path)
            # pixels, label and the host's prediction per image
            image_bytes = args.images * 786
            code = flash - model_bytes - image_bytes
            stack = re.search(r"stack (\d+) bytes", text)
            arena = re.search(r"arena (\d+) bytes", text)
            macs = MACS[model.split(".")[0]]
            rows.append((core, model, flash, code, model_bytes, int(arena.group(1)) if arena
                         else 0, bss, int(stack.group(1)) if stack else 0, per, per / macs))
            print(f"{core:26} {model:9} flash {flash:>9} code {code:>7} model {model_bytes:>8}"
                  f" arena {rows[-1][5]:>7} stack {rows[-1][7]:>5} insns/inference {per:>12.0f}"
                  f" insns/MAC {per / macs:.2f}", flush=True)
    table = [
        "| core | model | flash bytes | runtime code | model data | arena | static RAM (.bss) | stack high-water | instructions / inference | instructions / MAC |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for core, model, flash, code, mb, arena, bss, stack, per, pm in rows:
        table.append(f"| {core} | {model} | {flash:,} | {code:,} | {mb:,} | {arena:,} | {bss:,} |"
                     f" {stack:,} | {per:,.0f} | {pm:.2f} |")
    block = "\n".join([BEGIN, f"Generated by `python3 scripts/board_figures.py --images {args.images}`"
                       " (see the script's docstring for the method).", ""] + table + [END])
    print("\n" + block)
    if args.no_write:
        return
    doc = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    with open(doc) as f:
        s = f.read()
    if BEGIN in s and END in s:
        s = s[:s.index(BEGIN)] + block + s[s.index(END) + len(END):]
    else:
        s = s.rstrip("\n") + "\n\n## Microcontrollers under QEMU (exact instruction counts)\n\n" + block + "\n"
    with open(doc, "w") as f:
        f.write(s)
    print(f"updated {doc}")


if __name__ == "__main__":
    main()

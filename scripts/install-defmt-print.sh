#!/usr/bin/env bash
# Installs defmt-print, the host decoder of the defmt frames Born's Cortex-M firmware
# reports through (`qemu-system-arm ... -kernel ELF | defmt-print -e ELF`), with cargo,
# unless a defmt-print is already on PATH. About a minute of compiling on two cores.
set -euo pipefail
if command -v defmt-print >/dev/null 2>&1; then
  exit 0
fi
cargo install --locked --quiet defmt-print --version 1.2.0

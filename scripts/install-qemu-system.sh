#!/usr/bin/env bash
# Installs what running Born's firmware under emulation needs: qemu-system-arm (Cortex-M
# boards), qemu-system-misc (riscv32 virt) and qemu-user, the bare-metal Rust targets and
# llvm-tools (llvm-size), and builds the instruction-counting QEMU plugin into
# target/libinsncount.so. Idempotent: what is already there is kept.
#
# A plain `apt-get install` is tried first. Debian 12 machines that carry qemu-utils from
# bookworm-backports get 7.2 system emulators that do not work beside it; for those, the
# emulators come from bookworm-backports too, through a private sources folder (/etc is not
# edited).
set -euo pipefail
cd "$(dirname "$0")/.."

qemu_ok() {
  qemu-system-arm --version >/dev/null 2>&1 &&
    qemu-system-riscv32 --version >/dev/null 2>&1 &&
    qemu-arm --version >/dev/null 2>&1
}

if ! qemu_ok; then
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(qemu-system-arm qemu-system-misc qemu-user)
  apt-get update -q >/dev/null
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 || ! qemu_ok; then
    if [ ! -f /etc/apt/sources.list.d/debian.sources ]; then
      echo "install-qemu-system: apt could not install ${pkgs[*]} and this is not a Debian" \
        "machine with /etc/apt/sources.list.d/debian.sources; install them by hand" >&2
      exit 1
    fi
    echo "install-qemu-system: plain install did not give working emulators; using bookworm-backports" >&2
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    cp /etc/apt/sources.list.d/debian.sources "$src/"
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$uri" >"$src/backports.sources"
    apt-get -o Dir::Etc::SourceParts="$src" update -q >/dev/null
    apt-get -o Dir::Etc::SourceParts="$src" install -y -q --no-install-recommends \
      -t bookworm-backports "${pkgs[@]}" >/dev/null
  fi
  qemu_ok || { echo "install-qemu-system: qemu-system-arm/riscv32 or qemu-arm does not run" >&2; exit 1; }
fi

targets=(thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools

plugin_src=../shared/tools/qemu-insncount/insncount.c
[ -f "$plugin_src" ] || plugin_src=../../shared/tools/qemu-insncount/insncount.c
mkdir -p target
if [ -f "$plugin_src" ]; then
  # The plugin declares plugin API version 2 (QEMU 8 and later); QEMU 7.x loads only
  # version 1, whose calls the plugin uses are the same: build it with the version this
  # QEMU takes.
  major=$(qemu-system-arm --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
  api=2
  if [ -n "$major" ] && [ "$major" -lt 8 ]; then api=1; fi
  stamp=target/libinsncount.api
  if [ ! -f target/libinsncount.so ] || [ "$plugin_src" -nt target/libinsncount.so ] ||
    [ "$(cat "$stamp" 2>/dev/null)" != "$api" ]; then
    src=$(mktemp --suffix=.c)
    sed "s/qemu_plugin_version = 2;/qemu_plugin_version = $api;/" "$plugin_src" >"$src"
    gcc -O2 -shared -fPIC -o target/libinsncount.so "$src"
    rm -f "$src"
    echo "$api" >"$stamp"
  fi
else
  echo "install-qemu-system: $plugin_src not found; skipping the insncount plugin" >&2
fi

#!/usr/bin/env bash
# Installs what running aarch64 Linux binaries needs on an x86_64 Debian/Ubuntu host: the
# cross linker and qemu-user. Debian 12 machines that carry qemu-utils from bookworm-backports
# need qemu from backports too; a private sources folder is used for that (no edit of /etc).
set -euo pipefail
if command -v qemu-aarch64 >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
if ! command -v qemu-aarch64 >/dev/null; then
  if ! apt-get install -y -q --no-install-recommends qemu-user >/dev/null 2>&1; then
    src=$(mktemp -d)
    cp /etc/apt/sources.list.d/debian.sources "$src/"
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$uri" >"$src/backports.sources"
    apt-get -o Dir::Etc::SourceParts="$src" update -q >/dev/null
    apt-get -o Dir::Etc::SourceParts="$src" install -y -q --no-install-recommends \
      -t bookworm-backports qemu-user >/dev/null
  fi
fi
command -v qemu-aarch64 >/dev/null
command -v aarch64-linux-gnu-gcc >/dev/null

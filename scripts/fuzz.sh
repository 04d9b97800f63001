#!/usr/bin/env bash
# Fuzzes Model::from_bytes (and an interpreter run of whatever loads) with cargo-fuzz.
#
#   scripts/fuzz.sh [SECONDS]        default 60
#
# Needs a nightly toolchain (installed with rustup if missing) and cargo-fuzz (installed
# with cargo if missing). New inputs go to fuzz/corpus-work/ (not committed); the committed
# seeds in fuzz/corpus/model_from_bytes/ are read only. A crash is saved under
# fuzz/artifacts/model_from_bytes/ and makes this script fail.
set -euo pipefail

secs="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

mkdir -p fuzz/corpus-work
# -rss_limit_mb: the target allocates at most a 64 MiB arena on top of the input copy.
# -a: debug assertions and overflow checks on, as in the test profile (an overflow is a
# panic there).
cargo +nightly fuzz run -a model_from_bytes fuzz/corpus-work fuzz/corpus/model_from_bytes -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1

#!/usr/bin/env bash
# Fuzzes Model::from_bytes (and an interpreter run of whatever loads) and the ONNX importer
# (born_std::onnx::convert_bytes, then encoding and reloading what converts) with cargo-fuzz.
#
#   scripts/fuzz.sh [SECONDS]        default 60, split evenly between the two targets
#
# Needs a nightly toolchain (installed with rustup if missing) and cargo-fuzz (installed
# with cargo if missing). New inputs go to fuzz/corpus-work/TARGET/ (not committed); the
# committed seeds in fuzz/corpus/TARGET/ are read only. A crash is saved under
# fuzz/artifacts/TARGET/; a crash or a build failure in either target makes this script
# fail, after both have run.
set -euo pipefail

secs="${1:-60}"
targets=(model_from_bytes onnx_convert)
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Each target gets its share of the budget, at least one second.
share=$(( secs / ${#targets[@]} ))
(( share >= 1 )) || share=1

failed=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus-work/$t"
    # -rss_limit_mb: model_from_bytes allocates at most a 64 MiB arena on top of the input
    # copy; onnx_convert encodes only graphs under 1 MiB of constants and runs only those
    # with an arena under 16 MiB.
    # -a: debug assertions and overflow checks on, as in the test profile (an overflow is a
    # panic there).
    if ! cargo +nightly fuzz run -a "$t" "fuzz/corpus-work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$share" -rss_limit_mb=2048 -print_final_stats=1; then
        failed+=("$t")
    fi
done
if (( ${#failed[@]} > 0 )); then
    echo "fuzz: ${failed[*]} failed (a crash input is saved under fuzz/artifacts/TARGET/)" >&2
    exit 1
fi

#!/usr/bin/env bash
# Batch-1, one-thread latency of the shared ONNX models (../shared/data/onnx) in born,
# onnxruntime and tract, on the same input (the first example of each stored input file),
# with a markdown table at the end. tests/onnx-bench converts each model with
# born_std::onnx, checks born's output against tract's and times the two in alternation;
# scripts/bench_onnx_ort.py times onnxruntime with the same iteration counts and compares
# its output with born's. Figures go to docs/PERFORMANCE.md.
# Usage: bash scripts/bench_onnx.sh [round-ms]        (from the repository root)
#   round-ms: target wall time of one round of the slower of born and tract (default 1000);
#   each runtime runs 5 rounds of that many inferences after a tenth of them (at least 2)
#   as warm-up.
# Exits 1 when a model fails to convert or load, or born's output disagrees with tract's
# (the tables are printed anyway).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUND_MS="${1:-1000}"
DATA="${BORN_DATA:-../shared/data}"
ONNX="$DATA/onnx"
OUT=target/onnx-bench
mkdir -p "$OUT"
python3 -c 'import numpy, onnx, onnxruntime' 2>/dev/null || python3 -m pip install --quiet numpy onnx onnxruntime
cargo build -q --release --manifest-path tests/onnx-bench/Cargo.toml
BIN="${CARGO_TARGET_DIR:-tests/onnx-bench/target}/release/born-onnx-bench"

has() { grep -qw "$1" <<<"$FLAGS" && echo yes || echo no; }
FLAGS="$(grep -m1 '^flags' /proc/cpuinfo || true)"
CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
CPU_LINE="\`lscpu\` model name \`$CPU\`, $(nproc) CPUs; avx2 $(has avx2), avx512f $(has avx512f), avx512_vnni $(has avx512_vnni), avx_vnni $(has avx_vnni)"
TRACT="$(awk '/^name = "tract-onnx"$/ { getline; gsub(/[^0-9.]/, ""); print }' tests/onnx-bench/Cargo.lock)"
ORT="$(python3 -c 'import onnxruntime; print(onnxruntime.__version__)')"
echo "CPU: $CPU_LINE"
echo "$(rustc --version); tract-onnx $TRACT; onnxruntime $ORT; $(date -u +%Y-%m-%d)"

# model folder and its --feed arguments (inputs without one read NAME.npy beside the model)
MODELS=(
  "mnist-cnn|--feed image=$ONNX/mnist-cnn/t10k_first100_images.npy"
  "resnet18|"
  "mobilenet-v2|"
  "efficientnet-b0|"
  "all-minilm-l6-v2|"
)
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "NA" }'; }
status=0
ROWS=()
CHECKS=()
for entry in "${MODELS[@]}"; do
  m="${entry%%|*}"
  read -r -a feeds <<<"${entry#*|}"
  model="$ONNX/$m/model.onnx"
  log="$OUT/$m.log"
  "$BIN" --round-ms "$ROUND_MS" --out-dir "$OUT" "$model" "${feeds[@]}" | tee "$log" || status=1
  res="$(grep '^RESULT' "$log" | tail -1)"
  born="$(field born_us " $res")"; tract="$(field tract_us " $res")"; rel="$(field rel " $res")"
  iters="$(field iters " $res")"; warmup="$(field warmup " $res")"; rounds="$(field rounds " $res")"
  cpu_born="$(field cpu_born " $res")"; cpu_tract="$(field cpu_tract " $res")"
  ort=NA; call=NA; ort_rel=NA; cpu_ort=NA
  if [[ "${iters:-0}" -gt 0 ]]; then
    cmp=()
    [[ -f "$OUT/$m.born.npy" ]] && cmp=(--compare "$OUT/$m.born.npy")
    olog="$OUT/$m.ort.log"
    python3 scripts/bench_onnx_ort.py "$model" --iters "$iters" --warmup "$warmup" \
      --rounds "$rounds" "${feeds[@]}" "${cmp[@]}" | tee "$olog" || status=1
    ores="$(grep '^RESULT' "$olog" | tail -1)"
    ort="$(field ort_us " $ores")"; call="$(field call_us " $ores")"; ort_rel="$(field rel " $ores")"
    cpu_ort="$(field cpu " $ores")"
  fi
  ROWS+=("| $m | ${born:-NA} | ${ort:-NA} | ${tract:-NA} | $(ratio "$born" "$ort") | $(ratio "$born" "$tract") |")
  CHECKS+=("| $m | ${rel:-NA} | ${ort_rel:-NA} | ${iters:-0} x ${rounds:-0} | ${call:-NA} | ${cpu_born:-NA} / ${cpu_ort:-NA} / ${cpu_tract:-NA} |")
done

echo
echo "CPU: $CPU_LINE"
echo
echo "| model | born (us) | onnxruntime (us) | tract (us) | born/ort | born/tract |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "| model | max abs diff / max abs out, born vs tract | born vs onnxruntime | inferences x rounds | onnxruntime Identity call (us) | CPU / wall: born / ort / tract |"
echo "|---|---:|---:|---:|---:|---|"
printf '%s\n' "${CHECKS[@]}"
exit "$status"

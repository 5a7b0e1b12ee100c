#!/usr/bin/env bash
# What identify's dihedral test-time augmentation (--augment dihedral) gains: PSNR(ĥ) with (fc, θmax) given on the
# three held-out domains (n 64, seed 1, the judge's test sets) at one crop size, each crop seen once and in its eight
# flips/transposes. Usage: scripts/eval/augment.sh MODEL [CROP] [OUT_DIR]   (CROP default 128: identify's patch)
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:?usage: scripts/eval/augment.sh MODEL [CROP] [OUT_DIR]}
C=${2:-128}
OUT=${3:-runs/augment-$(basename "$M" .safetensors)-$C}
source scripts/eval/domains.sh
export PSFID_THREADS=${PSFID_THREADS:-1}
mkdir -p "$OUT"
for a in none dihedral; do
  line=()
  for d in "${DOMAINS[@]}"; do
    # shellcheck disable=SC2086
    node bin/psfid.js eval --model "$M" ${IMAGES[$d]} --n 64 --seed 1 --mode given --crop-size "$C" --baselines none --augment "$a" --out "$OUT/$a-$d.json" > "$OUT/$a-$d.out"
    line+=("$(psnr_mean "$OUT/$a-$d.json" network-given)")
  done
  echo "augment $a, ${C}²: ${line[0]} / ${line[1]} / ${line[2]} dB (natural / histopathology / fluorescence)"
done

#!/usr/bin/env bash
# The model card's classical baselines (they do not depend on the model): the mean PSF, the blind Zernike fit with a
# TV image prior, and the oracle fit with x known, on the first N of the same acquisitions as network.sh (seed 1).
# They take seconds per image. Usage: scripts/eval/baselines.sh [N] [OUT_DIR]   (defaults: 16, runs/eval)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-16}
OUT=${2:-runs/eval}
source scripts/eval/domains.sh
mkdir -p "$OUT"
for d in "${DOMAINS[@]}"; do
  # shellcheck disable=SC2086
  node bin/psfid.js eval ${IMAGES[$d]} --n "$N" --seed 1 --mode none --baselines mean-psf,blind-tv,oracle --title "${TITLES[$d]}" --out "$OUT/$d-baselines.json"
done

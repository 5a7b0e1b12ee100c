#!/usr/bin/env bash
# Packs a subset of ../shared/data into .devdata/ (ignored by git, carried by the `device` tool, which does not carry
# ../shared): the smallest files of each training source under a byte budget, with a MANIFEST.tsv of just those rows
# (paths stay relative to it, as the training config expects), and held-out validation folders for `psfid eval`.
# Only images whose sides reach the crop that uses them are taken (a training crop of C px with a PSF of S px needs
# C + S − 1): the rest would be skipped there.
# Usage: scripts/device/pack-data.sh [TRAIN_MB_PER_SOURCE] [VAL_MB_PER_DOMAIN] [TRAIN_MIN_SIDE_PX] [VAL_MIN_SIDE_PX]
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo '/.devdata/' >> .git/info/exclude
data=../shared/data; trainMb=${1:-4}; valMb=${2:-3}; trainMin=${3:-286}; valMin=${4:-158}
rm -rf .devdata && mkdir -p .devdata/val
head -1 "$data/MANIFEST.tsv" > .devdata/MANIFEST.tsv
# One line per file: split, domain, source, size, path; smallest first within each (split, domain, source).
tail -n +2 "$data/MANIFEST.tsv" | while IFS=$'\t' read -r path domain split source original width height rest; do
  min=$([ "$split" = train ] && echo "$trainMin" || echo "$valMin")
  [ "$width" -ge "$min" ] && [ "$height" -ge "$min" ] || continue
  printf '%s\t%s\t%s\t%s\t%s\n' "$split" "$domain" "$source" "$(stat -c %s "$data/$path")" "$path"
done | sort -t$'\t' -k1,1 -k2,2 -k3,3 -k4,4n | awk -F'\t' -v tb="$trainMb" -v vb="$valMb" '
  { key = $1 "|" $2 (($1 == "train") ? "|" $3 : ""); cap = (($1 == "train") ? tb : vb) * 1e6
    if (used[key] + $4 <= cap) { used[key] += $4; print $1 "\t" $2 "\t" $5 } }' |
while IFS=$'\t' read -r split domain path; do
  if [ "$split" = train ]; then
    mkdir -p ".devdata/$(dirname "$path")" && cp "$data/$path" ".devdata/$path"
    grep -F "$path"$'\t' "$data/MANIFEST.tsv" >> .devdata/MANIFEST.tsv
  else
    mkdir -p ".devdata/val/$domain" && cp "$data/$path" ".devdata/val/$domain/$(echo "$path" | tr / _)"
  fi
done
awk -F'\t' 'NR>1{n[$2]++} END{for(d in n) print "train", d, n[d]}' .devdata/MANIFEST.tsv
for d in .devdata/val/*; do echo "val $(basename "$d") $(ls "$d" | wc -l)"; done
du -sh .devdata

#!/usr/bin/env bash
# Does capacity limit the shipped architecture? The `small` architecture at twice the width (baseChannels and
# spectralChannels 32: ≈ 2.8 M parameters) trained from scratch through the whole curriculum of the shipped model
# (fixed optics → varying optics → μ's noise → real images; configs/experiments/wide-gpu-s1…s4.json, batch 64) on the
# GPU machine in a few minutes. Run through the `device` tool from the repository root, carrying dist, .devcarry
# (scripts/device/pack.sh) and .devdata (scripts/device/pack-data.sh 4 3 94 94). Each stage starts --init-from the
# previous one's model and is cut at its own time limit (S1_S … S4_S seconds); the last stage's model comes back as
# $OUT/wide-gpu.safetensors (float16, ≈ 5 MB) with its curves, and is evaluated on .devdata/val (64² crops).
# SKIP_BUILD=1 DEVICE=cpu S1_S=… run it here as a dry run of the flow (with small stage limits).
set -u
DEVICE=${DEVICE:-cuda}; BASE=/tmp/wide-run
source scripts/device/setup.sh
rm -rf "$BASE"; mkdir -p "$BASE"
gpu_monitor
prev=""
for s in 1 2 3 4; do
  RUN=$BASE/s$s; lim_var=S${s}_S; lim=${!lim_var:-60}
  stamp "stage $s"
  timeout "$lim" node bin/psfid.js train --config configs/experiments/wide-gpu-s$s.json --out "$RUN" --device "$DEVICE" \
    ${prev:+--init-from "$prev"} > "$LOGS/train-s$s.out" 2>&1
  echo "stage $s rc=$?"; grep '"kind":"val' "$RUN/log.jsonl" | tail -2; cp "$RUN/log.jsonl" "$LOGS/train-s$s-log.jsonl"
  [ -f "$RUN/model.safetensors" ] || { echo "stage $s left no model"; tail -20 "$LOGS/train-s$s.out"; break; }
  prev=$RUN/model.safetensors
done
gpu_monitor_stop
RUN=""
[ -n "$prev" ] && cp "$prev" "$FINAL/wide-gpu.safetensors" && cp "$BASE/s4/curves.png" "$FINAL/wide-gpu-curves.png" 2>/dev/null
stamp eval
[ -n "$prev" ] && eval_domains "$prev" 64 wide
stamp done

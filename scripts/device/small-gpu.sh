#!/usr/bin/env bash
# The next GPU session's training of the shipped `small` model (issue 5), run through the `device` tool from the
# repository root: carry dist, .devcarry (scripts/device/pack.sh) and .devdata (scripts/device/pack-data.sh 5 3 94 94:
# a subset of ../shared/data whose images reach the 94 px a 64² crop needs).
# Continues models/psfid-small.safetensors (--init-from) with configs/experiments/small-gpu-mixed.json (the shipped
# model's last stage, crop sides 64²/128²/256² in turn, with batch 32 and lr 10⁻⁴; sessions 7–8 used
# small-gpu-devdata.json and small-gpu-256.json, written for the models before the pixel correction, so with them
# give INIT an older model) for TRAIN_S seconds (TRAIN_STEPS sets the schedule's
# length), then brings the result back as $OUT/small-gpu.safetensors (≈ 1.9 MB, float16: it fits the tool's 16 MiB
# per file, unlike the `seed` preset's 230 MB) and evaluates it next to the shipped model on .devdata/val (64² crops).
# Judge it here afterwards on the full held-out sets (scripts/eval/network.sh, scripts/analysis/gain-over-mean.mjs).
# CONFIG picks another stage config and EVAL_CROP the evaluation's crop side: the 256² stage is
# CONFIG=configs/experiments/small-gpu-256.json EVAL_CROP=256, with .devdata from scripts/device/pack-data.sh 5 3
# (images that reach the 286 px a 256² crop needs).
# Across sessions: the run's checkpoint (weights and Adam's state, 8.5 MB for `small`) comes back split into
# $OUT/checkpoint.part0, part1, … (the tool returns at most 16 MiB per file). Put them in .devresume/ here (ignored by
# git; with logs.tar.gz's train-log.jsonl as .devresume/log.jsonl), carry it too, and RESUME=1 with the same CONFIG
# and TRAIN_STEPS continues that run exactly where it stopped (--resume).
# INIT=FILE starts from another model file (carried, e.g. in .devresume/) with a fresh schedule.
# SKIP_BUILD=1 DEVICE=cpu run it here as a dry run of the flow.
set -u
DEVICE=${DEVICE:-cuda}; RUN=/tmp/small-run
source scripts/device/setup.sh
# The GPU noise draws (Generator.fork, data.noiseDraws 'auto' = on the GPU since session 12, never run on a GPU before
# the next session): their CUDA tests first (≈ 20 s; a failure is printed, and TRAIN_FLAGS can pin the CPU draws
# with a config whose data.noiseDraws is "cpu").
CONFIG=${CONFIG:-configs/experiments/small-gpu-mixed.json}
if [ "$DEVICE" != cpu ]; then
  PSFID_THREADS=4 timeout 120 node --test dist/test/engine/fork.test.js dist/test/acquisition/noise.test.js dist/test/acquisition/acquire.test.js \
    > "$LOGS/noise-draws-tests.log" 2>&1; rc=$?; echo "GPU noise-draw tests rc=$rc"; grep -E '^# (pass|fail|skipped)|^not ok' "$LOGS/noise-draws-tests.log"
  if [ $rc != 0 ]; then  # train anyway, with the noise drawn on the CPU as before session 12
    node -e 'const f=require("fs"), c=JSON.parse(f.readFileSync(process.argv[1])); c.data.noiseDraws="cpu"; f.writeFileSync("/tmp/config-cpu-noise.json", JSON.stringify(c))' "$CONFIG"
    CONFIG=/tmp/config-cpu-noise.json; echo "training with data.noiseDraws cpu ($CONFIG)"
  fi
fi
# Where the acquisition's time goes on this device, stage by stage, noise drawn on the CPU and on the GPU (a few
# seconds; docs/gpu.md).
timeout 90 node scripts/device/acquire-profile.mjs "$DEVICE" 32 256 10 | tee "$LOGS/acquire-profile.jsonl"
stamp train
rm -rf "$RUN"; mkdir -p "$RUN"
start=(--init-from "${INIT:-models/psfid-small.safetensors}")
if [ -n "${RESUME:-}" ]; then
  cat .devresume/checkpoint.part* > "$RUN/checkpoint.safetensors" || { echo "RESUME=1 but no .devresume/checkpoint.part*"; exit 1; }
  cp .devresume/log.jsonl "$RUN/log.jsonl" 2>/dev/null
  start=(--resume)
fi
gpu_monitor
timeout ${TRAIN_S:-420} node bin/psfid.js train --config "$CONFIG" --out "$RUN" --device "$DEVICE" \
  "${start[@]}" ${TRAIN_FLAGS:-} ${TRAIN_STEPS:+--steps $TRAIN_STEPS} > "$LOGS/train.out" 2>&1
echo "train rc=$?"; gpu_monitor_stop
tail -c 600 "$LOGS/train.out"; echo; grep '"kind":"val' "$RUN/log.jsonl"
cp "$RUN/model.safetensors" "$FINAL/small-gpu.safetensors" && cp "$RUN/curves.png" "$FINAL/small-gpu-curves.png"
split -b 15m -d -a 1 "$RUN/checkpoint.safetensors" "$FINAL/checkpoint.part"
stamp eval
eval_domains "$RUN/model.safetensors" "${EVAL_CROP:-64}" new
eval_domains models/psfid-small.safetensors "${EVAL_CROP:-64}" shipped
stamp done

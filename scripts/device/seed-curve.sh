#!/usr/bin/env bash
# Session 6's GPU check (issues 4 and 5), run through the `device` tool from the repository root:
#   carry: dist, .devcarry (scripts/device/pack.sh) and .devdata (scripts/device/pack-data.sh: a subset of
#   ../shared/data, which does not travel).
# Builds the addon against the machine's PyTorch (CUDA), trains the `seed` preset (batch 32, 256² crops, real images
# of the three training domains mixed with the procedural ones: configs/experiments/seed-gpu-devdata.json) for
# TRAIN_S seconds with a validation every 250 steps, records GPU memory and load, evaluates the result on the
# held-out folders of .devdata/val, then runs the deconv bench on CUDA. The logs are packed into $OUT/logs.tar.gz after
# every stage (the tool brings back at most 8 files), and the key lines go to standard output.
# CONFIG picks another config (configs/experiments/seed-gpu-devdata-bf16.json: the same in bfloat16 convolutions;
# medium-gpu-devdata.json / medium-gpu-crops.json: the seed architecture at half the channels, 8.9 M parameters, whose weights come back as
# $OUT/model.part0, part1 and can start the next session's run: put them in .devresume/, carry it, and give
# INIT=".devresume/model.part*"; carry at most 64 MiB: pack the data small, scripts/device/pack-data.sh 2 2 286 286, or
# many crops of every training file, node scripts/device/pack-crops.mjs).
# SKIP_BUILD=1 DEVICE=cpu run it here as a dry run of the flow.
set -u
DEVICE=${DEVICE:-cuda}; RUN=/tmp/seed-run
source scripts/device/setup.sh
stamp train
rm -rf "$RUN"; mkdir -p "$RUN"
# INIT=".devresume/model.part*": the weights a previous session brought back, in parts (below): a fresh optimizer.
start=()
if [ -n "${INIT:-}" ]; then
  # shellcheck disable=SC2086
  cat $INIT > /tmp/seed-init.safetensors || { echo "INIT=$INIT: nothing to read"; exit 1; }
  start=(--init-from /tmp/seed-init.safetensors)
fi
gpu_monitor
timeout ${TRAIN_S:-330} node bin/psfid.js train --config "${CONFIG:-configs/experiments/seed-gpu-devdata.json}" --out "$RUN" --device "$DEVICE" "${start[@]}" ${TRAIN_FLAGS:-} ${TRAIN_STEPS:+--steps $TRAIN_STEPS} > "$LOGS/train.out" 2>&1
echo "train rc=$?"; gpu_monitor_stop
cp "$RUN/curves.png" "$FINAL/" 2>/dev/null
head -c 600 "$LOGS/train.out"; echo; tail -c 400 "$LOGS/train.out"; echo; grep '"kind":"val' "$RUN/log.jsonl"
stamp export
model=$RUN/model.safetensors
[ -f "$model" ] || { node bin/psfid.js model export --checkpoint "$RUN/checkpoint.safetensors" --out /tmp/seed-model.safetensors && model=/tmp/seed-model.safetensors; }
# The weights come back in 15 MB parts when they fit what the tool returns (8 files, 64 MiB with the logs): the
# `medium` config's 8.9 M parameters (18 MB in float16) do, the seed preset's 115 MB do not (docs/gpu.md).
if [ "$(stat -c %s "$model")" -le 45000000 ]; then split -b 15m -d -a 1 "$model" "$FINAL/model.part"; ls -la "$FINAL"; fi
stamp eval
eval_domains "$model" "${EVAL_CROP:-128}" seed
stamp bench
if [ "$DEVICE" = cuda ] && [ -z "${SKIP_BENCH:-}" ]; then
  PSFID_BENCH_DEVICE=cuda PSFID_BENCH_PYTHON=$(command -v python3) timeout ${BENCH_S:-90} node dist/bench/run.js deconv > "$LOGS/bench-deconv-cuda.jsonl" 2> "$LOGS/bench-deconv-cuda.err"
  echo "deconv bench rc=$?"; cat "$LOGS/bench-deconv-cuda.jsonl"; tail -3 "$LOGS/bench-deconv-cuda.err"
fi
stamp done

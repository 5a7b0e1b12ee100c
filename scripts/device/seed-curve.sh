#!/usr/bin/env bash
# Session 6's GPU check (issues 4 and 5), run through the `device` tool from the repository root:
#   carry: dist, .devcarry (scripts/device/pack.sh) and .devdata (scripts/device/pack-data.sh: a subset of
#   ../shared/data, which does not travel).
# Builds the addon against the machine's PyTorch (CUDA), trains the `seed` preset (batch 32, 256² crops, real images
# of the three training domains mixed with the procedural ones: configs/experiments/seed-gpu-devdata.json) for
# TRAIN_S seconds with a validation every 250 steps, records GPU memory and load, evaluates the result on the
# held-out folders of .devdata/val, then runs the deconv bench on CUDA. The logs are packed into $OUT/logs.tar.gz after
# every stage (the tool brings back at most 8 files), and the key lines go to standard output.
# SKIP_BUILD=1 DEVICE=cpu run it here as a dry run of the flow.
set -u
FINAL=${OUT:-/tmp/seed-curve}; OUT=/tmp/seed-logs; rm -rf "$OUT"; mkdir -p "$OUT" "$FINAL"; DEVICE=${DEVICE:-cuda}; RUN=/tmp/seed-run
t0=$(date +%s)
stamp() { cp "$RUN/log.jsonl" "$OUT/train-log.jsonl" 2>/dev/null; tar -czf "$FINAL/logs.tar.gz" -C "$OUT" .; echo "== $1 at +$(( $(date +%s) - t0 )) s"; }
if [ -z "${SKIP_BUILD:-}" ]; then
  mkdir -p .devcarry/bin && xz -dc .devcarry/node.xz > .devcarry/bin/node && chmod +x .devcarry/bin/node
  export PATH=$PWD/.devcarry/bin:$PATH
  tar -xJf .devcarry/mods.tar.xz
  stamp setup; nvidia-smi -L; python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
  { timeout 200 node scripts/build-native.mjs --node-api-include .devcarry || PSFID_CXX_STD=c++20 timeout 200 node scripts/build-native.mjs --node-api-include .devcarry; } > "$OUT/build.log" 2>&1
  rc=$?; tail -5 "$OUT/build.log"; [ $rc = 0 ] || { echo "BUILD FAILED"; tail -40 "$OUT/build.log"; exit 1; }
fi
stamp train
rm -rf "$RUN"; mkdir -p "$RUN"
if command -v nvidia-smi >/dev/null; then
  (nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -l 5 > "$OUT/gpu.csv" 2>&1 &)
fi
timeout ${TRAIN_S:-330} node bin/psfid.js train --config configs/experiments/seed-gpu-devdata.json --out "$RUN" --device "$DEVICE" ${TRAIN_FLAGS:-} ${TRAIN_STEPS:+--steps $TRAIN_STEPS} > "$OUT/train.out" 2>&1
echo "train rc=$?"; pkill -f "nvidia-smi --query-gpu" 2>/dev/null
cp "$RUN/curves.png" "$FINAL/" 2>/dev/null
head -c 600 "$OUT/train.out"; echo; tail -c 400 "$OUT/train.out"; echo; grep '"kind":"val' "$RUN/log.jsonl"
stamp export
model=$RUN/model.safetensors
[ -f "$model" ] || { node bin/psfid.js model export --checkpoint "$RUN/checkpoint.safetensors" --out /tmp/seed-model.safetensors && model=/tmp/seed-model.safetensors; }
stamp eval
for d in natural-val histopathology fluorescence; do
  timeout 60 node bin/psfid.js eval --model "$model" --images ".devdata/val/$d" --n 64 --seed 1 --mode given --crop-size ${EVAL_CROP:-128} \
    --baselines mean-psf --device "$DEVICE" --out "$OUT/eval-$d.json" > "$OUT/eval-$d.out" 2>&1
  echo "eval $d rc=$?"; tail -6 "$OUT/eval-$d.out"; stamp "eval $d"
done
stamp bench
if [ "$DEVICE" = cuda ] && [ -z "${SKIP_BENCH:-}" ]; then
  PSFID_BENCH_DEVICE=cuda PSFID_BENCH_PYTHON=$(command -v python3) timeout ${BENCH_S:-90} node dist/bench/run.js deconv > "$OUT/bench-deconv-cuda.jsonl" 2> "$OUT/bench-deconv-cuda.err"
  echo "deconv bench rc=$?"; cat "$OUT/bench-deconv-cuda.jsonl"; tail -3 "$OUT/bench-deconv-cuda.err"
fi
stamp done

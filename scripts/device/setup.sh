# Sourced by the device scripts (seed-curve.sh, small-gpu.sh) on the GPU machine, from the repository root: unpacks
# the carried Node and npm packages (.devcarry, scripts/device/pack.sh), builds the addon against the machine's
# PyTorch (CUDA), and defines `stamp STAGE`, which packs the logs under $LOGS into $FINAL/logs.tar.gz (the device
# tool brings back at most 8 files) and prints the time. SKIP_BUILD=1 skips the unpacking and the build (a dry run
# here, on the CPU).
FINAL=${OUT:-/tmp/device-out}; LOGS=/tmp/device-logs; rm -rf "$LOGS"; mkdir -p "$LOGS" "$FINAL"
t0=$(date +%s)
stamp() { [ -n "${RUN:-}" ] && cp "$RUN/log.jsonl" "$LOGS/train-log.jsonl" 2>/dev/null; tar -czf "$FINAL/logs.tar.gz" -C "$LOGS" .; echo "== $1 at +$(( $(date +%s) - t0 )) s"; }
if [ -z "${SKIP_BUILD:-}" ]; then
  mkdir -p .devcarry/bin && xz -dc .devcarry/node.xz > .devcarry/bin/node && chmod +x .devcarry/bin/node
  export PATH=$PWD/.devcarry/bin:$PATH
  tar -xJf .devcarry/mods.tar.xz
  stamp setup; nvidia-smi -L; python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
  { timeout 200 node scripts/build-native.mjs --node-api-include .devcarry || PSFID_CXX_STD=c++20 timeout 200 node scripts/build-native.mjs --node-api-include .devcarry; } > "$LOGS/build.log" 2>&1
  rc=$?; tail -5 "$LOGS/build.log"; [ $rc = 0 ] || { echo "BUILD FAILED"; tail -40 "$LOGS/build.log"; exit 1; }
fi
# Samples GPU memory and load every 5 s into $LOGS/gpu.csv until the script ends (where nvidia-smi exists).
gpu_monitor() { command -v nvidia-smi >/dev/null && (nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -l 5 > "$LOGS/gpu.csv" 2>&1 &); }
gpu_monitor_stop() { pkill -f "nvidia-smi --query-gpu" 2>/dev/null; true; }
# eval_domains MODEL CROP TAG: `psfid eval` ((fc, θmax) given, n 64, seed 1, mean-PSF baseline) on each held-out folder
# of .devdata/val (scripts/device/pack-data.sh), logs in $LOGS/eval-TAG-DOMAIN.{json,out}, tables on stdout.
eval_domains() {
  local model=$1 crop=$2 tag=$3 d
  # scripts/device/pack-crops.mjs packs no held-out folders: the returned model is judged here instead.
  [ -d .devdata/val ] || { echo "eval $tag: no .devdata/val (pack-crops.mjs), skipped"; return 0; }
  for d in natural-val histopathology fluorescence; do
    timeout 60 node bin/psfid.js eval --model "$model" --images ".devdata/val/$d" --n 64 --seed 1 --mode given --crop-size "$crop" \
      --baselines mean-psf --device "${DEVICE:-cuda}" --out "$LOGS/eval-$tag-$d.json" > "$LOGS/eval-$tag-$d.out" 2>&1
    echo "eval $tag $d rc=$?"; tail -6 "$LOGS/eval-$tag-$d.out"; stamp "eval $tag $d"
  done
}

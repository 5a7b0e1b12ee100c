#!/usr/bin/env bash
# The GPU session's check, run through the `device` tool from the repository root (see docs/gpu.md):
#   carry: dist (the compiled TypeScript) and .devcarry (scripts/device/pack.sh: Node, Node-API headers, npm packages).
# Builds the addon against the machine's Python torch (CUDA), runs the CUDA tests, the engine bench on CUDA against
# PyTorch, the deconv bench (RL, identify) on CUDA, times the seed preset's training step on CUDA, then the whole
# suite; the logs are packed into $OUT/logs.tar.gz after each stage (setup.sh), the key lines go to standard output.
set -u
source scripts/device/setup.sh
node -e "import('./dist/src/engine/index.js').then(m => console.log('cudaDeviceCount', m.cudaDeviceCount()))"
stamp cuda-tests
timeout 150 node --test --test-reporter=spec dist/test/engine/device.test.js dist/test/engine/poisson-exact.test.js > "$LOGS/cuda-tests.log" 2>&1
echo "cuda tests rc=$?"; grep -E "^ℹ (tests|pass|fail|cancelled|skipped)|✖" "$LOGS/cuda-tests.log" | head -30
stamp bench
PSFID_BENCH_DEVICE=cuda PSFID_BENCH_PYTHON=$(command -v python3) PSFID_BENCH_VERBOSE=1 timeout 150 node dist/bench/run.js engine > "$LOGS/bench-cuda.jsonl" 2> "$LOGS/bench-cuda.err"
echo "bench rc=$?"; cat "$LOGS/bench-cuda.jsonl"; tail -4 "$LOGS/bench-cuda.err"
# Richardson–Lucy and identify on the GPU against scikit-image / the PyTorch port (issue 6's deconv figures).
PSFID_BENCH_DEVICE=cuda PSFID_BENCH_PYTHON=$(command -v python3) timeout 120 node dist/bench/run.js deconv > "$LOGS/bench-deconv-cuda.jsonl" 2> "$LOGS/bench-deconv-cuda.err"
echo "deconv bench rc=$?"; cat "$LOGS/bench-deconv-cuda.jsonl"; tail -3 "$LOGS/bench-deconv-cuda.err"
stamp train
gpu_monitor
timeout ${TRAIN_S:-100} node bin/psfid.js train --config configs/experiments/seed-gpu-procedural.json --out /tmp/seed-gpu --device cuda > "$LOGS/train.out" 2>&1
echo "train rc=$?"; cp /tmp/seed-gpu/log.jsonl "$LOGS/train-log.jsonl" 2>/dev/null; tail -3 "$LOGS/train.out"; tail -3 /tmp/seed-gpu/log.jsonl; gpu_monitor_stop
stamp suite
# 2 engine threads per test process: node --test runs one process per core, and libtorch would start one thread per
# core in each of them.
PSFID_THREADS=2 timeout ${SUITE_S:-300} node scripts/run-tests.mjs > "$LOGS/suite.log" 2>&1
echo "suite rc=$?"; grep -E "^ℹ (tests|pass|fail|cancelled|skipped|todo)" "$LOGS/suite.log"; grep -E "✖" "$LOGS/suite.log" | head -30
stamp done

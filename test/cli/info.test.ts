// `psfid info`: the engine it runs on, and what `--precision auto` resolves to on this CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getNumThreads, torchVersion } from '../../src/engine/index.js';
import { cpuHasNativeBfloat16 } from '../../src/model/precision.js';
import { psfid, ROOT } from './helpers.js';

test('psfid info --json: libtorch version, threads, and bfloat16 for auto exactly where the CPU has bfloat16 units', async () => {
  const r = await psfid(['info', '--json'], ROOT);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { libtorch: string; threads: number; cpuAutoPrecision: string };
  assert.equal(info.libtorch, torchVersion());
  // the child inherits PSFID_THREADS, so it runs as many threads as this process
  assert.equal(info.threads, getNumThreads());
  // /proc/cpuinfo read here and in the child: the same answer
  assert.equal(info.cpuAutoPrecision, cpuHasNativeBfloat16() ? 'bfloat16' : 'float32');
});

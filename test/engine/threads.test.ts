// Thread count: setNumThreads sets libtorch's (OpenMP) threads and, where the BLAS is OpenBLAS, OpenBLAS's own
// threads, read back from OpenBLAS itself (openblas_get_num_threads). Without the latter a 1-thread psfid kept a
// second core busy: OpenBLAS's idle threads spin between matrix products.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { blasThreads, getNumThreads, setNumThreads } from '../../src/engine/index.js';

test('setNumThreads sets libtorch’s and OpenBLAS’s thread counts', (t) => {
  const before = getNumThreads();
  t.after(() => setNumThreads(before));
  if (blasThreads() === null) return t.skip('the BLAS libtorch loaded is not OpenBLAS');
  for (const n of [1, Math.min(2, availableParallelism()), 1]) {
    setNumThreads(n);
    assert.equal(getNumThreads(), n);
    assert.equal(blasThreads(), n);
  }
  assert.throws(() => setNumThreads(0), /at least 1 thread/);
});

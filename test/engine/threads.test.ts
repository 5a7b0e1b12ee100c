// Thread count: setNumThreads sets libtorch's (OpenMP) threads and, where the BLAS is OpenBLAS, OpenBLAS's own
// threads, read back from OpenBLAS itself (openblas_get_num_threads). Without the latter a 1-thread psfid kept a
// second core busy: OpenBLAS's idle threads spin between matrix products.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { blasThreads, getNumThreads, packageRoot, setNumThreads } from '../../src/engine/index.js';

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

/** The DT_NEEDED entries of a shared library (readelf), or null without readelf. */
function needed(file: string): string[] | null {
  try {
    const out = execFileSync('readelf', ['-d', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 });
    return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  } catch {
    return null;
  }
}

// at::parallel_for is a header template: in a file compiled without OpenMP it runs every block on the calling thread
// (until session 19 the addon's own parallel loops, poissonExact's and the threaded FFTs', did). Built right, the
// addon links the OpenMP runtime libtorch links, and no other.
test('the addon links the OpenMP runtime libtorch_cpu links (its parallel loops are parallel)', (t) => {
  const root = packageRoot();
  const libDir = execFileSync(process.execPath, [join(root, 'scripts', 'libtorch.mjs'), '--gyp', 'libdir'], { encoding: 'utf8' }).trim();
  const torch = needed(join(libDir, 'libtorch_cpu.so'));
  if (torch === null) return t.skip('readelf is not available');
  const omp = torch.filter((n) => /^lib(g|i)?omp[^/]*\.so/.test(n));
  if (omp.length === 0) return t.skip('libtorch_cpu links no OpenMP runtime');
  const addon = needed(join(root, 'build', 'Release', 'psfid_torch.node'))!;
  assert.deepEqual(addon.filter((n) => /^lib(g|i)?omp[^/]*\.so/.test(n)), omp, `the addon needs ${addon.join(', ')}`);
});

// Finds a libtorch to build the addon against. Order: $LIBTORCH (a prefix with include/ and lib/), Debian's
// libtorch-dev, then a Python torch installation (how CUDA builds come in). Used by setup.mjs and by binding.gyp
// (`node scripts/libtorch.mjs --gyp KEY` prints one value).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const HOW_TO_GET_LIBTORCH =
  'no libtorch found. Get one of: (1) Debian/Ubuntu: `sudo apt-get install libtorch-dev`; ' +
  '(2) a Python PyTorch (`pip install torch`, CUDA builds included) visible to `python3`; ' +
  '(3) the libtorch archive from pytorch.org unpacked anywhere, with LIBTORCH=/path/to/libtorch set.';

function cxx11AbiOf(libDir) {
  // libtorch archives come in both C++ ABIs; the symbol names of libc10 tell which one this is.
  try {
    const out = execFileSync('nm', ['-D', '--defined-only', join(libDir, 'libc10.so')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return out.includes('__cxx11') ? 1 : 0;
  } catch {
    return 1;
  }
}

function fromPrefix(prefix, source) {
  const include = join(prefix, 'include');
  const lib = join(prefix, 'lib');
  if (!existsSync(join(include, 'torch/csrc/api/include/torch/torch.h')) || !existsSync(join(lib, 'libtorch.so'))) return null;
  return {
    source,
    includeDirs: [include, join(include, 'torch/csrc/api/include')],
    libDir: lib,
    cxx11Abi: cxx11AbiOf(lib),
    cuda: existsSync(join(lib, 'libtorch_cuda.so')),
  };
}

function fromDebian() {
  const include = '/usr/include';
  const lib = '/usr/lib/x86_64-linux-gnu';
  if (!existsSync(join(include, 'torch/csrc/api/include/torch/torch.h')) || !existsSync(join(lib, 'libtorch.so'))) return null;
  return {
    source: 'debian libtorch-dev',
    includeDirs: [include, join(include, 'torch/csrc/api/include')],
    libDir: lib,
    cxx11Abi: 1,
    cuda: existsSync(join(lib, 'libtorch_cuda.so')),
  };
}

function fromPython() {
  for (const python of [process.env.PYTHON ?? 'python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(
        python,
        ['-c', 'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      ).trim().split('\n');
      const found = fromPrefix(out[0], `python torch (${python})`);
      if (found) return { ...found, cxx11Abi: Number(out[1]) };
    } catch {
      /* not this python */
    }
  }
  return null;
}

export function findLibtorch() {
  if (process.env.LIBTORCH) {
    const found = fromPrefix(process.env.LIBTORCH, 'LIBTORCH');
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/torch/csrc/api/include/torch/torch.h or lib/libtorch.so`);
    return found;
  }
  return fromDebian() ?? fromPython();
}

/** The libraries to link against `t` (binding.gyp and build-native.mjs). */
export function linkLibs(t) {
  return ['-ltorch', '-ltorch_cpu', ...(t.cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []), '-lc10'];
}

/**
 * The OpenMP runtime that libtorch_cpu links (its DT_NEEDED entry: Debian's libgomp.so.1, the pip wheels' renamed
 * libgomp-<hash>.so.1, or Intel's libiomp5.so), or null when it links none (or readelf is missing). The addon calls
 * at::parallel_for, a header template that runs in parallel only where the including file is compiled with
 * OpenMP; without -fopenmp it ran every block on the calling thread. Linking the very runtime libtorch uses keeps
 * one OpenMP thread pool in the process, so nested regions stay serial as inside libtorch.
 */
export function openmpRuntime(t) {
  try {
    const out = execFileSync('readelf', ['-d', join(t.libDir, 'libtorch_cpu.so')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 });
    for (const m of out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) if (/^lib(g|i)?omp[^/]*\.so/.test(m[1])) return m[1];
  } catch {
    /* no readelf: build without OpenMP */
  }
  return null;
}

/** Compiler and linker flags for OpenMP (see openmpRuntime): [] when libtorch links no OpenMP runtime. */
export function openmpFlags(t) {
  const lib = openmpRuntime(t);
  return lib ? { cflags: ['-fopenmp'], libs: [`-l:${lib}`] } : { cflags: [], libs: [] };
}

/** The addon's device macro for `t`. */
export function deviceDefine(t) {
  return t.cuda ? 'PSFID_CUDA' : 'PSFID_CPU_ONLY';
}

// binding.gyp asks for single values.
if (process.argv[2] === '--gyp') {
  const t = findLibtorch();
  if (!t) {
    console.error(`psfid: ${HOW_TO_GET_LIBTORCH}`);
    process.exit(1);
  }
  const key = process.argv[3];
  const values = {
    include: t.includeDirs.join(' '),
    libdir: t.libDir,
    abi: String(t.cxx11Abi),
    cuda: t.cuda ? '1' : '0',
    libs: linkLibs(t).join(' '),
    defines: deviceDefine(t),
    ompcflags: openmpFlags(t).cflags.join(' '),
    omplibs: openmpFlags(t).libs.join(' '),
  };
  if (!(key in values)) {
    console.error(`unknown key ${key}`);
    process.exit(1);
  }
  process.stdout.write(values[key]);
}

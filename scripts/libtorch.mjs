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
  };
  if (!(key in values)) {
    console.error(`unknown key ${key}`);
    process.exit(1);
  }
  process.stdout.write(values[key]);
}

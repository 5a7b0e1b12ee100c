// Builds the addon (build/Release/psfid_torch.node) with the C++ compiler directly, without node-gyp. setup.mjs uses
// node-gyp (binding.gyp); this is for machines where node-gyp cannot run — no npm, no Node headers under a prefix it
// knows, no network to fetch them — such as the GPU machine, where the CUDA libtorch of its Python torch is the one to
// build against. The flags are binding.gyp's; keep the two in step.
// Usage: node scripts/build-native.mjs [--node-api-include DIR]   (DIR holds node_api.h; default: Node's own)
// PSFID_CXX_STD=c++20 for a libtorch whose headers need a newer standard; CXX picks the compiler (default c++).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deviceDefine, findLibtorch, HOW_TO_GET_LIBTORCH, linkLibs, openmpFlags } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = argv.indexOf('--node-api-include');
const nodeApiCandidates = [
  flag >= 0 ? argv[flag + 1] : null,
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const nodeApiInclude = nodeApiCandidates.find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeApiInclude) {
  console.error(`build-native: node_api.h not found in ${nodeApiCandidates.join(', ')}; pass --node-api-include DIR`);
  process.exit(1);
}
const torch = findLibtorch();
if (!torch) {
  console.error(`build-native: ${HOW_TO_GET_LIBTORCH}`);
  process.exit(1);
}
const addonApiInclude = createRequire(import.meta.url)('node-addon-api').include_dir.replace(/^"|"$/g, '');
const out = join(root, 'build', 'Release', 'psfid_torch.node');
mkdirSync(dirname(out), { recursive: true });
const args = [
  '-shared', '-fPIC', `-std=${process.env.PSFID_CXX_STD ?? 'c++17'}`, '-O2', '-fexceptions', '-frtti', '-Wno-deprecated-declarations', '-Wno-unused-parameter',
  // -fopenmp also makes the driver append -lgomp (the system's) at the end of the link; the runtime libtorch links is
  // named before it (openmpFlags' libs) and the trailing --as-needed drops a second one that resolves nothing
  ...openmpFlags(torch).cflags,
  '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', `-D_GLIBCXX_USE_CXX11_ABI=${torch.cxx11Abi}`,
  `-D${deviceDefine(torch)}`,
  `-I${nodeApiInclude}`, `-I${addonApiInclude}`, ...torch.includeDirs.map((d) => `-I${d}`),
  join(root, 'native', 'psfid_torch.cc'), '-o', out,
  `-L${torch.libDir}`, `-Wl,-rpath,${torch.libDir}`, '-Wl,-z,now', '-Wl,--no-as-needed', ...linkLibs(torch), ...openmpFlags(torch).libs, '-Wl,--as-needed',
];
console.error(`build-native: libtorch from ${torch.source}${torch.cuda ? ' (CUDA)' : ''}; compiling (about a minute)…`);
const r = spawnSync(process.env.CXX ?? 'c++', args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build-native: the compiler failed (exit ${r.status ?? r.signal})`);
  process.exit(1);
}
console.error(`build-native: wrote ${out}`);

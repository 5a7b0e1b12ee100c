// Set-up: makes a fresh clone runnable. Installs libtorch through apt when none is found (as root or with sudo),
// the npm packages, builds the addon and the TypeScript. Idempotent and quick when everything is in place.
// Flags: --rebuild (force the addon and TypeScript builds), --quiet.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch, HOW_TO_GET_LIBTORCH } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const rebuild = args.has('--rebuild');
const log = (msg) => quiet || console.error(`setup: ${msg}`);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`setup: \`${cmd} ${argv.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function newestMtime(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    if (s.isDirectory()) t = Math.max(t, newestMtime(readdirSync(p).map((f) => join(p, f))));
    else t = Math.max(t, s.mtimeMs);
  }
  return t;
}

function haveSudo() {
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// 1. libtorch
let torch = findLibtorch();
if (!torch) {
  const isRoot = process.getuid?.() === 0;
  if (!existsSync('/usr/bin/apt-get') || (!isRoot && !haveSudo())) {
    console.error(`setup: ${HOW_TO_GET_LIBTORCH}`);
    process.exit(1);
  }
  log('installing libtorch-dev with apt-get (once; a few minutes)…');
  const pre = isRoot ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...a) => run(pre.length ? 'sudo' : 'apt-get', pre.length ? ['apt-get', ...a] : a, { env });
  apt('update', '-q');
  apt('install', '-y', '-q', '--no-install-recommends', 'libtorch-dev');
  torch = findLibtorch();
  if (!torch) {
    console.error(`setup: apt-get installed libtorch-dev but it was not found. ${HOW_TO_GET_LIBTORCH}`);
    process.exit(1);
  }
}
log(`libtorch from ${torch.source}${torch.cuda ? ' (CUDA)' : ''}`);

// 2. npm packages
const stamp = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(stamp) || statSync(join(root, 'package.json')).mtimeMs > statSync(stamp).mtimeMs) {
  log('installing npm packages…');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
}

// 3. the addon
const addon = join(root, 'build', 'Release', 'psfid_torch.node');
const addonInputs = [join(root, 'native'), join(root, 'binding.gyp'), join(root, 'scripts', 'libtorch.mjs')];
if (rebuild || !existsSync(addon) || newestMtime(addonInputs) > statSync(addon).mtimeMs) {
  log('building the libtorch addon (about 30 s)…');
  // npm passes its `nodedir` setting to node-gyp as npm_config_nodedir; run directly (node scripts/setup.mjs) there is
  // none, and node-gyp would try to download Node's headers. Use the installed ones when they are there.
  const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_version.h') ? '/usr' : null);
  run(process.execPath, [join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])]);
}

// 4. TypeScript
const tsInputs = ['src', 'test', 'bench', 'tsconfig.json'].map((p) => join(root, p));
const tsStamp = join(root, 'dist', 'src', 'index.js');
if (rebuild || !existsSync(tsStamp) || newestMtime(tsInputs) > newestMtime([join(root, 'dist')])) {
  log('compiling TypeScript…');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
}

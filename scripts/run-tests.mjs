// Runs the compiled test suite with Node's test runner. Extra arguments select folders under dist/test
// (e.g. `npm test -- engine optics`).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const picks = process.argv.slice(2);
const targets = picks.length ? picks.map((p) => join('dist', 'test', p)) : [join('dist', 'test')];
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...targets], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);

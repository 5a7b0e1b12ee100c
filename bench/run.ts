// The benchmark harness: `npm run bench -- [NAME…]` (node dist/bench/run.js). Each bench/NAME.ts exports
// `run(): Promise<BenchLine[]>`; every figure is printed as one JSON line {"name","psfid","reference","unit","ratio"}
// on stdout, ratio = psfid / reference (times: < 1 means psfid is faster). Notes and skips go to stderr.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchLine } from './types.js';

const KNOWN = ['engine', 'optics', 'train', 'deconv'] as const;

const here = dirname(fileURLToPath(import.meta.url));
const available = KNOWN.filter((n) => existsSync(join(here, `${n}.js`)));

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((n) => !(available as readonly string[]).includes(n));
  if (unknown.length) {
    process.stderr.write(`bench: unknown benchmark ${unknown.map((n) => `'${n}'`).join(', ')}; available: ${available.join(', ') || '(none)'}\n`);
    return 2;
  }
  const picks = argv.length ? argv : available;
  let failed = 0;
  for (const name of picks) {
    try {
      const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as { run?: () => Promise<BenchLine[]> };
      if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts exports no run()`);
      for (const line of await mod.run()) process.stdout.write(JSON.stringify(line) + '\n');
    } catch (e) {
      failed++;
      process.stderr.write(`bench: ${name} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));

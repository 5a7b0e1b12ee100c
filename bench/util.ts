// Shared helpers for the benchmarks: timing (warm-up, median over repeats), BenchLine construction, and running a
// Python reference script (Debian's /usr/bin/python3 with python3-torch/numpy/skimage: development tools only).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchLine } from './types.js';

/** The package root: the nearest folder above this file holding package.json and bench/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`bench: cannot find the package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Path of a reference script under bench/python/. */
export function pythonScript(file: string): string {
  return join(repoRoot(), 'bench', 'python', file);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface TimingOptions {
  /** Untimed calls first (allocator, kernels, op-id caches warm up). */
  warmup: number;
  /** Timed calls. */
  repeats: number;
}

/** Runs `fn` warmup + repeats times; returns the timed calls' durations in milliseconds. */
export function sampleMs(fn: () => void, o: TimingOptions): number[] {
  for (let i = 0; i < o.warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < o.repeats; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Median milliseconds of `fn` after warm-up. */
export function timeMs(fn: () => void, o: TimingOptions): number {
  return median(sampleMs(fn, o));
}

export function benchLine(name: string, psfid: number, reference: number, unit: string): BenchLine {
  const round = (v: number): number => Number(v.toPrecision(4));
  return { name, psfid: round(psfid), reference: round(reference), unit, ratio: round(psfid / reference) };
}

/** The reference cannot run here (no python3, or a Python module missing): the figure is skipped. */
export class ReferenceUnavailable extends Error {
  override name = 'ReferenceUnavailable';
}

export const PYTHON = process.env.PSFID_BENCH_PYTHON ?? '/usr/bin/python3';

const moduleChecks = new Map<string, string | null>();

/** Null when `python3 -c "import m"` works for every module, else why not (with the package to install). */
export function pythonMissing(modules: readonly string[]): string | null {
  const key = modules.join(',');
  if (moduleChecks.has(key)) return moduleChecks.get(key)!;
  let why: string | null = null;
  if (!existsSync(PYTHON)) {
    why = `${PYTHON} not found (install python3 and ${modules.map(debianPackage).join(', ')}, or set PSFID_BENCH_PYTHON)`;
  } else {
    const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
    if (r.status !== 0) {
      const missing = /No module named '([^']+)'/.exec(r.stderr ?? '')?.[1];
      why = missing
        ? `${PYTHON} has no module '${missing}' (apt-get install ${debianPackage(missing.split('.')[0]!)})`
        : `${PYTHON} cannot import ${modules.join(', ')}: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}`;
    }
  }
  moduleChecks.set(key, why);
  return why;
}

function debianPackage(module: string): string {
  return { torch: 'python3-torch', numpy: 'python3-numpy', skimage: 'python3-skimage', scipy: 'python3-scipy' }[module] ?? `python3-${module}`;
}

/**
 * Runs `script` (a path) with `args` under python3 and parses the last non-empty line of its stdout as JSON.
 * Throws ReferenceUnavailable when python3 or one of `modules` is missing; Error when the script fails.
 */
export async function runPython<T = unknown>(script: string, args: readonly string[], modules: readonly string[] = ['torch']): Promise<T> {
  const missing = pythonMissing(modules);
  if (missing) throw new ReferenceUnavailable(missing);
  const child = spawn(PYTHON, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const name = `${script.split('/').pop()} ${args.join(' ')}`;
  if (code !== 0) throw new Error(`bench: python3 ${name} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`bench: python3 ${name} printed no JSON on its last line (got '${last.slice(0, 200)}')`);
  }
}

/**
 * A long-lived reference process (one `import torch` for many measurements): `script serve` reads one JSON request
 * per line on stdin and answers one JSON line per request on stdout ({"error": "..."} when the request failed).
 */
export class PythonServer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  #buffer = '';
  #stderr = '';
  #exited: Error | null = null;

  private constructor(readonly script: string) {
    this.#child = spawn(PYTHON, [script, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stdout.setEncoding('utf8').on('data', (d: string) => this.#onData(d));
    this.#child.stderr.setEncoding('utf8').on('data', (d: string) => (this.#stderr = (this.#stderr + d).slice(-4000)));
    const fail = (why: string): void => {
      this.#exited = new Error(`bench: python3 ${script.split('/').pop()} serve ${why}: ${this.#stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const p of this.#pending.splice(0)) p.reject(this.#exited);
    };
    this.#child.on('error', (e) => fail(`failed to start (${e.message})`));
    this.#child.on('close', (code) => fail(`exited ${code}`));
  }

  /** Starts `script serve`; throws ReferenceUnavailable when python3 or one of `modules` is missing. */
  static start(script: string, modules: readonly string[] = ['torch']): PythonServer {
    const missing = pythonMissing(modules);
    if (missing) throw new ReferenceUnavailable(missing);
    return new PythonServer(script);
  }

  #onData(d: string): void {
    this.#buffer += d;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (!line) continue;
      const p = this.#pending.shift();
      if (!p) continue;
      try {
        const v = JSON.parse(line) as { error?: string };
        if (v && typeof v === 'object' && typeof v.error === 'string') p.reject(new Error(`bench: ${this.script.split('/').pop()}: ${v.error}`));
        else p.resolve(v);
      } catch {
        p.reject(new Error(`bench: ${this.script.split('/').pop()} answered a line that is not JSON: '${line.slice(0, 200)}'`));
      }
    }
  }

  request<T = unknown>(req: unknown): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ resolve: resolve as (v: unknown) => void, reject });
      this.#child.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  close(): void {
    if (!this.#exited) this.#child.stdin.end();
  }
}

/** What a reference script answers for one figure. */
export interface ReferenceSamples {
  samples_ms: number[];
}

export interface Comparison {
  name: string;
  unit?: string;
  /** Timed psfid samples (ms) for one round. */
  psfid: () => number[];
  /** Timed reference samples (ms) for one round. */
  reference: () => Promise<number[]>;
}

/** Number of interleaved psfid/reference rounds (env PSFID_BENCH_ROUNDS, default 5). */
export function rounds(): number {
  const n = Number(process.env.PSFID_BENCH_ROUNDS);
  return Number.isInteger(n) && n > 0 ? n : 5;
}

/**
 * Measures psfid and its reference in alternating rounds (so that load from elsewhere on a noisy machine hits
 * both alike): each round gives a median per side, and each side's figure is the median of its round medians (one
 * disturbed round does not move it). Returns null, with a note on stderr, when the reference is unavailable.
 * PSFID_BENCH_VERBOSE=1 prints the round medians on stderr.
 */
export async function compare(c: Comparison, nRounds = rounds()): Promise<BenchLine | null> {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < nRounds; r++) {
    try {
      // Alternate who goes first, so neither always runs right after the other.
      if (r % 2 === 0) {
        ours.push(median(c.psfid()));
        theirs.push(median(await c.reference()));
      } else {
        theirs.push(median(await c.reference()));
        ours.push(median(c.psfid()));
      }
    } catch (e) {
      if (e instanceof ReferenceUnavailable) {
        process.stderr.write(`bench: skipping ${c.name}: ${e.message}\n`);
        return null;
      }
      throw e;
    }
  }
  if (process.env.PSFID_BENCH_VERBOSE) {
    const f = (xs: number[]): string => xs.map((x) => x.toPrecision(4)).join(' ');
    process.stderr.write(`bench: ${c.name} round medians: psfid ${f(ours)} | reference ${f(theirs)}\n`);
  }
  return benchLine(c.name, median(ours), median(theirs), c.unit ?? 'ms');
}

/** A figure's psfid side, prepared once: timed calls (milliseconds per call) and its native memory. */
export interface Prepared {
  sample: (t: TimingOptions) => number[];
  dispose: () => void;
}

/**
 * The shared frame of a family of figures measured against one reference server (`script` in bench/python): starts
 * the server (or skips the family with a note when the reference is unavailable), runs `measure` for each figure that
 * PSFID_BENCH_ONLY does not leave out, after one warm-up call of each side, and disposes of the prepared side.
 */
export async function eachFigure<F extends { name: string; warmup: number; prepare: () => Prepared }>(
  family: string,
  script: string,
  figures: readonly F[],
  warmUpReference: (server: PythonServer, f: F) => Promise<unknown>,
  measure: (f: F, ours: Prepared, server: PythonServer) => Promise<BenchLine | null>,
): Promise<BenchLine[]> {
  const only = process.env.PSFID_BENCH_ONLY?.split(',');
  const lines: BenchLine[] = [];
  let server: PythonServer;
  try {
    server = PythonServer.start(pythonScript(script));
  } catch (e) {
    if (!(e instanceof ReferenceUnavailable)) throw e;
    process.stderr.write(`bench: skipping ${family}.*: ${e.message}\n`);
    return lines;
  }
  try {
    for (const f of figures) {
      if (only && !only.includes(f.name)) continue;
      const ours = f.prepare();
      try {
        ours.sample({ warmup: f.warmup, repeats: 0 });
        await warmUpReference(server, f);
        const line = await measure(f, ours, server);
        if (line) lines.push(line);
      } finally {
        ours.dispose();
      }
    }
  } finally {
    server.close();
  }
  return lines;
}

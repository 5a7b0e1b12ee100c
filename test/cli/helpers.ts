// Helpers of the CLI tests: run the compiled `psfid` (bin/psfid.js) as a child process in a temp folder, and check
// the error policy (one line `error: …`, exit 1 or 2, no stack trace).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTiff } from '../../src/io/index.js';
import { airyPsf, convValid, deadLeaves } from '../deconv/helpers.js';

/** The repository root (this file runs from dist/test/cli/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'psfid.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/psfid.js …args` in `cwd`; resolves with the exit code and the output (never rejects on exit ≠ 0).
 * The child sees no GPU unless `opts.gpu`: the CLI tests compare its output with library results computed here on
 * the CPU, and `--device auto` would pick a visible GPU, whose FFT rounding, compounded over iterations, exceeds
 * those tolerances. CUDA runs of the CLI are tested on their own (deconvolve.test.ts), against the CPU's.
 */
export function psfid(args: readonly string[], cwd: string, opts: { gpu?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env['PSFID_PROGRESS'];
    if (!opts.gpu) env['CUDA_VISIBLE_DEVICES'] = '';
    execFile(process.execPath, [BIN, ...args], { cwd, env, maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Asserts a clean success (exit 0, nothing on stderr), printing stderr otherwise. */
export function assertOk(r: CliResult): void {
  assert.equal(r.code, 0, `expected exit 0, got ${r.code}; stderr: ${r.stderr}`);
}

/**
 * Asserts the CLI's error policy: exit `code`, stderr exactly one line starting `error: ` and containing every
 * string of `mentions`, no stack trace, nothing on stdout.
 */
export function assertError(r: CliResult, code: number, mentions: readonly string[]): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith('error: '), `stderr should start with 'error: ': ${line}`);
  for (const m of mentions) assert.ok(line.includes(m), `stderr should mention '${m}': ${line}`);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace expected: ${r.stderr}`);
  assert.equal(r.stdout, '', `nothing expected on stdout: ${r.stdout}`);
}

export function makeTempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `psfid-cli-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** File names in `dir`, sorted (temporary files included: a failed command must leave none). */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/**
 * Writes `dir`/cells.tif: a dead-leaves specimen blurred by an Airy PSF (S×S, fc 0.15; 'valid' convolution), as
 * 12-bit-like uint16 counts (offset 100, 3000 counts), on 65 nm pixels; returns its path.
 */
export function writeCellsImage(dir: string, width: number, height: number, psfSize: number): string {
  const scene = deadLeaves(height + psfSize - 1, width + psfSize - 1, 5);
  const blurred = convValid(scene, height + psfSize - 1, width + psfSize - 1, airyPsf(psfSize, 0.15), psfSize);
  const path = join(dir, 'cells.tif');
  writeTiff(path, { width, height, planes: [Uint16Array.from(blurred, (v) => Math.round(100 + 3000 * v))] }, { pixelSizeNm: 65 });
  return path;
}

// Bad input: every failure is an ImageIOError whose one-line message starts with the path and names the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ImageIOError,
  decodeImage,
  decodeImageAsync,
  encodePng,
  encodeTiff,
  readImage,
  readImageAsync,
  type ImageIOErrorCode,
} from '../../src/io/index.js';
import { PsfidError } from '../../src/errors.js';
import { FIXTURES, makeTempDir, removeDir } from './helpers.js';

const dir = makeTempDir('errors');
process.on('exit', () => removeDir(dir));

function put(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function expectError(p: string, codes: ImageIOErrorCode[], pattern: RegExp): void {
  const check = (e: unknown): boolean => {
    assert.ok(e instanceof ImageIOError, `not an ImageIOError: ${String(e)}`);
    assert.ok(e instanceof PsfidError && e.kind === 'input', 'an input PsfidError for the CLI');
    assert.ok(codes.includes(e.code), `code ${e.code}, wanted ${codes.join('|')}: ${e.message}`);
    assert.equal(e.path, p);
    assert.ok(e.message.startsWith(`${p}: `), e.message);
    assert.ok(!/[\r\n]/.test(e.message), `one line: ${JSON.stringify(e.message)}`);
    assert.match(e.message, pattern);
    return true;
  };
  assert.throws(() => readImage(p), check);
}

const tiff = encodeTiff({ width: 64, height: 32, planes: [new Uint16Array(64 * 32).fill(7), new Uint16Array(64 * 32)] }, { pixelSizeNm: 65 });
const png = encodePng({ width: 40, height: 30, channels: 3, data: new Uint8Array(40 * 30 * 3).map((_, i) => i % 251) });

test('missing file', () => expectError(join(dir, 'nope.tif'), ['not-found'], /file not found/));
test('missing folder on the way', () => expectError(join(dir, 'nope', 'x.png'), ['not-found'], /file not found/));
test('a folder', () => {
  const p = join(dir, 'folder.tif');
  mkdirSync(p);
  expectError(p, ['not-a-file'], /directory/);
});
test('empty file', () => expectError(put('empty.tif', new Uint8Array(0)), ['empty'], /empty file/));
test('TIFF cut in half', () => expectError(put('half.tif', tiff.subarray(0, tiff.length >> 1)), ['truncated'], /truncated/));
test('TIFF cut inside its directories', () => expectError(put('head.tif', tiff.subarray(0, 40)), ['truncated'], /truncated/));
test('TIFF header only', () => expectError(put('hdr.tif', tiff.subarray(0, 6)), ['truncated'], /truncated/));
test('compressed TIFF cut short', () => {
  const lzw = readFileSync(join(FIXTURES, 'tiled_u32.tif'));
  expectError(put('lzw-half.tif', lzw.subarray(0, Math.floor(lzw.length * 0.7))), ['truncated', 'corrupt'], /truncated|corrupt/);
});
test('TIFF whose directory chain loops', () => {
  const b = Buffer.from(tiff);
  const ifd = b.readUInt32LE(4);
  const n = b.readUInt16LE(ifd);
  b.writeUInt32LE(ifd, ifd + 2 + n * 12); // next IFD = itself
  expectError(put('loop.tif', b), ['corrupt'], /loops/);
});
test('TIFF with a strip pointing past the end', () => {
  const b = Buffer.from(tiff);
  const ifd = b.readUInt32LE(4);
  const n = b.readUInt16LE(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (b.readUInt16LE(e) === 273) b.writeUInt32LE(b.length - 10, e + 8);
  }
  expectError(put('strip.tif', b), ['truncated'], /past the end of the file/);
});
test('TIFF magic then garbage', () => expectError(put('garbage.tif', Buffer.from('II*\0\x08\0\0\0garbagegarbage')), ['corrupt', 'truncated'], /TIFF/));
test('garbage bytes', () =>
  expectError(put('noise.tif', Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % 256 || 1)), ['unsupported-format'], /unsupported format: found unknown data/));
test('a text file named .tif', () => expectError(put('notes.tif', 'pixel size 65 nm\nobjective 60x\n'), ['unsupported-format'], /found text/));
test('a GIF named .tif', () => expectError(put('anim.tif', 'GIF89a\x01\x00\x01\x00'), ['unsupported-format'], /found GIF/));
test('PNG cut short', () => expectError(put('half.png', png.subarray(0, png.length >> 1)), ['truncated', 'corrupt'], /PNG/));
test('PNG with a flipped byte (CRC)', () => {
  const b = Buffer.from(png);
  b[b.length - 20] ^= 0xff;
  expectError(put('crc.png', b), ['corrupt', 'truncated'], /PNG/);
});
test('JPEG cut short', () => {
  const j = readFileSync(join(FIXTURES, 'rgb.jpg'));
  expectError(put('half.jpg', j.subarray(0, j.length >> 1)), ['corrupt', 'truncated'], /JPEG/);
  expectError(put('tiny.jpg', j.subarray(0, 3)), ['corrupt', 'truncated'], /JPEG/);
});
test('content decides, not the name: a PNG named .tif reads as PNG', () => {
  const img = readImage(put('really-a-png.tif', png));
  assert.equal(img.format, 'png');
});

test('decoders in memory name no path unless given one; async variants fail the same way', async () => {
  assert.throws(() => decodeImage(new Uint8Array(0)), (e: unknown) => e instanceof ImageIOError && e.message === 'empty file (0 bytes)');
  assert.throws(() => decodeImage(tiff.subarray(0, 100), 'mem.tif'), (e: unknown) => e instanceof ImageIOError && e.message.startsWith('mem.tif: truncated'));
  await assert.rejects(readImageAsync(join(dir, 'nope.tif')), (e: unknown) => e instanceof ImageIOError && e.code === 'not-found');
  await assert.rejects(decodeImageAsync(tiff.subarray(0, 2000), 'a.tif'), (e: unknown) => e instanceof ImageIOError && e.code === 'truncated');
  // The sync TIFF worker keeps working after errors.
  assert.equal(decodeImage(tiff).planes.length, 2);
});

// Recognises a file's format from its first bytes (never from its name).

/** Formats this package decodes. */
export type DecodableFormat = 'tiff' | 'png' | 'jpeg';

export type SniffResult = { kind: DecodableFormat } | { kind: 'other'; name: string };

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));
}

/** Other formats a microscopist may hand us, named in 'unsupported format' errors. */
const OTHER: { name: string; test: (b: Uint8Array) => boolean }[] = [
  { name: 'GIF', test: (b) => ascii(b, 0, 4) === 'GIF8' },
  { name: 'BMP', test: (b) => ascii(b, 0, 2) === 'BM' && b.length >= 26 },
  { name: 'WebP', test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP' },
  { name: 'JPEG 2000', test: (b) => startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(b, [0xff, 0x4f, 0xff, 0x51]) },
  { name: 'JPEG XL', test: (b) => startsWith(b, [0xff, 0x0a]) || startsWith(b, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20]) },
  { name: 'HDF5 (e.g. Imaris .ims)', test: (b) => startsWith(b, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { name: 'Zeiss CZI', test: (b) => ascii(b, 0, 10) === 'ZISRAWFILE' },
  { name: 'NumPy .npy', test: (b) => startsWith(b, [0x93]) && ascii(b, 1, 6) === 'NUMPY' },
  { name: 'ZIP archive', test: (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]) },
  { name: 'gzip', test: (b) => startsWith(b, [0x1f, 0x8b]) },
  { name: 'PDF', test: (b) => ascii(b, 0, 5) === '%PDF-' },
  { name: 'DICOM', test: (b) => ascii(b, 128, 132) === 'DICM' },
  { name: 'FITS', test: (b) => ascii(b, 0, 9) === 'SIMPLE  =' },
  { name: 'Nikon ND2', test: (b) => startsWith(b, [0xda, 0xce, 0xbe, 0x0a]) },
  { name: 'OME-XML or other XML', test: (b) => /^(\uFEFF)?\s*<\?xml/.test(ascii(b, 0, 64)) },
];

/** Whether the start of a file looks like text (printable ASCII/UTF-8 and whitespace only). */
function looksLikeText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 512);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 9 || c === 10 || c === 13) continue;
    if (c < 32 || c === 127) return false;
  }
  return true;
}

/** Identifies the format of a file from its leading bytes. */
export function sniffFormat(b: Uint8Array): SniffResult {
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return { kind: 'tiff' };
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return { kind: 'tiff' };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'png' };
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: 'jpeg' };
  for (const o of OTHER) if (o.test(b)) return { kind: 'other', name: o.name };
  if (looksLikeText(b)) return { kind: 'other', name: 'text' };
  const hex = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return { kind: 'other', name: `unknown data (starts with ${hex})` };
}

// ImageJ's TIFF metadata: an ImageDescription of `key=value` lines that starts with `ImageJ=`, plus the pixel size
// as XResolution/YResolution in pixels per `unit`. Written by ImageJ/Fiji and by tifffile with imagej=True.
import type { ImageJMetadata } from './types.js';

/** Whether a TIFF ImageDescription is ImageJ's. */
export function isImageJDescription(description: string | undefined): boolean {
  return description !== undefined && description.startsWith('ImageJ=');
}

function parseNumber(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const v = Number(s.trim());
  return Number.isFinite(v) ? v : undefined;
}

function parseCount(s: string | undefined): number | undefined {
  const v = parseNumber(s);
  return v !== undefined && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** Parses an ImageJ ImageDescription. Unknown keys are kept in `raw`; malformed numbers are left out. */
export function parseImageJDescription(description: string): ImageJMetadata {
  const raw: Record<string, string> = {};
  for (const line of description.replace(/\0+$/, '').split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    raw[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const meta: ImageJMetadata = { version: raw['ImageJ'] ?? '', raw };
  const images = parseCount(raw['images']);
  if (images !== undefined) meta.images = images;
  const channels = parseCount(raw['channels']);
  if (channels !== undefined) meta.channels = channels;
  const slices = parseCount(raw['slices']);
  if (slices !== undefined) meta.slices = slices;
  const frames = parseCount(raw['frames']);
  if (frames !== undefined) meta.frames = frames;
  if (raw['hyperstack'] !== undefined) meta.hyperstack = raw['hyperstack'] === 'true';
  if (raw['unit'] !== undefined && raw['unit'] !== '') meta.unit = raw['unit'];
  const spacing = parseNumber(raw['spacing']);
  if (spacing !== undefined) meta.spacing = spacing;
  const finterval = parseNumber(raw['finterval']);
  if (finterval !== undefined) meta.finterval = finterval;
  if (raw['mode'] !== undefined) meta.mode = raw['mode'];
  const min = parseNumber(raw['min']);
  if (min !== undefined) meta.min = min;
  const max = parseNumber(raw['max']);
  if (max !== undefined) meta.max = max;
  if (raw['loop'] !== undefined) meta.loop = raw['loop'] === 'true';
  return meta;
}

/** What `buildImageJDescription` writes. Counts of 1 are left out, as ImageJ does. */
export interface ImageJDescriptionFields {
  images: number;
  channels?: number;
  slices?: number;
  frames?: number;
  /** Length unit; `micron` is what ImageJ writes for µm. */
  unit?: string;
  /** z-spacing in `unit`. */
  spacing?: number;
  /** Frame interval in seconds. */
  finterval?: number;
  /** Display range. */
  min?: number;
  max?: number;
}

/**
 * Builds an ImageJ ImageDescription (`ImageJ=1.11a\nimages=N\n…`), as ImageJ and tifffile lay it out. The version
 * `1.11a` is the one tifffile writes: Fiji only checks the prefix.
 */
export function buildImageJDescription(f: ImageJDescriptionFields): string {
  const lines = ['ImageJ=1.11a', `images=${f.images}`];
  const c = f.channels ?? 1;
  const z = f.slices ?? 1;
  const t = f.frames ?? 1;
  if (c > 1) lines.push(`channels=${c}`);
  if (z > 1) lines.push(`slices=${z}`);
  if (t > 1) lines.push(`frames=${t}`);
  if ([c, z, t].filter((n) => n > 1).length > 1 || c > 1) lines.push('hyperstack=true');
  if (c > 1) lines.push('mode=grayscale');
  if (f.unit !== undefined) lines.push(`unit=${f.unit}`);
  if (f.spacing !== undefined) lines.push(`spacing=${formatNumber(f.spacing)}`);
  if (f.finterval !== undefined) lines.push(`finterval=${formatNumber(f.finterval)}`);
  if (f.min !== undefined) lines.push(`min=${formatNumber(f.min)}`);
  if (f.max !== undefined) lines.push(`max=${formatNumber(f.max)}`);
  if (f.images > 1) lines.push('loop=false');
  return lines.join('\n') + '\n';
}

/** Shortest decimal that reads back as the same double, never in exponent form (ImageJ's parser wants plain). */
function formatNumber(v: number): string {
  const s = String(v);
  if (!/e/i.test(s)) return s;
  // Numbers below 1e-6 or above 1e21: write them out in full.
  return v.toFixed(Math.min(100, Math.max(0, 20 - Math.floor(Math.log10(Math.abs(v))))));
}

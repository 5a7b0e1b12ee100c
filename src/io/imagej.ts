// ImageJ's TIFF metadata: an ImageDescription of `key=value` lines that starts with `ImageJ=`, plus the pixel size
// as XResolution/YResolution in pixels per `unit`. Written by ImageJ/Fiji and by tifffile with imagej=True. Image
// properties (the `Info` text, where Fiji's Bio-Formats importer puts a microscope file's original metadata) travel in
// two private tags, IJMetadataByteCounts (50838) and IJMetadata (50839).
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

/** TIFF tags of ImageJ's binary metadata: the byte count of each entry, and the entries. */
export const IJ_METADATA_BYTE_COUNTS_TAG = 50838;
export const IJ_METADATA_TAG = 50839;

/**
 * The `Info` text of ImageJ's binary metadata, or undefined when there is none or the block is malformed. Layout (as
 * ImageJ's TiffEncoder writes it): the magic `IJIJ` (big-endian) or `JIJI` (little-endian), then one (type, count)
 * pair of 4-byte type code and uint32 count per kind of entry (`info`, `labl`, `rang`, `luts`, `roi `, …), then the
 * entries themselves in that order; byteCounts[0] is the size of magic + pairs and byteCounts[1…] the size of each
 * entry. Text entries are UTF-16 in the block's byte order. Ours because no npm TIFF reader exposes these tags' meaning.
 */
export function parseImageJInfo(data: Uint8Array, byteCounts: readonly number[]): string | undefined {
  if (data.length < 12 || byteCounts.length < 2) return undefined;
  const magic = String.fromCharCode(...data.subarray(0, 4));
  if (magic !== 'IJIJ' && magic !== 'JIJI') return undefined;
  const little = magic === 'JIJI';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerSize = byteCounts[0]!;
  if (headerSize < 12 || headerSize > data.length || (headerSize - 4) % 8 !== 0) return undefined;
  let pos = headerSize;
  let entry = 1;
  for (let at = 4; at < headerSize; at += 8) {
    const code = String.fromCharCode(...data.subarray(at, at + 4));
    const type = little ? [...code].reverse().join('') : code;
    const count = view.getUint32(at + 4, little);
    for (let k = 0; k < count; k++, entry++) {
      const size = byteCounts[entry];
      if (size === undefined || pos + size > data.length) return undefined;
      if (type === 'info' && k === 0) return new TextDecoder(little ? 'utf-16le' : 'utf-16be').decode(data.subarray(pos, pos + size));
      pos += size;
    }
  }
  return undefined;
}

/**
 * ImageJ's binary metadata block holding one `Info` text, in a little-endian TIFF's byte order (what parseImageJInfo
 * reads, and ImageJ's TiffDecoder and tifffile too): the magic `JIJI`, one (type `info` reversed, count 1) pair, then
 * the text in UTF-16LE. `byteCounts` go to IJMetadataByteCounts (header size, text size), `data` to IJMetadata.
 */
export function encodeImageJInfo(info: string): { byteCounts: number[]; data: Uint8Array } {
  const text = Buffer.from(info, 'utf16le');
  const header = new Uint8Array(12);
  header.set([...'JIJI'].map((c) => c.charCodeAt(0)), 0);
  header.set([...'ofni'].map((c) => c.charCodeAt(0)), 4);
  new DataView(header.buffer).setUint32(8, 1, true);
  const data = new Uint8Array(header.length + text.length);
  data.set(header, 0);
  data.set(text, header.length);
  return { byteCounts: [header.length, text.length], data };
}

/**
 * The key of the pupil cut-off psfid records in ImageJ's Info (`psfid.fc = 0.2`, in cycles/pixel) when it writes a
 * TIFF whose optics it knows only as fc (`psfid simulate --fc`, or fc drawn from the prior): no NA, wavelength or
 * pixel size says it then. The Info survives a round trip through Fiji (Image ▸ Show Info shows it), which the
 * ImageDescription's keys do not: ImageJ rewrites the description when it saves.
 */
export const PSFID_FC_KEY = 'psfid.fc';

/**
 * The key of the pixel size (nm) that `psfid.fc` refers to (`psfid.fc.pixelSizeNm = 65`), written beside it when
 * psfid knows one. fc is in cycles per pixel: an image resampled in another tool keeps its Info but not its pixel,
 * and fc then scales with the new pixel size (fc = NA·pixel/λ), which this lets psfid do.
 */
export const PSFID_FC_PIXEL_KEY = 'psfid.fc.pixelSizeNm';

/** What psfid states about a TIFF's optics in ImageJ's Info (`buildOpticsInfo`). */
export interface OpticsInfoFields {
  /** Pupil cut-off in cycles/pixel, as `psfid.fc`. */
  fc?: number;
  /** The pixel size (nm) `fc` refers to, as `psfid.fc.pixelSizeNm` (only with `fc`). */
  fcPixelSizeNm?: number;
  /** Objective NA, as `LensNA` (a key opticsFromOriginalMetadata reads). */
  numericalAperture?: number;
  /** Emission wavelength in nm, as `EmissionWavelength`. */
  emissionWavelengthNm?: number;
}

/**
 * The Info text stating `f`, one `key = value` line each (Bio-Formats' layout), numbers in their shortest exact
 * form: `psfid.fc = 0.2`, `LensNA = 1.4`, `EmissionWavelength = 520`. The pixel size is not here: it belongs in the
 * TIFF's calibration. Empty when `f` states nothing.
 */
export function buildOpticsInfo(f: OpticsInfoFields): string {
  const lines: string[] = [];
  if (f.fc !== undefined) lines.push(`${PSFID_FC_KEY} = ${formatNumber(f.fc)}`);
  if (f.fc !== undefined && f.fcPixelSizeNm !== undefined) lines.push(`${PSFID_FC_PIXEL_KEY} = ${formatNumber(f.fcPixelSizeNm)}`);
  if (f.numericalAperture !== undefined) lines.push(`LensNA = ${formatNumber(f.numericalAperture)}`);
  if (f.emissionWavelengthNm !== undefined) lines.push(`EmissionWavelength = ${formatNumber(f.emissionWavelengthNm)}`);
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * The cut-off (cycles/pixel) of a `psfid.fc = value` line of ImageJ's Info (key compared without case), when there is
 * exactly one value, finite and positive; its limits (Nyquist, …) are checked where it is used, naming the file.
 */
export function cutoffFromInfo(info: string, key = PSFID_FC_KEY): number | undefined {
  const values = new Set<number>();
  for (const line of info.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.slice(0, eq).trim().toLowerCase() !== key.toLowerCase()) continue;
    const text = line.slice(eq + 1).trim();
    const v = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
    if (Number.isFinite(v) && v > 0) values.add(v);
  }
  return values.size === 1 ? [...values][0]! : undefined;
}

/**
 * The objective's NA and the emission wavelength (nm) stated in `key = value` lines of original metadata, as Fiji's
 * Bio-Formats importer writes a microscope file's own metadata into ImageJ's Info. Keys, compared without case, by
 * their last word (after `|`, a space or a `[section]`), without a ` #n` channel suffix:
 * - NA: `LensNA` or `NumericalAperture` (Zeiss CZI: `Information|Instrument|Objective|LensNA = 1.2`), Nikon's
 *   `dObjectiveNA`, or `na` / `naValue` when an earlier word names the objective or lens (Olympus OIR:
 *   `Objective Lens na = 0.4`, `objectiveLens naValue = 0.4`; FluoView OIB/OIF: `ObjectiveLens NAValue`), so that a
 *   condenser's NA is not taken for the objective's; 0 < NA ≤ 1.7.
 * - emission: `EmissionWavelength` (Zeiss `Information|Image|Channel|EmissionWavelength #1 = 454.8`, Olympus OIR
 *   `dyeData emissionWavelength #1 = 510`, FluoView `[GUI Channel 1 Parameters] EmissionWavelength`) or Nikon's
 *   `EmWavelength`, in nm, 200–2000 (a trailing `nm` is allowed).
 * Several NA values that disagree are ignored; of several wavelengths, the first channel's (the lowest ` #n`, else
 * `Channel n` in the key, else the first line) is kept, as OME's first channel is.
 */
export function opticsFromOriginalMetadata(info: string): { numericalAperture?: number; emissionWavelengthNm?: number } {
  const na = new Set<number>();
  const wavelengths: { index: number; value: number }[] = [];
  for (const line of info.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const m = /^(.*?)(?:\s*#\s*(\d+))?$/.exec(line.slice(0, eq).trim())!;
    const words = m[1]!.toLowerCase().split(/[\s|:[\]-]+/).filter((w) => w !== '');
    const name = words.pop();
    if (name === undefined) continue;
    // The channel: ` #n`, else a numbered section (`[GUI Channel 2 Parameters]`), else the first.
    const section = /\bchannel\s*(\d+)\b/i.exec(m[1]!);
    const index = m[2] !== undefined ? Number(m[2]) : section ? Number(section[1]) : 1;
    const v = /^"?([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(nm)?"?$/i.exec(line.slice(eq + 1).trim());
    if (!v) continue;
    const value = Number(v[1]);
    const ofObjective = words.some((w) => w.includes('objective') || w.includes('lens'));
    const isNa = name === 'lensna' || name === 'numericalaperture' || name === 'dobjectivena' || ((name === 'na' || name === 'navalue') && ofObjective);
    if (isNa && v[2] === undefined && value > 0 && value <= 1.7) na.add(value);
    if ((name === 'emissionwavelength' || name === 'emwavelength') && value >= 200 && value <= 2000) wavelengths.push({ index, value });
  }
  const out: { numericalAperture?: number; emissionWavelengthNm?: number } = {};
  if (na.size === 1) out.numericalAperture = [...na][0]!;
  if (wavelengths.length > 0) out.emissionWavelengthNm = wavelengths.reduce((a, b) => (b.index < a.index ? b : a)).value;
  return out;
}

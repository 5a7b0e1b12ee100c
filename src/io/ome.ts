// OME-XML (the ImageDescription of an OME-TIFF): sizes, plane order, physical pixel sizes, objective NA and
// channel wavelengths of the first Image. Parsing is fast-xml-parser's; this file only picks the fields.
import { XMLParser } from 'fast-xml-parser';
import { toNm } from './units.js';
import type { OmeChannel, OmeMetadata } from './types.js';

/** Whether a TIFF ImageDescription holds OME-XML. */
export function isOmeXml(description: string | undefined): boolean {
  if (description === undefined) return false;
  const head = description.slice(0, 2048);
  return /<(\w+:)?OME[\s>]/.test(head);
}

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  htmlEntities: true, // also decodes numeric references such as &#181; (µ)
  isArray: (name) => ['Image', 'Channel', 'Instrument', 'Objective'].includes(name),
});

function attr(node: unknown, name: string): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
}

function numAttr(node: unknown, name: string): number | undefined {
  const s = attr(node, name);
  if (s === undefined || s.trim() === '') return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

function child(node: unknown, name: string): unknown {
  if (node === null || typeof node !== 'object') return undefined;
  return (node as XmlNode)[name];
}

function children(node: unknown, name: string): unknown[] {
  const c = child(node, name);
  if (c === undefined) return [];
  return Array.isArray(c) ? c : [c];
}

/**
 * Parses OME-XML. Returns undefined when the text is not well-formed XML with an `OME` root.
 * OME's defaults apply: PhysicalSize units are µm and wavelength units nm when the attribute is absent.
 */
export function parseOmeXml(xml: string): OmeMetadata | undefined {
  let doc: unknown;
  try {
    doc = parser.parse(xml.replace(/\0+$/, ''));
  } catch {
    return undefined;
  }
  const ome = child(doc, 'OME');
  if (ome === undefined || ome === null || typeof ome !== 'object') return undefined;
  const images = children(ome, 'Image');
  const meta: OmeMetadata = { imageCount: images.length, channels: [] };
  const image = images[0];
  const pixels = child(image, 'Pixels');
  if (pixels !== undefined) {
    const set = <K extends keyof OmeMetadata>(k: K, v: OmeMetadata[K] | undefined) => {
      if (v !== undefined) meta[k] = v;
    };
    set('sizeX', numAttr(pixels, 'SizeX'));
    set('sizeY', numAttr(pixels, 'SizeY'));
    set('sizeC', numAttr(pixels, 'SizeC'));
    set('sizeZ', numAttr(pixels, 'SizeZ'));
    set('sizeT', numAttr(pixels, 'SizeT'));
    set('dimensionOrder', attr(pixels, 'DimensionOrder'));
    set('type', attr(pixels, 'Type'));
    for (const axis of ['X', 'Y', 'Z'] as const) {
      const size = numAttr(pixels, `PhysicalSize${axis}`);
      if (size === undefined) continue;
      set(`physicalSize${axis}`, size);
      set(`physicalSize${axis}Unit`, attr(pixels, `PhysicalSize${axis}Unit`) ?? 'µm');
    }
    for (const ch of children(pixels, 'Channel')) {
      const c: OmeChannel = {};
      const name = attr(ch, 'Name');
      if (name !== undefined) c.name = name;
      const spp = numAttr(ch, 'SamplesPerPixel');
      if (spp !== undefined) c.samplesPerPixel = spp;
      const em = numAttr(ch, 'EmissionWavelength');
      if (em !== undefined) {
        c.emissionWavelength = em;
        c.emissionWavelengthUnit = attr(ch, 'EmissionWavelengthUnit') ?? 'nm';
        const nm = toNm(em, c.emissionWavelengthUnit);
        if (nm !== undefined) c.emissionWavelengthNm = nm;
      }
      const ex = numAttr(ch, 'ExcitationWavelength');
      if (ex !== undefined) {
        c.excitationWavelength = ex;
        c.excitationWavelengthUnit = attr(ch, 'ExcitationWavelengthUnit') ?? 'nm';
        const nm = toNm(ex, c.excitationWavelengthUnit);
        if (nm !== undefined) c.excitationWavelengthNm = nm;
      }
      meta.channels.push(c);
    }
  }
  // Objective NA: the objective the image's ObjectiveSettings names, else the only/first objective.
  const objectives = children(ome, 'Instrument').flatMap((inst) => children(inst, 'Objective'));
  const wanted = attr(child(image, 'ObjectiveSettings'), 'ID');
  const objective = (wanted !== undefined ? objectives.find((o) => attr(o, 'ID') === wanted) : undefined) ?? objectives[0];
  const na = numAttr(objective, 'LensNA');
  if (na !== undefined) meta.lensNA = na;
  return meta;
}

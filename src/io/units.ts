// Length units as microscopy files write them, converted to nanometres.

const NM_PER_UNIT: Record<string, number> = {
  pm: 1e-3,
  picometer: 1e-3,
  picometre: 1e-3,
  å: 0.1,
  angstrom: 0.1,
  ångström: 0.1,
  nm: 1,
  nanometer: 1,
  nanometre: 1,
  nanometers: 1,
  nanometres: 1,
  µm: 1e3, // U+00B5 MICRO SIGN
  μm: 1e3, // U+03BC GREEK SMALL LETTER MU
  um: 1e3,
  micron: 1e3,
  microns: 1e3,
  micrometer: 1e3,
  micrometre: 1e3,
  micrometers: 1e3,
  micrometres: 1e3,
  mm: 1e6,
  millimeter: 1e6,
  millimetre: 1e6,
  cm: 1e7,
  centimeter: 1e7,
  centimetre: 1e7,
  m: 1e9,
  meter: 1e9,
  metre: 1e9,
  inch: 2.54e7,
  in: 2.54e7,
};

/**
 * Nanometres in one `unit`, or undefined when the unit is not a physical length (`pixel`, empty, unknown).
 * Accepts ImageJ's escaped form `\u00B5m` (six ASCII characters), both micro signs, and any case.
 */
export function nmPerUnit(unit: string | undefined): number | undefined {
  if (unit === undefined) return undefined;
  let u = unit.trim().replace(/\\u00b5/gi, 'µ').replace(/\\u03bc/gi, 'μ').toLowerCase();
  u = u.replace(/\s+/g, '');
  return Object.prototype.hasOwnProperty.call(NM_PER_UNIT, u) ? NM_PER_UNIT[u] : undefined;
}

/** `value` in `unit` converted to nanometres; undefined when either is missing, not finite or not positive. */
export function toNm(value: number | undefined, unit: string | undefined): number | undefined {
  const k = nmPerUnit(unit);
  if (value === undefined || k === undefined || !Number.isFinite(value) || value <= 0) return undefined;
  return value * k;
}

// Optics: Zernike polynomials, the validated Optics value, pupils and batched PSFs.
export * from './zernike.js';
export * from './optics.js';
export { psfFromZernike, psfFullGrid, psfWindowEnergies, psfWindowEnergy, randomTheta, type PsfMethod, type PsfOptions } from './psf.js';
export { applySymmetry, GRID_SYMMETRIES, thetaFromSymmetric, thetaUnderSymmetry, undoSymmetry, type GridSymmetry } from './symmetry.js';
export { apertureWeights, clearPupilCache, fullBand, supportBand, type PupilBand } from './pupil.js';

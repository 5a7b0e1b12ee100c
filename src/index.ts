// psfid's public API: the engine, and (as they land) optics, acquisition, model, training, deconvolution.
export * as engine from './engine/index.js';
export { PsfidError } from './errors.js';

// Acquisition: blur (true convolution and its adjoint), noise and camera, the prior μ, and acquire().
export * from './blur.js';
export * from './noise.js';
export * from './prior.js';
export * from './acquire.js';

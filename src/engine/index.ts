// The engine's public surface: tensors, ops, nn, optimizers, devices, safetensors.
export * from './tensor.js';
export * from './ops.js';
export * from './device.js';
export * as nn from './nn.js';
export * from './optim.js';
export * from './safetensors.js';
export { writeFileAtomic } from './atomic.js';
export { packageRoot } from './native.js';

import type { Command } from 'commander';
import { tidy, tensor, rfft2 } from '../../engine/index.js';

// Smoke version until the blind-deconvolution issue makes it the real demo.
export function register(program: Command): void {
  program
    .command('demo')
    .description('run the end-to-end demo (currently a smoke test of the engine)')
    .action(() => {
      const energy = tidy(() => {
        const x = tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [8, 8]);
        return rfft2(x).abs().sum().item();
      });
      console.log(`psfid demo: engine works (spectral L1 of a test pattern = ${energy.toFixed(4)}).`);
    });
}

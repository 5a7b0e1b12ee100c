import type { Command } from 'commander';
import { blasThreads, cudaDeviceCount, getNumThreads, torchVersion } from '../../engine/index.js';
import { convPrecisionFor } from '../../model/precision.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('print the engine: libtorch version, threads (PSFID_THREADS), CUDA devices, and the precision --precision auto picks on the CPU')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const info = { libtorch: torchVersion(), threads: getNumThreads(), openblasThreads: blasThreads(), cudaDevices: cudaDeviceCount(), cpuAutoPrecision: convPrecisionFor('cpu', 'auto') };
      if (opts.json) console.log(JSON.stringify(info));
      else {
        const blas = info.openblasThreads === null ? '' : ` (OpenBLAS ${info.openblasThreads})`;
        console.log(`libtorch ${info.libtorch}, ${info.threads} CPU threads${blas}, ${info.cudaDevices} CUDA device(s); --precision auto on the CPU: ${info.cpuAutoPrecision}`);
      }
    });
}

import type { Command } from 'commander';
import { cudaDeviceCount, getNumThreads, torchVersion } from '../../engine/index.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('print the engine: libtorch version, threads, CUDA devices')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const info = { libtorch: torchVersion(), threads: getNumThreads(), cudaDevices: cudaDeviceCount() };
      if (opts.json) console.log(JSON.stringify(info));
      else console.log(`libtorch ${info.libtorch}, ${info.threads} CPU threads, ${info.cudaDevices} CUDA device(s)`);
    });
}

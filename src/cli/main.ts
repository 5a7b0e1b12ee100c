// `psfid` command line: the only place that reads argv or prints. Each command lives in ./commands/NAME.ts and
// exports `register(program)`. Errors: one line `error: …`, exit 2 for usage, 1 for runtime; stack with --debug.
import { Command, CommanderError } from 'commander';
import { PsfidError } from '../errors.js';
import { commands } from './commands/index.js';

const debug = process.argv.includes('--debug');

function fail(e: unknown): never {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  if (e instanceof PsfidError) {
    console.error(`error: ${e.message}`);
    if (debug) console.error(e.stack);
    process.exit(e.kind === 'usage' ? 2 : 1);
  }
  const err = e as Error;
  console.error(`error: ${err?.message ?? String(e)}`);
  if (debug) console.error(err?.stack);
  process.exit(1);
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const program = new Command();
program
  .name('psfid')
  .description('Identify the point-spread function (PSF) of a microscope from one blurred, noisy image, and deblur it.')
  .option('--debug', 'print stack traces on errors')
  .exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  fail(e);
}

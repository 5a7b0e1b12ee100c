// `psfid` command line: the only place that reads argv or prints. Each command lives in ./commands/NAME.ts and
// exports `register(program)`. Errors: one line `error: …`, exit 2 for usage, 1 for runtime; stack with --debug.
import { Command, CommanderError } from 'commander';
import { PsfidError, usageError } from '../errors.js';
import { commands } from './commands/index.js';

const debug = process.argv.includes('--debug');

/** Errors are one line, whatever a library put in the message. */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

function fail(e: unknown): never {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  if (e instanceof PsfidError) {
    console.error(`error: ${oneLine(e.message)}`);
    if (debug) console.error(e.stack);
    process.exit(e.kind === 'usage' ? 2 : 1);
  }
  const err = e as Error;
  console.error(`error: ${oneLine(err?.message ?? String(e))}`);
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
// --help marks the options a command cannot run without (commander checks them but does not say so in the help)
const markRequired = (cmd: Command): void => {
  for (const o of cmd.options) if (o.mandatory && !o.description.endsWith('(required)')) o.description += ' (required)';
  cmd.commands.forEach(markRequired);
};
markRequired(program);

/** Options that may be given more than once (the others would silently keep their last value). */
const REPEATABLE = new Set(['--images']);

/** Refuses an option given twice (`--fc 0.2 … --fc 0.1`): commander keeps the last value without a word. */
function refuseRepeats(args: readonly string[]): void {
  const seen = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    if (!a.startsWith('--')) continue;
    const name = a.split('=')[0]!;
    if (seen.has(name) && !REPEATABLE.has(name)) throw usageError(name, `${name} is given twice; give it once`);
    seen.add(name);
  }
}

try {
  refuseRepeats(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (e) {
  fail(e);
}

// Every CLI command, in the order `psfid --help` lists them.
import type { Command } from 'commander';
import { register as info } from './info.js';
import { register as demo } from './demo.js';

export const commands: ((program: Command) => void)[] = [info, demo];

// Every CLI command, in the order `psfid --help` lists them.
import type { Command } from 'commander';
import { register as info } from './info.js';
import { register as demo } from './demo.js';
import { register as model } from './model.js';
import { register as train } from './train.js';
import { register as evaluate } from './eval.js';

export const commands: ((program: Command) => void)[] = [info, model, train, evaluate, demo];

// Every CLI command, in the order `psfid --help` lists them.
import type { Command } from 'commander';
import { register as info } from './info.js';
import { register as demo } from './demo.js';
import { register as model } from './model.js';
import { register as train } from './train.js';
import { register as evaluate } from './eval.js';
import { register as identify } from './identify.js';
import { register as deconvolve } from './deconvolve.js';
import { register as psf } from './psf.js';
import { register as simulate } from './simulate.js';

export const commands: ((program: Command) => void)[] = [identify, deconvolve, psf, simulate, train, evaluate, model, info, demo];

#!/usr/bin/env node
// The `psfid` command. The compiled CLI lives in dist/ (npm run setup builds it).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error('error: psfid is not built yet; run `npm run setup` in ' + root);
  process.exit(1);
}
await import(pathToFileURL(main).href);

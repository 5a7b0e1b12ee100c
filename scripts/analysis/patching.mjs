// The analysis scripts' identify patching flags: --patch-size P, --max-patches N, --patch-overlap F and --augment none|dihedral (identify's defaults when absent).
export function patchingFlags(args) {
  const patching = {};
  for (const [flag, key] of [['--patch-size', 'patchSize'], ['--max-patches', 'maxPatches'], ['--patch-overlap', 'patchOverlap']]) {
    const at = args.indexOf(flag);
    if (at >= 0) patching[key] = Number(args[at + 1]);
  }
  const augment = args.indexOf('--augment');
  if (augment >= 0) patching.augment = args[augment + 1];
  return patching;
}

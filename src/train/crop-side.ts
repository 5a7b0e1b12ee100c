// The crop side of a training step when training cycles through several (config.cropSizes). Its own module because
// the crop worker (./crop-worker.ts, a thread entry point that must not load the engine) needs it as well.

/** The crop side of step `step` under `n`: one side, or sides cycled per step (step k: n[k mod length]). */
export function sideOfStep(n: number | readonly number[], step: number): number {
  return typeof n === 'number' ? n : n[step % n.length]!;
}

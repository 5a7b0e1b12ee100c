// Progress bars on stderr with a known total (cli-progress); silent when stderr is not a terminal unless forced.
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, opts: { unit?: string; extra?: string } = {}): Progress {
  const enabled = process.stderr.isTTY || process.env.PSFID_PROGRESS === '1';
  if (!enabled) return { tick: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} ${opts.unit ?? ''} | {percentage}% | ETA {eta_formatted}${opts.extra ? ' | ' + opts.extra : ''}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      // Forced output (PSFID_PROGRESS=1) into a pipe or log file: cli-progress draws nothing there unless told to,
      // then one line every 5 s instead of redrawing in place.
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (n = 1, payload) => bar.increment(n, payload),
    stop: () => bar.stop(),
  };
}

/**
 * A progress callback (done, total) that opens its bar on the first call, when the total is known, and a stop()
 * that closes it (also when the work threw). Silent off a terminal, as progressBar.
 */
export function lazyBar(label: string, unit: string): { onProgress: (done: number, total: number) => void; stop: () => void } {
  let bar: Progress | undefined;
  let last = 0;
  return {
    onProgress: (done, total) => {
      bar ??= progressBar(label, total, { unit });
      bar.tick(done - last);
      last = done;
    },
    stop: () => bar?.stop(),
  };
}

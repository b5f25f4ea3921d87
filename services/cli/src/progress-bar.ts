import cliProgress from 'cli-progress';

/**
 * A file-count progress bar for `labelq classify` on `stream` when it is a TTY (files/s, ETA, errors); nothing
 * otherwise. pause() clears the bar's line so a result printed to the same terminal is not drawn over.
 */
export function fileProgress(
  stream: NodeJS.WriteStream,
  total: number,
): { tick(error: boolean): void; pause(): void; stop(): void } {
  if (!stream.isTTY || total === 0)
    return { tick: () => undefined, pause: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {value}/{total} files | {speed} files/s | ETA {eta_formatted} | errors {errors}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let done = 0;
  let errors = 0;
  bar.start(total, 0, { speed: '0', errors: 0 });
  return {
    tick(error) {
      done++;
      if (error) errors++;
      const speed = (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
      bar.update(done, { speed, errors });
    },
    pause() {
      stream.write('\r\x1b[2K');
    },
    stop: () => bar.stop(),
  };
}

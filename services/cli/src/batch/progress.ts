import type { Batch } from '@labelq/contracts';
import cliProgress from 'cli-progress';

/** Items of a batch that are finished, and how many there are (as far as known while listing). */
export function doneAndTotal(b: Batch): { done: number; total: number } {
  const done = b.counts.completed + b.counts.failed;
  return { done, total: b.counts.discovered - b.counts.skipped };
}

/** One plain progress line (logs, CI). */
export function progressLine(b: Batch): string {
  const { done, total } = doneAndTotal(b);
  const eta = b.etaSeconds === null ? '?' : `${b.etaSeconds}s`;
  return `${b.id} ${b.status}: ${done}/${total}${b.status === 'listing' ? '+' : ''} done, ${b.counts.failed} failed, ${b.counts.skipped} skipped, ${b.imagesPerSecond} img/s, ETA ${eta}`;
}

/** The end summary: counts and failures by code. */
export function summary(b: Batch): string {
  const c = b.counts;
  const lines = [
    `${b.id} ${b.status}${b.dryRun ? ' (dry run: nothing queued)' : ''}: discovered ${c.discovered}, skipped ${c.skipped}, ${b.dryRun ? 'would queue' : 'queued'} ${c.queued}, completed ${c.completed}, failed ${c.failed}`,
  ];
  const skips = Object.entries(b.skippedByReason);
  if (skips.length > 0) lines.push(`  skipped: ${skips.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  for (const [code, n] of Object.entries(b.failedByCode).sort((x, y) => y[1] - x[1]))
    lines.push(`  failed ${code}: ${n}`);
  if (b.error) lines.push(`  error ${b.error.code}: ${b.error.message}`);
  if (b.report) lines.push(`  report: s3://${b.report.bucket}/${b.report.summaryKey}`);
  return lines.join('\n');
}

/** Shows progress on `stream`: a live bar on a TTY, a plain line every `everyMs` otherwise. */
export function progressReporter(
  stream: NodeJS.WriteStream,
  everyMs = 5000,
): { update(b: Batch): void; stop(): void } {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{bar} {value}/{total} | {rate} img/s | ETA {etaText} | failed {failed} | {status}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(b) {
        const { done, total } = doneAndTotal(b);
        const payload = {
          rate: b.imagesPerSecond,
          etaText: b.etaSeconds === null ? '?' : `${b.etaSeconds}s`,
          failed: b.counts.failed,
          status: b.status,
        };
        if (!started) {
          bar.start(Math.max(total, 1), done, payload);
          started = true;
        } else {
          bar.setTotal(Math.max(total, 1));
          bar.update(done, payload);
        }
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(b) {
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        stream.write(`${progressLine(b)}\n`);
      }
    },
    stop: () => undefined,
  };
}

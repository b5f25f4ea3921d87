// Pieces every variant shares: loading the image bytes, a bounded task runner, and the result record.
import { readFile } from 'node:fs/promises';
import type { Config } from '@labelq/config';
import { pino, type Logger } from 'pino';
import type { PhaseNumbers } from '../metrics.ts';
import { round } from '../metrics.ts';
import type { BenchImage, ChildResult, ClassNumbers, VariantSpec } from '../protocol.ts';

/** Above this many bytes the set is read from disk per image (page cache) instead of held in memory. */
const PRELOAD_LIMIT_BYTES = 1024 * 1024 * 1024;

/** A source of image bytes: in memory when the set fits {@link PRELOAD_LIMIT_BYTES}, else read on demand. */
export interface ImageSource {
  count: number;
  /** A fresh copy the caller may transfer or detach. */
  bytes(index: number): Promise<Uint8Array>;
  preloaded: boolean;
}

export async function loadImages(images: readonly BenchImage[]): Promise<ImageSource> {
  const total = images.reduce((n, i) => n + i.bytes, 0);
  if (total > PRELOAD_LIMIT_BYTES) {
    return {
      count: images.length,
      preloaded: false,
      bytes: async (i) => new Uint8Array(await readFile(images[i]!.path)),
    };
  }
  const held = await Promise.all(images.map((i) => readFile(i.path)));
  return {
    count: images.length,
    preloaded: true,
    // A copy: the pool transfers (detaches) what it is given.
    bytes: (i) => Promise.resolve(new Uint8Array(held[i]!)),
  };
}

/**
 * Runs `task(i)` for i in [0, count) with at most `limit` in flight, calling `onDone(done)` after each. Resolves
 * with the number of tasks that rejected (their first error is passed to `onError`); nothing is dropped.
 */
export async function runBounded(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
  onDone: (done: number) => void,
  onError: (err: unknown, index: number) => void,
): Promise<number> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failed++;
        onError(err, i);
      }
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, lane));
  return failed;
}

/**
 * Per-class numbers from the completion marks: images run class by class, so the k-th completion closes the
 * block of the class that holds the k-th image (concurrency blurs block edges by a few images at most).
 */
export function classNumbers(
  images: readonly BenchImage[],
  marks: PhaseNumbers['marks'],
): Record<string, ClassNumbers> {
  const out: Record<string, ClassNumbers> = {};
  let blockStart = 0;
  let i = 0;
  while (i < images.length && i < marks.length) {
    const cls = images[i]!.imageClass;
    let j = i;
    let peak = 0;
    while (j < images.length && j < marks.length && images[j]!.imageClass === cls) {
      peak = Math.max(peak, marks[j]!.peakRssMb);
      j++;
    }
    const end = marks[j - 1]!.atMs;
    const n = j - i;
    out[cls] = {
      images: n,
      imagesPerSec: round((n * 1000) / Math.max(1, end - blockStart)),
      peakRssMb: peak,
    };
    blockStart = end;
    i = j;
  }
  return out;
}

/** Builds the child's record from the meter's numbers. */
export function childResult(
  spec: VariantSpec,
  phase: PhaseNumbers,
  extra: Pick<ChildResult, 'failed' | 'stalled' | 'lockErrors' | 'settings' | 'notes'>,
): ChildResult {
  const images = spec.images.length;
  return {
    name: spec.name,
    variant: spec.variant,
    images,
    elapsedMs: round(phase.elapsedMs),
    imagesPerSec: round((images * 1000) / phase.elapsedMs),
    cpuMsPerImage: round(phase.cpuMs / images),
    mainThreadCpuMsPerImage: phase.mainThreadCpuMs === null ? null : round(phase.mainThreadCpuMs / images),
    mainCpuMsPerImage:
      phase.mainThreadCpuMs === null
        ? null
        : round(Math.max(0, phase.mainThreadCpuMs - phase.harnessCpuMs) / images),
    harnessCpuMsPerImage: round(phase.harnessCpuMs / images),
    classes: classNumbers(spec.images, phase.marks),
    loopDelayMs: phase.loopDelayMs,
    loopUtilization: phase.loopUtilization,
    peakRssMb: phase.peakRssMb,
    rssMb: phase.rssMb,
    ...extra,
  };
}

/** A short one-line reason for the notes. */
export function reason(err: unknown): string {
  if (err instanceof Error)
    return `${(err as { code?: string }).code ?? err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}

/** The logger services/worker/src/main.ts builds (same level from config, same destination: stdout, here the run's log file). */
export function benchLogger(config: Config): Logger {
  return pino({ level: config.logLevel, base: { service: 'worker', pid: process.pid } });
}

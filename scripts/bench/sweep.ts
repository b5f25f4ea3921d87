// `--sweep`: the points that justify the config defaults (POOL_THREADS = cores / INTRA_OP_THREADS,
// INTRA_OP_THREADS = 1, WORKER_CONCURRENCY = 2 x threads + 2).
import type { VariantName } from './options.ts';

export interface SweepPoint {
  variant: VariantName;
  name: string;
  poolThreads: number;
  intraOpThreads: number;
  /** Worker concurrency; undefined = config default. */
  concurrency: number | undefined;
}

/**
 * Pool shapes on `bare` (threads x intra-op around the core count, including oversubscription), then worker
 * concurrency on `pipeline` at the default pool shape (too low starves the pool during downloads/uploads, too
 * high only holds more images in memory).
 */
export function sweepPoints(cores: number): SweepPoint[] {
  const shapes = new Map<string, [number, number]>();
  const add = (threads: number, intra: number): void => {
    if (threads >= 1 && intra >= 1) shapes.set(`${threads}x${intra}`, [threads, intra]);
  };
  add(1, 1);
  add(Math.max(1, Math.floor(cores / 2)), 1);
  add(cores, 1);
  add(cores + 1, 1);
  add(1, cores);
  if (cores >= 2) add(Math.max(1, Math.floor(cores / 2)), 2);
  add(cores, 2);
  const points: SweepPoint[] = [...shapes.values()].map(([threads, intra]) => ({
    variant: 'bare',
    name: `sweep bare ${threads}x${intra}`,
    poolThreads: threads,
    intraOpThreads: intra,
    concurrency: undefined,
  }));
  const defaultConcurrency = cores * 2 + 2;
  for (const concurrency of [...new Set([1, cores, defaultConcurrency, defaultConcurrency * 2])]) {
    points.push({
      variant: 'pipeline',
      name: `sweep pipeline ${cores}x1 c=${concurrency}`,
      poolThreads: cores,
      intraOpThreads: 1,
      concurrency,
    });
  }
  return points;
}

// Variant 1, "bare": the Piscina inference pool over images already in memory: this machine's compute limit.
// "bare-fulldecode" is the same with every image decoded at full size (the decode path before shrink-on-load),
// so the gain is measured in the same run.
import { loadConfig } from '@labelq/config';
import { createInferencePool } from '@labelq/inference';
import { PhaseMeter } from '../metrics.ts';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { childResult, loadImages, reason, runBounded } from './common.ts';

export async function runBare(spec: VariantSpec): Promise<ChildResult> {
  const config = loadConfig(spec.env);
  const notes: string[] = [];
  const pool = await createInferencePool({
    modelsDir: config.models.dir,
    models: spec.models,
    threads: config.pool.threads,
    intraOpThreads: config.pool.intraOpThreads,
    maxInputPixels: config.pool.maxInputPixels,
    maxDecodeBytes: config.pool.maxDecodeBytes,
    shrinkOnLoad: spec.variant !== 'bare-fulldecode',
  });
  try {
    // Same number in flight as the worker keeps (its concurrency): enough to keep every thread busy.
    const inFlight = config.worker.concurrency;
    const warm = await loadImages(spec.warmup);
    await runBounded(
      warm.count,
      inFlight,
      async (i) => void (await pool.classify(await warm.bytes(i))),
      () => undefined,
      () => undefined,
    );
    const source = await loadImages(spec.images);
    if (!source.preloaded) notes.push('image set larger than 1 GiB: read from the page cache per image');

    const meter = new PhaseMeter(source.count, spec.loopResolutionMs);
    meter.start();
    const failed = await runBounded(
      source.count,
      inFlight,
      async (i) => {
        const out = await pool.classify(await source.bytes(i), { models: spec.models });
        if (out.results.length !== spec.models.length)
          throw new Error(`expected ${spec.models.length} results`);
      },
      (done) => meter.progress(done),
      (err, i) => {
        if (notes.length < 8) notes.push(`image ${i} failed: ${reason(err)}`);
      },
    );
    const phase = meter.stop();
    return childResult(spec, phase, {
      failed,
      stalled: null,
      lockErrors: null,
      settings: {
        poolThreads: pool.threads,
        intraOpThreads: config.pool.intraOpThreads,
        concurrency: inFlight,
      },
      notes,
    });
  } finally {
    await pool.close();
  }
}

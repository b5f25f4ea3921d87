// An InferencePool that does the pool threads' per-image work (sharp decode, resize, ORT, postprocess) on the
// thread that calls it. The main-thread and bullmq-sandboxed variants hand it to the worker's own processor
// (createWorkerRuntime / createProcessor), so every queue variant does the same S3, result-document and tag
// work and differs only in where the compute runs.
import { performance } from 'node:perf_hooks';
import { LabelqError } from '@labelq/errors';
import type { ClassifyOptions, ImageClassification, InferencePool } from '@labelq/inference';
import { loadModels } from '@labelq/models';
import { createThreadModel, decodeImage, runModel, type ThreadModel } from '@labelq/inference/inline';

export interface InlinePoolOptions {
  modelsDir: string;
  /** Models to load, by manifest name. */
  models: readonly string[];
  /** onnxruntime intra-op threads per session (no default: each variant states its own). */
  intraOpThreads: number;
  /** Same limit as the pool's `maxInputPixels`. */
  maxInputPixels: number;
}

/** Loads one ORT session per model on this thread and returns an InferencePool over them. */
export async function createInlinePool(options: InlinePoolOptions): Promise<InferencePool> {
  const loaded = await loadModels(options.modelsDir, options.models);
  const byName = new Map<string, ThreadModel>();
  for (const { manifest, path } of loaded) {
    byName.set(
      manifest.name,
      await createThreadModel(manifest, path, { intraOpThreads: options.intraOpThreads }),
    );
  }
  let pending = 0;

  async function classify(bytes: Uint8Array, call: ClassifyOptions = {}): Promise<ImageClassification> {
    const names = call.models ?? [...byName.keys()];
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length > 0) {
      throw new LabelqError('unknown_model', `Unknown model(s): ${unknown.join(', ')}`, {
        details: { unknown, available: [...byName.keys()] },
      });
    }
    pending++;
    try {
      const start = performance.now();
      // Same decode as a pool thread: once, at the smallest size every requested model needs.
      const image = await decodeImage(bytes, {
        maxInputPixels: options.maxInputPixels,
        models: names.map((n) => byName.get(n)!.manifest.input),
      });
      const decoded = performance.now();
      const results = [];
      const models: Record<string, number> = {};
      for (const name of names) {
        const t0 = performance.now();
        results.push(
          await runModel(byName.get(name)!, image, { topK: call.topK, minConfidence: call.minConfidence }),
        );
        models[name] = performance.now() - t0;
      }
      return {
        image: { format: image.format, width: image.original.width, height: image.original.height },
        results,
        timings: { queueMs: 0, decodeMs: decoded - start, models, totalMs: performance.now() - start },
      };
    } finally {
      pending--;
    }
  }

  return {
    manifests: loaded.map((l) => l.manifest),
    // No pool threads: the work runs on the caller's thread.
    threads: 0,
    classify,
    get pending() {
      return pending;
    },
    close: async () => {
      for (const m of byName.values()) await m.session.release();
    },
  };
}

// The Piscina worker file: the only place sharp pixel work and onnxruntime sessions live. Sessions are created
// once, when the thread starts (top-level await), one per model per thread.
import { getPriority, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import sharp from 'sharp';
import { toLabelqError } from '@labelq/errors';
import { decodeImage } from '../image/decode.ts';
import { suppressAnimalFaces } from '../postprocess/animal-faces.ts';
import { imageProperties } from '../image/properties.ts';
import type {
  ClassifyOutput,
  ClassifyTask,
  DescribeOutput,
  ThreadInit,
  ThreadReply,
  ThreadTask,
} from './protocol.ts';
import { createThreadModel, runModel, type ThreadModel } from './run-model.ts';

// One libvips thread per pool thread: the pool already occupies every core; more would oversubscribe.
sharp.concurrency(1);
// The cache holds decoded inputs between calls: useless here (every image is new) and it grows memory.
sharp.cache(false);

const init = workerData as ThreadInit;
// Linux keeps a nice value per thread and setpriority(PRIO_PROCESS, 0) changes the calling thread's only; elsewhere
// it would lower the whole process (the worker's main thread and the urgent threads too), so it is Linux only.
// Before the sessions: onnxruntime's intra-op threads, created with them, inherit it. Only ever raised: a process
// started above init.nice (e.g. under `nice -n 15`) would need CAP_SYS_NICE to come down to it (EACCES), and a
// thread whose top level throws never starts. A failure is reported and the thread runs at the nice it has.
const perThreadNice = process.platform === 'linux';
if (perThreadNice && init.nice !== 0) {
  try {
    setPriority(0, Math.max(getPriority(0), init.nice));
  } catch (err) {
    process.emitWarning(
      `pool thread ${threadId}: could not set nice ${init.nice}: ${(err as Error).message}`,
      {
        code: 'LABELQ_THREAD_NICE',
      },
    );
  }
}
const models = new Map<string, ThreadModel>();
for (const { manifest, path } of init.models) {
  models.set(manifest.name, await createThreadModel(manifest, path, { intraOpThreads: init.intraOpThreads }));
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

async function classify(task: ClassifyTask): Promise<ClassifyOutput> {
  const start = now();
  const requested = task.models.map((name) => {
    const model = models.get(name);
    // The pool validates names; reaching this means the pool and its threads disagree (a bug).
    if (model === undefined) throw new Error(`model ${name} is not loaded in thread ${threadId}`);
    return model;
  });
  // Decoded once, at the smallest size that serves every requested model: the one copy of this image's pixels
  // in the thread, which every model (and anything else computed from pixels) reads.
  const image = await decodeImage(task.bytes, {
    maxInputPixels: init.maxInputPixels,
    ...(init.shrinkOnLoad ? { models: requested.map((m) => m.manifest.input) } : {}),
  });
  const decoded = now();
  const results = [];
  const timings: Record<string, number> = {};
  for (const model of requested) {
    const t0 = now();
    results.push(await runModel(model, image, { topK: task.topK, minConfidence: task.minConfidence }));
    timings[model.manifest.name] = now() - t0;
  }
  return {
    image: { format: image.format, width: image.original.width, height: image.original.height },
    // All of this image's model results meet here: a detector's animals can veto a face model's faces.
    results: suppressAnimalFaces(results),
    properties: imageProperties(image),
    queueMs: Math.max(0, start - task.submittedAt),
    decodeMs: decoded - start,
    models: timings,
    startedAt: start,
    finishedAt: now(),
    threadId,
  };
}

function describe(): DescribeOutput {
  return {
    threadId,
    nice: perThreadNice ? getPriority(0) : 0,
    models: [...models.values()].map((m) => ({
      name: m.manifest.name,
      inputs: m.session.inputNames,
      outputs: m.session.outputNames,
    })),
  };
}

export default async function handle(
  task: ThreadTask,
): Promise<ThreadReply<ClassifyOutput | DescribeOutput>> {
  try {
    switch (task.kind) {
      case 'classify':
        return { ok: true, value: await classify(task) };
      case 'describe':
        return { ok: true, value: describe() };
      case 'exit':
        if (init.testHooks) process.exit(1);
        throw new Error('exit task refused: testHooks are off');
    }
  } catch (err) {
    return { ok: false, error: toLabelqError(err).toJSON() };
  }
}

import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import sharp from 'sharp';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { loadModels, type ModelManifest } from '@labelq/models';
import type {
  ClassifyOutput,
  DescribeOutput,
  ThreadInit,
  ThreadReply,
  ThreadTask,
} from './thread/protocol.ts';
import type { ClassifyOptions, ImageClassification, InferencePool } from './types.ts';
import { ByteBudget } from './byte-budget.ts';
import { ThreadLanes, type Assignment, type ThreadGroup } from './thread-lanes.ts';
import { estimateDecodeBytes } from './image/decode-memory.ts';
import { readImageHeader } from './image/header.ts';

/** Minimal structured logger (pino satisfies it). */
export interface PoolLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface InferencePoolOptions {
  /** Folder with the model manifests and .onnx files. Default `models`. */
  modelsDir?: string;
  /** Models to load, by manifest name, in result order. Default: every manifest in `modelsDir`. */
  models?: readonly string[];
  /** onnxruntime intra-op threads per session. Default 1. */
  intraOpThreads?: number;
  /** Worker threads for every image (the bulk threads). Default: available cores / `intraOpThreads`, at least 1. */
  threads?: number;
  /**
   * Threads beside `threads` that run only urgent images (`classify(..., { urgent: true })`: moderation), so one
   * never waits for a thread to finish a tagging image. Idle unless moderation runs; each loads every model (the
   * same memory as a bulk thread). Default 0.
   */
  urgentThreads?: number;
  /**
   * The OS nice value (0 to 19) the bulk threads give themselves when they start, before their onnxruntime sessions
   * exist (so the sessions' own threads inherit it): with bulk threads at 10 and urgent threads at 0, the kernel
   * gives a running urgent thread most of a core and the bulk threads all of the CPU otherwise. Linux only (the
   * nice value is per thread there; elsewhere it would lower the whole process): ignored on other platforms.
   * Default: 10 with urgent threads, else 0.
   */
  bulkNice?: number;
  /** Images with more pixels fail with `image_too_large` (checked from the header). Default 100_000_000. */
  maxInputPixels?: number;
  /**
   * Decode each image once at the smallest size that serves every requested model (JPEG and WebP shrink on
   * load), instead of at full size. Default true; false exists to measure the difference (`pnpm bench`'s
   * `bare-fulldecode`).
   */
  shrinkOnLoad?: boolean;
  /**
   * Estimated decode memory (from each image's header: pixels, channels, progressive JPEG coefficients, the
   * shrink-on-load target; `estimateDecodeBytes`) that may be in flight in the pool at once; images wait for
   * it before they go to a thread, so two 10000x10000 progressive JPEGs (~2 MB each, ~300 MB each to decode)
   * never decode together. An image that needs more than all of it waits until nothing else holds any, then
   * runs alone (the pixel limit, `maxInputPixels`, bounds what one image may need). Default 268435456 (256 MiB).
   */
  maxDecodeBytes?: number;
  /**
   * Tasks of each lane (urgent, tagging) that may wait for a thread; beyond it `classify` rejects with
   * `queue_unavailable` (retryable). Default: `(threads + urgentThreads) * 16`.
   */
  maxQueue?: number;
  /** Structured logger. Default: none. */
  logger?: PoolLogger;
  /** Enables internal test hooks (a task that kills its thread). Default false; never set in production. */
  testHooks?: boolean;
}

export interface InferencePoolExtras {
  /** Test hook (needs `testHooks`): kills the thread that picks the task up; resolves when the pool noticed. */
  crashThreadForTest(): Promise<LabelqError>;
}

/**
 * The thread entry, next to the file that holds this code. From source that is `src/thread/entry.mjs`, which
 * registers tsx in the thread and then loads `./thread/worker.ts`; in a build (scripts/build.ts) this code is
 * bundled into `<service>/dist/main.js` and the URL finds `dist/thread/entry.mjs`, `./thread/worker.ts` compiled.
 */
const WORKER_URL = new URL('./thread/entry.mjs', import.meta.url);

/**
 * Starts the inference pool: loads and verifies the manifests on this thread (`loadModels`: `model_missing`,
 * `manifest_invalid`, `model_checksum_mismatch`, `unknown_model`), starts every thread, and waits until each
 * has created its onnxruntime sessions (so a broken model fails here, not on the first image).
 */
export async function createInferencePool(
  options: InferencePoolOptions = {},
): Promise<InferencePool & InferencePoolExtras> {
  const intraOpThreads = options.intraOpThreads ?? 1;
  const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / intraOpThreads));
  const urgentThreads = options.urgentThreads ?? 0;
  const bulkNice = options.bulkNice ?? (urgentThreads > 0 ? 10 : 0);
  const maxInputPixels = options.maxInputPixels ?? 100_000_000;
  const maxQueue = options.maxQueue ?? (threads + urgentThreads) * 16;
  const shrinkOnLoad = options.shrinkOnLoad ?? true;
  const memory = new ByteBudget(options.maxDecodeBytes ?? 256 * 1024 * 1024);
  const log = options.logger;
  const loaded = await loadModels(options.modelsDir ?? 'models', options.models);
  const manifests: readonly ModelManifest[] = Object.freeze(loaded.map((m) => m.manifest));
  const byName = new Set(manifests.map((m) => m.name));
  const inputsByName = new Map(manifests.map((m) => [m.name, m.input]));

  const init = (nice: number): ThreadInit => ({
    models: loaded.map(({ manifest, path }) => ({ manifest, path })),
    intraOpThreads,
    maxInputPixels,
    shrinkOnLoad,
    nice,
    testHooks: options.testHooks ?? false,
  });
  // The threads of libuv's pool (sharp's decode and resize run there, for every pool thread) were started by
  // loadModels' file reads above, on this thread at its own nice value: a bulk thread lowering its nice value does
  // not reach them. One Piscina pool per thread group: Piscina hands a task to whichever of its threads is free, so keeping a
  // thread for some tasks takes a pool of its own. Tasks wait in `lanes`, not in Piscina's queues.
  const startGroup = (size: number, nice: number): Piscina | undefined => {
    if (size === 0) return undefined;
    const piscina = new Piscina({
      filename: WORKER_URL.href,
      minThreads: size,
      maxThreads: size,
      // Sessions live for the thread's life: never let idle threads expire and reload models.
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: init(nice),
    });
    // A thread that dies is replaced by Piscina; its task is rejected (mapped below). Log, never crash.
    piscina.on('error', (err: unknown) => log?.error({ err }, 'inference thread error'));
    return piscina;
  };
  const groups: Record<ThreadGroup, Piscina | undefined> = {
    bulk: startGroup(threads, bulkNice),
    urgent: startGroup(urgentThreads, 0),
  };
  const bulk = groups.bulk!;
  const lanes = new ThreadLanes<Waiting>({ bulk: threads, urgent: urgentThreads }, maxQueue);
  let running = 0;
  let idle: (() => void) | undefined;
  let destroyed = false;

  async function runOn<T>(piscina: Piscina, task: ThreadTask, transfer?: Uint8Array): Promise<T> {
    let reply: ThreadReply<T>;
    try {
      reply = (await piscina.run(
        task,
        transfer ? { transferList: [transfer.buffer as ArrayBuffer] } : {},
      )) as ThreadReply<T>;
    } catch (err) {
      throw poolError(err);
    }
    if (!reply.ok) throw toLabelqError(reply.error);
    return reply.value;
  }

  function start(assignments: Assignment<Waiting>[]): void {
    for (const { item, group } of assignments) {
      running++;
      runOn(groups[group]!, item.task, item.transfer)
        .then(item.resolve, item.reject)
        .finally(() => {
          running--;
          start(lanes.release(group));
          if (running === 0 && lanes.waiting === 0) idle?.();
        });
    }
  }

  /** Runs `task` on the first free thread its lane may use (see ThreadLanes). */
  function schedule<T>(task: ThreadTask, transfer: Uint8Array, urgent: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const assignments = lanes.push(
        { task, transfer, resolve: resolve as (v: unknown) => void, reject },
        urgent,
      );
      if (assignments === undefined) {
        reject(
          new LabelqError('queue_unavailable', `Inference queue is full (${maxQueue} waiting)`, {
            details: { reason: 'pool_queue_full', maxQueue },
          }),
        );
      } else start(assignments);
    });
  }

  // Prove the sessions load in every thread: one describe per thread, run concurrently.
  try {
    const described = await Promise.all(
      (['bulk', 'urgent'] as const).flatMap((group) =>
        Array.from({ length: group === 'bulk' ? threads : urgentThreads }, () =>
          runOn<DescribeOutput>(groups[group]!, { kind: 'describe' }).then((d) => ({ group, ...d })),
        ),
      ),
    );
    log?.info(
      {
        threads,
        urgentThreads,
        intraOpThreads,
        models: described[0]?.models.map((m) => m.name),
        nice: described.map((d) => `${d.group}:${d.nice}`),
      },
      'inference pool started',
    );
  } catch (err) {
    await Promise.all([groups.bulk?.destroy(), groups.urgent?.destroy()]);
    throw err;
  }

  let closed = false;
  let inFlight = 0;
  const pool: InferencePool & InferencePoolExtras = {
    manifests,
    threads,
    urgentThreads,
    get pending() {
      return inFlight;
    },
    async classify(bytes: Uint8Array, callOptions: ClassifyOptions = {}): Promise<ImageClassification> {
      if (closed) throw new LabelqError('internal', 'The inference pool is closed');
      // Opt-in models (OCR) run only when named.
      const models = callOptions.models ?? manifests.filter((m) => !m.optIn).map((m) => m.name);
      const unknown = models.filter((n) => !byName.has(n));
      if (unknown.length > 0) {
        throw new LabelqError('unknown_model', `Unknown model(s): ${unknown.join(', ')}`, {
          details: { unknown, available: [...byName] },
        });
      }
      if (models.length === 0) throw new LabelqError('invalid_request', 'No models requested');
      const unique = [...new Set(models)];
      const t0 = performance.timeOrigin + performance.now();
      inFlight++;
      let release: (() => void) | undefined;
      let out: ClassifyOutput;
      let decodeBytes: number;
      let submittedAt: number;
      try {
        // Before the bytes are transferred: the header says how much memory decoding will take.
        decodeBytes = await estimateFromHeader(
          bytes,
          unique.map((n) => inputsByName.get(n)!),
          shrinkOnLoad,
          maxInputPixels,
        );
        release = await memory.acquire(decodeBytes, { urgent: callOptions.urgent === true });
        submittedAt = performance.timeOrigin + performance.now();
        const owned = ownedBytes(bytes);
        out = await schedule<ClassifyOutput>(
          {
            kind: 'classify',
            bytes: owned,
            models: unique,
            topK: callOptions.topK,
            minConfidence: callOptions.minConfidence,
            submittedAt,
          },
          owned,
          callOptions.urgent === true,
        );
      } finally {
        release?.();
        inFlight--;
      }
      return {
        image: out.image,
        results: out.results,
        decodeBytes,
        ranAt: { start: out.startedAt, end: out.finishedAt, thread: out.threadId },
        properties: out.properties,
        timings: {
          memoryWaitMs: submittedAt - t0,
          queueMs: out.queueMs,
          decodeMs: out.decodeMs,
          models: out.models,
          totalMs: performance.timeOrigin + performance.now() - t0,
        },
      };
    },
    async crashThreadForTest(): Promise<LabelqError> {
      try {
        await runOn(bulk, { kind: 'exit' });
      } catch (err) {
        return toLabelqError(err);
      }
      throw new Error('the thread did not exit');
    },
    async close(closeOptions: { force?: boolean } = {}): Promise<void> {
      if (closed && !closeOptions.force) return;
      closed = true;
      if (closeOptions.force) {
        // A missed shutdown deadline: what waits never runs, and destroy() terminates the running threads.
        destroyed = true;
        for (const waiting of lanes.clear()) waiting.reject(poolError(new Error('the pool was closed')));
        await Promise.all([groups.bulk?.destroy(), groups.urgent?.destroy()]);
        return;
      }
      // Every task accepted before close runs: the waiting ones too.
      if (running > 0 || lanes.waiting > 0) await new Promise<void>((resolve) => (idle = resolve));
      if (destroyed) return;
      await Promise.all([groups.bulk?.close(), groups.urgent?.close()]);
    },
  };
  return pool;
}

/** A task waiting in the lanes for a thread. */
interface Waiting {
  task: ThreadTask;
  transfer: Uint8Array;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * The decode-memory estimate for `bytes` from its header: read in JavaScript for JPEG, PNG, WebP and GIF
 * (`readImageHeader`, a few microseconds), else by sharp's metadata (header parsing only, but a libuv round trip
 * and a native call on the worker's main thread). 0 when no decoding will happen: a header sharp cannot read,
 * or more pixels than the limit (the thread refuses both from the header, with their own coded errors).
 */
async function estimateFromHeader(
  bytes: Uint8Array,
  models: Parameters<typeof estimateDecodeBytes>[1],
  shrinkOnLoad: boolean,
  maxInputPixels: number,
): Promise<number> {
  let header = readImageHeader(bytes);
  if (header === undefined) {
    try {
      header = await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        limitInputPixels: false,
        pages: 1,
      }).metadata();
    } catch {
      return 0;
    }
  }
  const height = header.pageHeight ?? header.height;
  if (!header.width || !height || header.width * height > maxInputPixels) return 0;
  return estimateDecodeBytes(header, models, shrinkOnLoad);
}

/**
 * Bytes we may transfer: a view that covers its whole ArrayBuffer is transferred as is (the caller's buffer is
 * detached); a view into a larger or shared buffer (Node's Buffer pool, a slice) is copied first so we never
 * detach memory the caller did not hand us.
 */
function ownedBytes(bytes: Uint8Array): Uint8Array {
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  return whole ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
}

function poolError(err: unknown): LabelqError {
  const message = err instanceof Error ? err.message : String(err);
  // The thread died (process.exit, OOM, native crash caught by the runtime): Piscina replaced it.
  return new LabelqError('inference_failed', `Inference thread failed: ${message}`, { cause: err });
}

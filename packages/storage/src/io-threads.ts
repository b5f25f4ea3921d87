import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@labelq/config';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { jsonDocument, resultKey } from './documents.ts';
import type {
  IoObjectInfo,
  IoOpName,
  IoOps,
  IoReply,
  IoRequest,
  IoThreadData,
} from './io-thread/protocol.ts';
import { createObjectStore, type ObjectStore } from './object-store.ts';
import type { OpenedObject } from './objects.ts';

/**
 * The thread entry, next to this file: from source `src/io-thread/entry.mjs` (registers tsx, loads worker.ts); in
 * a build (scripts/build.ts) `dist/io-thread/entry.mjs`, next to the bundle that holds this code.
 */
const IO_THREAD_URL = new URL('./io-thread/entry.mjs', import.meta.url);

/**
 * The I/O thread's young generation, MB. Its garbage is the SDK's per-request objects, dead within the request
 * (bodies live outside the V8 heap), so a small nursery costs no measurable CPU; V8's default let it grow to tens of
 * MB. Measured (`pnpm bench --only pipeline`, 200 images, alternating): worker peak RSS 725 MB with the default,
 * 688 with 8, 679 with 4; img/s and CPU per image within the runs' noise.
 */
const IO_THREAD_YOUNG_GENERATION_MB = 8;

export interface IoThreadsOptions {
  /** I/O threads, each with its own S3 client and sockets; a request goes to the least busy one. Default 1. */
  threads?: number;
  /** Told when a thread dies (its requests fail `storage_unavailable`, a new one starts). Default: nobody. */
  onThreadExit?: (info: { thread: number; exitCode: number; error: Error | undefined }) => void;
  /** The thread's entry. Default: this package's I/O thread (tests give one that dies on purpose). */
  threadUrl?: URL;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: LabelqError): void;
  /** What the request was about (the breaker's probe reads `bucket`), for errors raised on this side. */
  details: Record<string, unknown>;
}

/** `storage_unavailable` for a request the thread can no longer answer (it exited, or the store was destroyed). */
function lost(reason: string, details: Record<string, unknown>, cause?: Error): LabelqError {
  return new LabelqError('storage_unavailable', reason, { details, ...(cause ? { cause } : {}) });
}

/** One I/O thread, started on first use and again after it died. */
class IoThread {
  #worker: Worker | undefined;
  /** Bumped each time a thread starts: an opened body belongs to the thread (generation) that opened it. */
  #generation = 0;
  #pending = new Map<number, Pending>();
  /** Bodies opened on the current thread and not yet read or discarded (lost with it). */
  #opened = new Set<number>();
  #lastError: Error | undefined;
  #terminating = false;

  constructor(
    private readonly index: number,
    private readonly data: IoThreadData,
    private readonly nextId: () => number,
    private readonly onExit: IoThreadsOptions['onThreadExit'],
    private readonly url: URL,
  ) {}

  /** Requests in flight and bodies held on this thread (the pick of the least busy one). */
  get load(): number {
    return this.#pending.size + this.#opened.size;
  }

  get generation(): number {
    return this.#generation;
  }

  #start(): Worker {
    const worker = new Worker(this.url, {
      workerData: this.data,
      resourceLimits: { maxYoungGenerationSizeMb: IO_THREAD_YOUNG_GENERATION_MB },
    });
    this.#generation++;
    worker.unref();
    worker.on('message', (msg: IoReply) => this.#settle(msg));
    worker.on('error', (err) => (this.#lastError = err));
    // A reply that cannot be deserialized would leave its request pending forever: end the thread instead, so
    // that its exit fails everything it held with storage_unavailable and the next request gets a new one.
    worker.on('messageerror', (err) => {
      this.#lastError = err;
      void worker.terminate();
    });
    worker.on('exit', (exitCode) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const error = this.#lastError;
      this.#lastError = undefined;
      const failed = [...this.#pending.values()];
      const bodies = this.#opened.size;
      this.#pending.clear();
      this.#opened.clear();
      const reason = `The S3 I/O thread exited (code ${exitCode}${error ? `: ${error.message}` : ''}) during the request`;
      for (const p of failed) p.reject(lost(reason, p.details, error));
      if (!this.#terminating && (failed.length > 0 || bodies > 0 || error !== undefined || exitCode !== 0))
        this.onExit?.({ thread: this.index, exitCode, error });
    });
    return worker;
  }

  #settle(msg: IoReply): void {
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    this.#idle();
    if (msg.ok) p.resolve(msg.value);
    else p.reject(toLabelqError(msg.error));
  }

  /** Nothing in flight: the thread must not keep the process alive on its own. */
  #idle(): void {
    if (this.#pending.size === 0) this.#worker?.unref();
  }

  /** Fire and forget (abort): nothing comes back. */
  post(msg: IoRequest): void {
    this.#worker?.postMessage(msg);
  }

  /** Whether body `handle`, opened on thread `generation`, is still held by the running thread. */
  holds(handle: number, generation: number): boolean {
    return generation === this.#generation && this.#worker !== undefined && this.#opened.has(handle);
  }

  /** Marks body `handle` as held by thread `generation` (its openObject answered), if that thread still runs. */
  hold(handle: number, generation: number): void {
    if (generation === this.#generation && this.#worker !== undefined) this.#opened.add(handle);
  }

  /** Body `handle` was read. */
  letGo(handle: number): void {
    this.#opened.delete(handle);
  }

  /** Frees body `handle` in the thread without reading it. */
  discard(handle: number, generation: number): void {
    if (!this.holds(handle, generation)) return;
    this.#opened.delete(handle);
    this.post({ type: 'discard', id: handle });
  }

  /**
   * Runs `op` in the thread (starting one if none runs). With a `signal`, its abort aborts the request there,
   * until `release()` (an opened body keeps it until the body is read or discarded). Never throws: a message
   * that cannot be sent (a value structured clone refuses) rejects with `internal`.
   */
  call<K extends IoOpName>(
    op: K,
    args: IoOps[K]['args'],
    details: Record<string, unknown>,
    signal?: AbortSignal,
  ): { id: number; result: Promise<IoOps[K]['result']>; release(): void } {
    const id = this.nextId();
    const onAbort = (): void => this.post({ type: 'abort', id });
    const release = (): void => signal?.removeEventListener('abort', onAbort);
    let worker: Worker;
    try {
      worker = this.#worker ??= this.#start();
      worker.postMessage({ type: 'call', id, op, args, abortable: signal !== undefined } satisfies IoRequest);
    } catch (err) {
      return {
        id,
        release,
        result: Promise.reject(
          new LabelqError(
            'internal',
            `Could not send ${op} to the S3 I/O thread: ${(err as Error).message}`,
            {
              cause: err,
              details,
            },
          ),
        ),
      };
    }
    const result = new Promise<IoOps[K]['result']>((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject, details });
    });
    if (signal !== undefined) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return { id, result, release };
  }

  async terminate(): Promise<void> {
    this.#terminating = true;
    await this.#worker?.terminate();
  }
}

/** `Uint8Array` -> `Buffer` over the same memory (what the in-process store returns). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The object store with its S3 requests on `threads` worker threads (S3_IO_THREADS). The AWS SDK costs the
 * calling thread 1 to 4 ms of CPU per request (middleware, signing, XML, HTTP; measured in #12); here it costs a
 * message there and back, and a downloaded body is transferred, not copied. Errors, deadlines (`signal`) and
 * results are those of {@link createObjectStore}. Streamed uploads and `client` use an S3 client on the calling
 * thread, made on first use.
 */
export function createThreadedObjectStore(s3: Config['s3'], options: IoThreadsOptions = {}): ObjectStore {
  const count = options.threads ?? 1;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`threads must be an integer >= 1, got ${count}`);
  let lastId = 0;
  const nextId = (): number => ++lastId;
  const data: IoThreadData = { s3 };
  const url = options.threadUrl ?? IO_THREAD_URL;
  const threads = Array.from(
    { length: count },
    (_, i) => new IoThread(i, data, nextId, options.onThreadExit, url),
  );
  let local: ObjectStore | undefined;
  let destroyed = false;
  const gone = (details: Record<string, unknown>): LabelqError =>
    lost('The object store was destroyed (the worker is shutting down)', details);
  const onThisThread = (): ObjectStore => {
    if (destroyed) throw gone({});
    return (local ??= createObjectStore(s3));
  };

  const pick = (): IoThread => {
    let best = threads[0]!;
    for (const t of threads) if (t.load < best.load) best = t;
    return best;
  };
  const run = async <K extends IoOpName>(
    op: K,
    args: IoOps[K]['args'],
    details: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<IoOps[K]['result']> => {
    if (destroyed) throw gone(details);
    const call = pick().call(op, args, details, signal);
    try {
      return await call.result;
    } finally {
      call.release();
    }
  };

  const openObject = async (
    bucket: string,
    key: string,
    o: { maxBytes: number; signal?: AbortSignal },
  ): Promise<OpenedObject> => {
    const details = { bucket, key };
    if (destroyed) throw gone(details);
    const thread = pick();
    const call = thread.call('openObject', [bucket, key, o.maxBytes], details, o.signal);
    // The thread the request went to: the body waits there, and only there (not in a successor) can it be read.
    const generation = thread.generation;
    let info: IoObjectInfo;
    try {
      info = await call.result;
    } catch (err) {
      call.release();
      throw err;
    }
    thread.hold(call.id, generation);
    let used = false;
    return {
      ...info,
      read: async () => {
        if (used) throw new Error('OpenedObject.read() called twice');
        used = true;
        try {
          if (destroyed) throw gone(details);
          if (!thread.holds(call.id, generation))
            throw lost('The S3 I/O thread holding the response exited before its body was read', details);
          const bytes = thread.call('read', [call.id], details);
          try {
            return asBuffer(await bytes.result);
          } finally {
            thread.letGo(call.id);
          }
        } finally {
          call.release();
        }
      },
      discard: () => {
        if (used) return;
        used = true;
        call.release();
        thread.discard(call.id, generation);
      },
    };
  };

  return {
    get client(): S3Client {
      return onThisThread().client;
    },
    bucket: s3.bucket,
    resultKey: (tenant, imageId) => resultKey(s3.resultsPrefix, tenant, imageId),
    putObject: (bucket, key, body, o = {}) =>
      body instanceof Readable
        ? Promise.resolve().then(() => onThisThread().putObject(bucket, key, body, o))
        : run('putObject', [bucket, key, body, o], { bucket, key }),
    headObject: (bucket, key) => run('headObject', [bucket, key], { bucket, key }),
    openObject,
    getObjectBytes: async (bucket, key, o) => {
      const out = await run('getObjectBytes', [bucket, key, o.maxBytes], { bucket, key }, o.signal);
      return { bytes: asBuffer(out.bytes), etag: out.etag, contentType: out.contentType };
    },
    // Serialized here, exactly as the in-process store does (toJSON, Buffers, dropped functions): a structured
    // clone of the document would not give the same bytes, and equal documents must give equal ETags.
    putJson: async (bucket, key, doc) => {
      const { body, options } = jsonDocument(doc);
      return run('putObject', [bucket, key, body, options], { bucket, key });
    },
    getJson: (bucket, key) => run('getJson', [bucket, key], { bucket, key }),
    getTags: (bucket, key) => run('getTags', [bucket, key], { bucket, key }),
    mergeTags: (bucket, key, ours, owned) => run('mergeTags', [bucket, key, ours, owned], { bucket, key }),
    checkBucket: async (bucket) => {
      await run('checkBucket', [bucket], { bucket });
    },
    ensureBucket: async (bucket) => {
      await run('ensureBucket', [bucket], { bucket });
    },
    destroy: () => {
      destroyed = true;
      for (const t of threads) void t.terminate();
      local?.destroy();
    },
  };
}

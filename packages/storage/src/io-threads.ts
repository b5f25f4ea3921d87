import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@labelq/config';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { resultKey } from './documents.ts';
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
}

/** One I/O thread, started on first use and again after it died. */
class IoThread {
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #lastError: Error | undefined;
  #terminating = false;

  constructor(
    private readonly index: number,
    private readonly data: IoThreadData,
    private readonly nextId: () => number,
    private readonly onExit: IoThreadsOptions['onThreadExit'],
    private readonly url: URL,
  ) {}

  /** Requests in flight on this thread (the pick of the least busy one). */
  get load(): number {
    return this.#pending.size;
  }

  #start(): Worker {
    const worker = new Worker(this.url, { workerData: this.data });
    worker.unref();
    worker.on('message', (msg: IoReply) => this.#settle(msg));
    worker.on('error', (err) => (this.#lastError = err));
    worker.on('exit', (exitCode) => {
      if (this.#worker === worker) this.#worker = undefined;
      const error = this.#lastError;
      this.#lastError = undefined;
      const failed = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of failed) {
        p.reject(
          new LabelqError(
            'storage_unavailable',
            `The S3 I/O thread exited (code ${exitCode}${error ? `: ${error.message}` : ''}) during the request`,
            { cause: error },
          ),
        );
      }
      if (!this.#terminating && (failed.length > 0 || error !== undefined))
        this.onExit?.({ thread: this.index, exitCode, error });
    });
    return worker;
  }

  #settle(msg: IoReply): void {
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    // Nothing in flight: the thread must not keep the process alive on its own.
    if (this.#pending.size === 0) this.#worker?.unref();
    if (msg.ok) p.resolve(msg.value);
    else p.reject(toLabelqError(msg.error));
  }

  /** Fire and forget (abort, discard): nothing comes back. */
  post(msg: IoRequest): void {
    this.#worker?.postMessage(msg);
  }

  /**
   * Runs `op` in the thread. With a `signal`, its abort aborts the request there; `keepSignal` keeps that link
   * after the call returns (an opened body: until `release()`).
   */
  call<K extends IoOpName>(
    op: K,
    args: IoOps[K]['args'],
    signal?: AbortSignal,
  ): { id: number; result: Promise<IoOps[K]['result']>; release(): void } {
    const worker = (this.#worker ??= this.#start());
    const id = this.nextId();
    const onAbort = (): void => this.post({ type: 'abort', id });
    const release = (): void => signal?.removeEventListener('abort', onAbort);
    const result = new Promise<IoOps[K]['result']>((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
    });
    worker.postMessage({ type: 'call', id, op, args, abortable: signal !== undefined } satisfies IoRequest);
    if (signal !== undefined) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return { id, result, release };
  }

  async terminate(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#terminating = true;
    await worker?.terminate();
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
  const onThisThread = (): ObjectStore => (local ??= createObjectStore(s3));
  let destroyed = false;

  const pick = (): IoThread => {
    if (destroyed) throw new LabelqError('storage_unavailable', 'The object store was destroyed');
    let best = threads[0]!;
    for (const t of threads) if (t.load < best.load) best = t;
    return best;
  };
  const run = <K extends IoOpName>(
    op: K,
    args: IoOps[K]['args'],
    signal?: AbortSignal,
  ): Promise<IoOps[K]['result']> => {
    const call = pick().call(op, args, signal);
    return call.result.finally(() => call.release());
  };

  const openObject = async (
    bucket: string,
    key: string,
    o: { maxBytes: number; signal?: AbortSignal },
  ): Promise<OpenedObject> => {
    const thread = pick();
    const call = thread.call('openObject', [bucket, key, o.maxBytes], o.signal);
    let info: IoObjectInfo;
    try {
      info = await call.result;
    } catch (err) {
      call.release();
      throw err;
    }
    let used = false;
    return {
      ...info,
      read: async () => {
        if (used) throw new Error('OpenedObject.read() called twice');
        used = true;
        try {
          return asBuffer(await thread.call('read', [call.id]).result);
        } finally {
          call.release();
        }
      },
      discard: () => {
        if (used) return;
        used = true;
        call.release();
        thread.post({ type: 'discard', id: call.id });
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
        ? onThisThread().putObject(bucket, key, body, o)
        : run('putObject', [bucket, key, body, o]),
    headObject: (bucket, key) => run('headObject', [bucket, key]),
    openObject,
    getObjectBytes: async (bucket, key, o) => {
      const out = await run('getObjectBytes', [bucket, key, o.maxBytes], o.signal);
      return { bytes: asBuffer(out.bytes), etag: out.etag, contentType: out.contentType };
    },
    putJson: (bucket, key, doc) => run('putJson', [bucket, key, doc]),
    getJson: (bucket, key) => run('getJson', [bucket, key]),
    getTags: (bucket, key) => run('getTags', [bucket, key]),
    mergeTags: (bucket, key, ours, owned) => run('mergeTags', [bucket, key, ours, owned]),
    checkBucket: async (bucket) => {
      await run('checkBucket', [bucket]);
    },
    ensureBucket: async (bucket) => {
      await run('ensureBucket', [bucket]);
    },
    destroy: () => {
      destroyed = true;
      for (const t of threads) void t.terminate();
      local?.destroy();
    },
  };
}

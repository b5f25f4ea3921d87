// An S3 I/O thread: runs the object store's requests (the AWS SDK's middleware, signing, XML and HTTP) on its own
// event loop, so that they cost the worker's main thread a message each instead of 1 to 4 ms of CPU. One S3
// client per thread. Bodies go back as transferred ArrayBuffers (no copy).
import { parentPort, workerData } from 'node:worker_threads';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { createObjectStore } from '../object-store.ts';
import type { OpenedObject } from '../objects.ts';
import type { IoOpName, IoOps, IoReply, IoRequest, IoThreadData } from './protocol.ts';

const port = parentPort;
if (port === null) throw new Error('io-thread/worker.ts runs in a worker thread');
const { s3 } = workerData as IoThreadData;
const store = createObjectStore(s3);

/** Deadlines of the requests that have one, by request id; an opened body keeps its own until read. */
const controllers = new Map<number, AbortController>();
/** Bodies opened by `openObject` and not yet read or discarded, by request id. */
const opened = new Map<number, OpenedObject>();
/** Requests whose controller outlives the call (an opened body, until it is read or discarded). */
const keep = new Set<number>();

/** A Uint8Array that owns its whole ArrayBuffer (so transferring it moves exactly these bytes). */
function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

type Handlers = {
  [K in IoOpName]: (
    id: number,
    signal: AbortSignal | undefined,
    args: IoOps[K]['args'],
  ) => Promise<IoOps[K]['result']>;
};

const handlers: Handlers = {
  headObject: (_id, _s, [bucket, key]) => store.headObject(bucket, key),
  openObject: async (id, signal, [bucket, key, maxBytes]) => {
    const o = await store.openObject(bucket, key, { maxBytes, ...(signal ? { signal } : {}) });
    opened.set(id, o);
    // The deadline now bounds the body read as well: it stays until read() or discard.
    keep.add(id);
    return { etag: o.etag, contentLength: o.contentLength, contentType: o.contentType };
  },
  read: async (_id, _s, [handle]) => {
    const o = opened.get(handle);
    // Read twice or after a discard: the main thread's OpenedObject allows neither, so this is a lost body.
    if (o === undefined)
      throw new LabelqError('storage_unavailable', `The S3 I/O thread holds no opened object ${handle}`);
    opened.delete(handle);
    try {
      return owned(await o.read());
    } finally {
      controllers.delete(handle);
    }
  },
  getObjectBytes: async (_id, signal, [bucket, key, maxBytes]) => {
    const o = await store.getObjectBytes(bucket, key, { maxBytes, ...(signal ? { signal } : {}) });
    return { bytes: owned(o.bytes), etag: o.etag, contentLength: o.bytes.length, contentType: o.contentType };
  },
  putObject: (_id, _s, [bucket, key, body, options]) => store.putObject(bucket, key, body, options),
  getJson: (_id, _s, [bucket, key]) => store.getJson(bucket, key),
  getTags: (_id, _s, [bucket, key]) => store.getTags(bucket, key),
  mergeTags: (_id, _s, [bucket, key, ours, owned_]) => store.mergeTags(bucket, key, ours, owned_),
  checkBucket: (_id, _s, [bucket]) => store.checkBucket(bucket),
  ensureBucket: (_id, _s, [bucket]) => store.ensureBucket(bucket),
};

function reply(msg: IoReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

async function call(msg: Extract<IoRequest, { type: 'call' }>): Promise<void> {
  let signal: AbortSignal | undefined;
  if (msg.abortable) {
    const controller = new AbortController();
    controllers.set(msg.id, controller);
    signal = controller.signal;
  }
  try {
    const handler = handlers[msg.op] as (
      id: number,
      s: AbortSignal | undefined,
      a: unknown[],
    ) => Promise<unknown>;
    const value = await handler(msg.id, signal, msg.args);
    const transfer: ArrayBuffer[] = [];
    if (value instanceof Uint8Array) transfer.push(value.buffer as ArrayBuffer);
    else if (msg.op === 'getObjectBytes')
      transfer.push((value as { bytes: Uint8Array }).bytes.buffer as ArrayBuffer);
    reply({ id: msg.id, ok: true, value }, transfer);
  } catch (raw) {
    // A body opened but not answered for (its reply failed) would hold its socket forever: free it.
    if (keep.has(msg.id)) {
      opened.get(msg.id)?.discard();
      opened.delete(msg.id);
      keep.delete(msg.id);
    }
    const err = toLabelqError(raw);
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    reply({
      id: msg.id,
      ok: false,
      error: { code: err.code, message: err.message, details: err.details, ...(cause ? { cause } : {}) },
    });
  } finally {
    if (!keep.delete(msg.id)) controllers.delete(msg.id);
  }
}

// A request that cannot be deserialized has no id to answer: end the thread, so the main thread fails what it
// held with storage_unavailable and starts a new one, instead of waiting on it forever.
port.on('messageerror', () => process.exit(1));

port.on('message', (msg: IoRequest) => {
  switch (msg.type) {
    case 'call':
      void call(msg);
      break;
    case 'abort':
      controllers.get(msg.id)?.abort(new Error('deadline passed'));
      break;
    case 'discard':
      opened.get(msg.id)?.discard();
      opened.delete(msg.id);
      controllers.delete(msg.id);
      break;
  }
});

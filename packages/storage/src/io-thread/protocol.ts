// The messages between the main thread and an S3 I/O thread (io-threads.ts, io-thread/worker.ts). Both sides are
// the same build of this package, so the shapes need no versioning: they never cross a process boundary.
import type { Config } from '@labelq/config';
import type { SerializedError } from '@labelq/errors';
import type { MergeResult, ObjectTag } from '../tags.ts';
import type { PutObjectOptions } from '../objects.ts';

/** `workerData` of an I/O thread. */
export interface IoThreadData {
  s3: Config['s3'];
}

/** The store operations an I/O thread runs, with their arguments and results. */
export interface IoOps {
  headObject: { args: [bucket: string, key: string]; result: IoObjectInfo | undefined };
  /** Opens a GetObject: the headers come back, the body waits in the thread under the request's id. */
  openObject: { args: [bucket: string, key: string, maxBytes: number]; result: IoObjectInfo };
  /** Reads the body of the object `openObject` request `handle` opened. */
  read: { args: [handle: number]; result: Uint8Array };
  getObjectBytes: {
    args: [bucket: string, key: string, maxBytes: number];
    result: IoObjectInfo & { bytes: Uint8Array };
  };
  putObject: {
    args: [bucket: string, key: string, body: Uint8Array | string, options: PutObjectOptions];
    result: { etag: string };
  };
  getJson: { args: [bucket: string, key: string]; result: unknown };
  getTags: { args: [bucket: string, key: string]; result: ObjectTag[] };
  mergeTags: {
    args: [bucket: string, key: string, ours: readonly ObjectTag[], owned: readonly string[] | undefined];
    result: MergeResult;
  };
  checkBucket: { args: [bucket: string]; result: void };
  ensureBucket: { args: [bucket: string]; result: void };
}
export type IoOpName = keyof IoOps;

export interface IoObjectInfo {
  etag: string;
  contentLength: number;
  contentType: string | undefined;
}

/** Main thread to I/O thread. */
export type IoRequest =
  | {
      type: 'call';
      id: number;
      op: IoOpName;
      args: unknown[];
      /** The request has a deadline or can be abandoned: the thread keeps an AbortController for it. */
      abortable: boolean;
    }
  /** Aborts request `id` (its deadline passed): the S3 request, or the body read it opened, stops. */
  | { type: 'abort'; id: number }
  /** Frees the body of `openObject` request `id` without reading it. */
  | { type: 'discard'; id: number };

/** I/O thread to main thread: one reply per call. */
export type IoReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError & { cause?: string } };

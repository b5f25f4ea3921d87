// Messages between the pool (main thread) and its worker threads. Everything here survives structured clone.
import type { SerializedError } from '@labelq/errors';
import type { ModelManifest } from '@labelq/models';
import type { ImageProperties, ModelResult } from '@labelq/contracts';
import type { ImageInfo } from '../types.ts';

/** What each thread gets at start (Piscina `workerData`). */
export interface ThreadInit {
  models: { manifest: ModelManifest; path: string }[];
  /** onnxruntime intra-op threads per session. */
  intraOpThreads: number;
  maxInputPixels: number;
  /** Decode at the smallest size the requested models need (true) or always at full size (false). */
  shrinkOnLoad: boolean;
  /** OS nice value the thread sets for itself at start (Linux: per thread), before its sessions exist. */
  nice: number;
  /** Enables the `exit` task, which kills its thread; only tests set it. */
  testHooks: boolean;
}

export interface ClassifyTask {
  kind: 'classify';
  /** Transferred, not copied. */
  bytes: Uint8Array;
  /** Manifest names, already validated by the pool. */
  models: string[];
  topK: number | undefined;
  minConfidence: number | undefined;
  /** Epoch ms (performance.timeOrigin + now()) when the pool accepted the task: thread start - this = queueMs. */
  submittedAt: number;
}

/** Answers with the models' ONNX input/output names: proves every session loaded. */
export interface DescribeTask {
  kind: 'describe';
}

/** Test hook: the thread exits mid-task, as a native crash or OOM would end it. */
export interface ExitTask {
  kind: 'exit';
}

export type ThreadTask = ClassifyTask | DescribeTask | ExitTask;

export interface ClassifyOutput {
  image: ImageInfo;
  results: ModelResult[];
  /** Perceptual hash, colours, brightness, sharpness of the decoded pixels. */
  properties: ImageProperties;
  queueMs: number;
  decodeMs: number;
  models: Record<string, number>;
  /** Epoch ms when the thread started and finished the task. */
  startedAt: number;
  finishedAt: number;
  /** The pool thread that ran it (worker_threads id). */
  threadId: number;
}

export interface DescribeOutput {
  threadId: number;
  /** The thread's nice value as the OS reports it (Linux); 0 elsewhere. */
  nice: number;
  models: { name: string; inputs: readonly string[]; outputs: readonly string[] }[];
}

/** Errors travel as data: class identity does not survive the thread boundary. */
export type ThreadReply<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

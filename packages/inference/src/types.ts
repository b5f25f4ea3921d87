import type { ModelManifest } from '@labelq/models';
import type { ImageProperties, ModelResult } from '@labelq/contracts';

/** Per-call options for {@link InferencePool.classify}. */
export interface ClassifyOptions {
  /** Models to run, by manifest name. Default: every model the pool loaded. Unknown names -> `unknown_model`. */
  models?: string[];
  /** Overrides each model's manifest `defaults.topK`. */
  topK?: number;
  /** Overrides each model's manifest `defaults.minConfidence`. */
  minConfidence?: number;
  /**
   * Run before every waiting task that is not urgent, on the pool's urgent threads when one is free (moderation: a
   * client waits for the decision). Default false: first in, first out, on the bulk threads.
   */
  urgent?: boolean;
}

export interface ImageInfo {
  /** Detected container format (one of the contracts' IMAGE_FORMATS). */
  format: string;
  /** Width and height of the original after EXIF auto-orientation (whatever size it was decoded at). */
  width: number;
  height: number;
}

export interface ClassifyTimings {
  /** Waiting for the pool's decode-memory budget (`maxDecodeBytes`), after reading the header. */
  memoryWaitMs?: number;
  /** Waiting for a free pool thread. */
  queueMs: number;
  /** Decode + orient + colour conversion, done once per image. */
  decodeMs: number;
  /** Per model: resize + tensor + ORT run + postprocessing. */
  models: Record<string, number>;
  totalMs: number;
}

export interface ImageClassification {
  image: ImageInfo;
  results: ModelResult[];
  /**
   * Perceptual hash, dominant colours, brightness, sharpness (from the decoded pixels, < 1 ms). Optional: other
   * InferencePool implementations (benchmark variants) may not compute them.
   */
  properties?: ImageProperties;
  timings: ClassifyTimings;
  /** Decode memory reserved for this image, estimated from its header (0 for inline runs). */
  decodeBytes?: number;
  /** Epoch ms when a pool thread started and finished this image, and which thread (worker_threads id). */
  ranAt?: { start: number; end: number; thread: number };
}

/** A pool of worker threads running sharp + onnxruntime; the only place pixel work and ORT happen. */
export interface InferencePool {
  /** Manifests of the loaded models, in load order. */
  readonly manifests: readonly ModelManifest[];
  /** Threads that run any image (POOL_THREADS). */
  readonly threads: number;
  /** Threads beside `threads` that run only urgent images (moderation). Default 0 (pools that have none). */
  readonly urgentThreads?: number;
  /**
   * Classifies one encoded image. The bytes are transferred to a worker thread: the caller's buffer is
   * detached afterwards (pass a copy to keep it). Rejects with a coded LabelqError on bad input.
   */
  classify(bytes: Uint8Array, options?: ClassifyOptions): Promise<ImageClassification>;
  /** Tasks running or queued. */
  readonly pending: number;
  /**
   * Stops the threads; in-flight tasks finish first. With `force: true` (a shutdown deadline passed) the
   * threads are terminated at once and pending tasks reject. Default `force: false`.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

// What the orchestrator (scripts/bench.ts) and a variant's child process (scripts/bench/child.ts) exchange.
import type { VariantName } from './options.ts';

/** One image of the benchmark set: on disk (bare, nsfwjs) and in S3 (queue variants). */
export interface BenchImage {
  path: string;
  key: string;
  bytes: number;
  /** Its class in the mix (`jpeg-12mp`, `jpeg-2mp`, `jpeg-web`, `png-alpha`, `webp`). */
  imageClass: string;
}

/** Everything a child needs; written to a JSON file whose path is the child's only argument. */
export interface VariantSpec {
  variant: VariantName;
  /** Run name in the report (a sweep point adds its settings). */
  name: string;
  images: BenchImage[];
  /** Not measured; uploaded under their own keys so their job ids differ from measured ones. */
  warmup: BenchImage[];
  models: string[];
  /**
   * Environment for `loadConfig` (the child never reads process.env for labelq settings): REDIS_URL, S3_*,
   * MODELS_DIR, MODELS, POOL_THREADS, INTRA_OP_THREADS, WORKER_CONCURRENCY, QUEUE_NAME, QUEUE_PREFIX, ...
   */
  env: Record<string, string>;
  /** Event-loop delay histogram resolution, ms. */
  loopResolutionMs: number;
  /** tfjs backend of the nsfwjs variant: 'wasm' (falls back to 'cpu' when it cannot load) or 'cpu'. */
  nsfwjsBackend: 'wasm' | 'cpu';
  /** When set, the child writes a V8 CPU profile of its main thread over the measured phase here. */
  cpuProfileFile?: string;
  /** Where the child writes its {@link ChildResult} as JSON. */
  resultFile: string;
}

export interface ClassNumbers {
  images: number;
  imagesPerSec: number;
  peakRssMb: number;
}

export interface LoopDelay {
  /** Milliseconds the main thread's timers fired late (interval minus resolution), over the measured phase. */
  p50: number;
  p99: number;
  max: number;
}

/** What a child measured. */
export interface ChildResult {
  name: string;
  variant: VariantName;
  images: number;
  /** Jobs or tasks that failed (each one is reported, never dropped). */
  failed: number;
  elapsedMs: number;
  imagesPerSec: number;
  /** process.cpuUsage (user + system, all threads) of the child plus its child processes, per image. */
  cpuMsPerImage: number;
  /**
   * CPU of the child's main thread alone per image (part of cpuMsPerImage): what the event loop spends on S3,
   * BullMQ and job bookkeeping (or, in main-thread/nsfwjs, on inference too). Null without Linux /proc.
   */
  mainThreadCpuMsPerImage: number | null;
  /**
   * Worker main-thread CPU per image (the target): mainThreadCpuMsPerImage less what the bench's own
   * instruments cost that thread (harnessCpuMsPerImage, calibrated in the child before the variant starts).
   */
  mainCpuMsPerImage: number | null;
  /** Main-thread CPU of the bench's event-loop histogram, RSS sampler and job-count poll, per image. */
  harnessCpuMsPerImage: number;
  /**
   * Per image class of the mix: images, images/s over the class's block of the run (classes run one after the
   * other; a block spans from the previous class's last completion to its own), and the peak RSS seen meanwhile.
   */
  classes: Record<string, ClassNumbers>;
  loopDelayMs: LoopDelay;
  /**
   * Share of the measured phase the main thread's event loop was busy (0..1). Low utilisation with high delay
   * means the thread was waiting for a CPU (other processes or threads), not running our code.
   */
  loopUtilization: number;
  /** Peak RSS of the child (plus its child processes) during the measured phase. */
  peakRssMb: number;
  /** RSS when the measured phase started, when half the images were done, and when it ended. */
  rssMb: { start: number; middle: number; end: number };
  /** Worker 'stalled' events plus lock-lost errors; null for variants without a queue. */
  stalled: number | null;
  lockErrors: number | null;
  /** Threads and concurrency the run used. */
  settings: { poolThreads: number; intraOpThreads: number; concurrency: number | null };
  /** Free-form facts (backend used, first failure reason...). */
  notes: string[];
}

/** One row of the report: the child's numbers plus what the orchestrator saw from outside. */
export interface RunReport extends ChildResult {
  /** QueueEvents 'stalled' seen by the orchestrator (already included in `stalled`). */
  queueEventsStalled: number | null;
  /**
   * CPU of the services the run used (the orchestrator's in-process s3rver, and redis-server when its pid is
   * readable), per image. Not part of cpuMsPerImage. Null when not measured.
   */
  servicesCpuMsPerImage: number | null;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
}

export interface BenchReport {
  machine: MachineInfo;
  date: string;
  command: string;
  images: number;
  warmup: number;
  models: string[];
  runs: RunReport[];
  ratios: Record<string, number | null>;
  sweep?: RunReport[];
}

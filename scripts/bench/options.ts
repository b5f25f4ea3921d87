import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { envSchema } from '@labelq/config';
import { LabelqError } from '@labelq/errors';

/** The variants `pnpm bench` measures, in report order. */
export const VARIANTS = [
  'bare',
  'bare-fulldecode',
  'pipeline',
  'pipeline-nsfw',
  'main-thread',
  'bullmq-sandboxed',
  'nsfwjs',
] as const;
export type VariantName = (typeof VARIANTS)[number];
/** The variants that run jobs through BullMQ (and need Redis and s3rver). */
export const QUEUE_VARIANTS: readonly VariantName[] = [
  'pipeline',
  'pipeline-nsfw',
  'main-thread',
  'bullmq-sandboxed',
];

/** Settings the bench itself decides for each variant; `--set` refuses them. */
const HARNESS_KEYS = new Set([
  'REDIS_URL',
  'S3_ENDPOINT',
  'S3_BUCKET',
  'S3_FORCE_PATH_STYLE',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_CHECKSUMS',
  'MODELS',
  'MODELS_DIR',
  'QUEUE_NAME',
  'S3_UPLOADS_PREFIX',
  'S3_RESULTS_PREFIX',
  'POOL_THREADS',
  'INTRA_OP_THREADS',
  'WORKER_CONCURRENCY',
]);
const HARNESS_KEYS_WHY =
  'services, models, queue and prefixes per run; --threads, --intra-op and --concurrency for the pool shape';

/** The two default models (what `pnpm models` builds). */
export const DEFAULT_MODELS = ['coco-nanodet', 'nsfw-mobilenet-v2'] as const;
/** The model nsfwjs also ships (MobileNetV2 NSFW): the apples-to-apples comparison. */
export const NSFW_MODEL = 'nsfw-mobilenet-v2';

export interface BenchOptions {
  /**
   * Images per variant: the mix of classes (inputs.ts IMAGE_CLASSES), split evenly, run class by class.
   * Default 200; `--quick`: 25 (5 per class).
   */
  images: number;
  /** Images classified before measuring, per variant (not counted). Default 8; `--quick`: 4. */
  warmup: number;
  /** Print one JSON object instead of the table. Default false. */
  json: boolean;
  /** Also sweep pool threads x intra-op threads (bare) and worker concurrency (pipeline). Default false. */
  sweep: boolean;
  /** Variants to run. Default: all of {@link VARIANTS}. */
  only: VariantName[];
  /** Models for the labelq variants. Default {@link DEFAULT_MODELS}. */
  models: string[];
  /** Folder holding the converted models. Default `models`. */
  modelsDir: string;
  /** Piscina threads. Default: what packages/config derives (cores / intra-op threads). */
  poolThreads: number | undefined;
  /** onnxruntime intra-op threads per session. Default: config's default (1). */
  intraOpThreads: number | undefined;
  /** Jobs in flight per worker. Default: config's default (2 x threads + 2). */
  concurrency: number | undefined;
  /** Redis to use (a private redis-server is started when it does not answer). Default `$REDIS_URL` or local. */
  redisUrl: string;
  /** Where inputs and s3rver data live. Default `.bench` in the repository root. */
  workDir: string;
  /** Per-variant time limit, seconds; the child is killed after it. Default 1800. */
  timeoutSeconds: number;
  /** tfjs backend for the nsfwjs baseline. Default `wasm` (falls back to `cpu` if it cannot load). */
  nsfwjsBackend: 'wasm' | 'cpu';
  /**
   * Writes a V8 CPU profile of each child's main thread over the measured phase to
   * `<run dir>/<variant>.cpuprofile` (summarise with `scripts/bench/profile-summary.ts`). Default false.
   */
  cpuProfile: boolean;
  /**
   * Event-loop delay histogram resolution, ms. Default 10, as the worker's own metrics (prom-client): at 2 ms
   * the histogram's timer alone cost the measured main thread ~20 ms of CPU per second (~3.5 ms per image at
   * 6 images/s), more than the target it checks.
   */
  loopResolutionMs: number;
  /**
   * Extra labelq settings (`--set KEY=VALUE`, repeatable) for every variant's config, e.g. `--set S3_IO_THREADS=0`
   * to measure a setting against its default in the same conditions. Default none.
   */
  settings: Record<string, string>;
  /**
   * Delay added to every S3 request of the queue variants, ms (a proxy in front of s3rver): storage across a
   * network instead of on localhost. Default 0.
   */
  s3LatencyMs: number;
}

const USAGE = `pnpm bench [options]
  --images N        images per variant (default 200)
  --warmup N        warm-up images per variant, not measured (default 8)
  --quick           small run (25 images: 5 per class, 4 warm-up): about two minutes
  --json            print one JSON object instead of the table
  --sweep           also sweep pool threads x intra-op threads and worker concurrency
  --only a,b        variants: ${VARIANTS.join(', ')}
  --models a,b      models for the labelq variants (default ${DEFAULT_MODELS.join(',')})
  --models-dir DIR  converted models folder (default models)
  --threads N       pool threads (default: config default)
  --intra-op N      onnxruntime intra-op threads (default: config default)
  --concurrency N   worker concurrency (default: config default)
  --timeout S       per-variant time limit in seconds (default 1800)
  --nsfwjs-backend  wasm (default) or cpu: tfjs backend of the nsfwjs baseline
  --cpu-profile     write each child's main-thread CPU profile over the measured phase to the run folder
  --set KEY=VALUE   a labelq setting for every variant's config (repeatable), e.g. --set S3_IO_THREADS=0
  --s3-latency-ms N delay every S3 request of the queue variants by N ms, as storage across a network (default 0)`;

function positiveInt(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new LabelqError('invalid_request', `--${name} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Parses `argv` (without node and script). Throws `invalid_request` with the usage on bad flags. */
export function parseBenchArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        images: { type: 'string' },
        warmup: { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        sweep: { type: 'boolean', default: false },
        only: { type: 'string' },
        models: { type: 'string' },
        'models-dir': { type: 'string' },
        threads: { type: 'string' },
        'intra-op': { type: 'string' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        'nsfwjs-backend': { type: 'string' },
        'cpu-profile': { type: 'boolean', default: false },
        set: { type: 'string', multiple: true },
        's3-latency-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new LabelqError('invalid_request', `${(err as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const only = list(v.only) ?? [...VARIANTS];
  for (const name of only) {
    if (!(VARIANTS as readonly string[]).includes(name)) {
      throw new LabelqError('invalid_request', `Unknown variant "${name}"; known: ${VARIANTS.join(', ')}`);
    }
  }
  const settings: Record<string, string> = {};
  for (const pair of v.set ?? []) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (m === null) throw new LabelqError('invalid_request', `--set takes KEY=VALUE, got "${pair}"`);
    const key = m[1]!;
    // A typo would measure the default twice; the harness's own keys would be overwritten, or would bypass it.
    if (!(key in envSchema.shape))
      throw new LabelqError('invalid_request', `--set ${key}: not a labelq setting (README, Configuration)`);
    if (HARNESS_KEYS.has(key))
      throw new LabelqError('invalid_request', `--set ${key}: the bench sets it (${HARNESS_KEYS_WHY})`);
    settings[key] = m[2]!;
  }
  const backend = v['nsfwjs-backend'] ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new LabelqError('invalid_request', `--nsfwjs-backend must be wasm or cpu, got "${backend}"`);
  }
  return {
    images: positiveInt('images', v.images) ?? (v.quick ? 25 : 200),
    warmup: positiveInt('warmup', v.warmup, 0) ?? (v.quick ? 4 : 8),
    json: v.json,
    sweep: v.sweep,
    only: only as VariantName[],
    models: list(v.models) ?? [...DEFAULT_MODELS],
    modelsDir: v['models-dir'] ?? 'models',
    poolThreads: positiveInt('threads', v.threads),
    intraOpThreads: positiveInt('intra-op', v['intra-op']),
    concurrency: positiveInt('concurrency', v.concurrency),
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    workDir: '.bench',
    timeoutSeconds: positiveInt('timeout', v.timeout) ?? 1800,
    nsfwjsBackend: backend,
    cpuProfile: v['cpu-profile'],
    loopResolutionMs: 10,
    settings,
    s3LatencyMs: positiveInt('s3-latency-ms', v['s3-latency-ms'], 0) ?? 0,
  };
}

export function usage(): string {
  return USAGE;
}

/** Cores of this machine, as packages/config counts them. */
export function cores(): number {
  return Math.max(1, availableParallelism());
}

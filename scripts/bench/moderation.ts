// `pnpm bench:moderation [--backlog N] [--idle N] [--probes N] [--json]`: how fast an app backend gets its
// moderation answer, through the real API and worker (the embedded stack: the API in this process, one worker
// process, s3rver, Redis), and how fast webhooks reach a real local receiver.
//
//   1. idle: `idle` moderation uploads one after another (`POST /v1/images?purpose=moderation&wait=30`, the
//      NSFW model), each a distinct 1600x1200 JPEG rendered from the fixture photos; latency = from the start
//      of the request (the upload included) to the 200 that carries the decision.
//   2. behind a backlog: `backlog` tagging jobs (1600x1200 JPEGs put in S3, queued with bulk `POST /v1/jobs`,
//      BACKLOG_MODELS) fill the queue; then `probes` moderation uploads as in 1, 250 ms apart, each recorded
//      with the tagging jobs still waiting when it was sent (a probe counts only while the backlog lasts).
//   3. webhooks: an endpoint subscribed to image.completed on a real HTTP receiver; latency = receipt at the
//      receiver minus the result's `timings.finishedAt` (the job's completion), for the probes of 1 and 2 and
//      for the backlog's jobs.
// Every latency is a sample of one machine at its load of the moment: run under `flock /tmp/labelq-bench.lock`
// and record `uptime` with the numbers. The worker runs with its config defaults (one urgent pool thread, two
// urgent job slots); `POOL_URGENT_THREADS=0 WORKER_URGENT_CONCURRENCY=0 pnpm bench:moderation` measures the
// worker without them, for a before/after on the same machine; `S3_IO_THREADS=0` puts the worker's S3 requests
// back on its main thread.
import { loadavg } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3ClientFor } from '@labelq/dev-services';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { startStack, type Stack } from '../demo/stack.ts';
import { photoNames, photos, repoRoot } from '../../test/fixtures/index.ts';
import { WebhookReceiver } from '../../test/helpers/webhook-receiver.ts';
import { withJpegComment } from './inputs.ts';
import { machineInfo } from './machine.ts';

const MODERATION_MODEL = 'nsfw-mobilenet-v2';
/** What the backlog runs: a tagging set heavier than moderation's, as bulk tagging is. */
const BACKLOG_MODELS = ['coco-centernet', 'nsfw-mobilenet-v2'];
const WIDTH = 1600;
const HEIGHT = 1200;
/** Distinct renders; later images are byte variants of them (same decode work, distinct ids). */
const RENDERS = 24;
const POSITIONS = ['centre', 'north', 'south', 'east', 'west', 'northeast'] as const;

const { values: args } = parseArgs({
  options: {
    backlog: { type: 'string', default: '1000' },
    idle: { type: 'string', default: '20' },
    probes: { type: 'string', default: '40' },
    json: { type: 'boolean', default: false },
  },
});
const BACKLOG = Number(args.backlog);
const IDLE = Number(args.idle);
const PROBES = Number(args.probes);

const renders = new Map<number, Promise<Buffer>>();

/** Image `n` of a series: a 1600x1200 JPEG of a fixture photo (crop, hue, quality by `n`), distinct bytes. */
function photo(series: string, n: number): Promise<Buffer> {
  const seed = n % RENDERS;
  let base = renders.get(seed);
  if (base === undefined) {
    base = sharp(photos[photoNames[seed % photoNames.length]!])
      .resize(WIDTH, HEIGHT, { fit: 'cover', position: POSITIONS[seed % POSITIONS.length] })
      .modulate({ hue: (seed * 47) % 360, brightness: 0.9 + (seed % 4) * 0.05 })
      .jpeg({ quality: 82 + (seed % 3) * 4 })
      .toBuffer();
    renders.set(seed, base);
  }
  return base.then((jpeg) => withJpegComment(jpeg, `${series}-${n}-${process.pid}-${Date.now()}`));
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (v: number): number => Math.round(v * 10) / 10;

function summary(values: readonly number[]): {
  n: number;
  p50: number;
  p99: number;
  max: number;
  min: number;
} {
  return {
    n: values.length,
    min: round(Math.min(...values)),
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(Math.max(...values)),
  };
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Where a probe's time went, from its result document (ms). */
interface Breakdown {
  /** From the request's start to the API's job (`submittedAt`): sending and reading the upload, its checks. */
  upload: number;
  /** In the API before the job was in Redis: lookups, storing the upload in S3, the add (job.timestamp). */
  apiBeforeQueue: number;
  /** In the queue: from the add to a worker's processor starting it (BullMQ priority and free slots). */
  queued: number;
  download: number;
  budgetWait: number;
  /** Waiting for a pool thread. */
  poolQueue: number;
  decode: number;
  inference: number;
  /** The rest of the worker's attempt (result document, tags, review queue, events). */
  other: number;
  /** From the job's end (`finishedAt`) to the answer: the completion event, the GET body, the response. */
  answer: number;
}

interface ResultTimings {
  submittedAt: string;
  startedAt: string;
  finishedAt: string;
  downloadMs: number;
  budgetWaitMs: number;
  queueMs: number;
  decodeMs: number;
  models: Record<string, number>;
}

/**
 * `addedAt`: the job's BullMQ timestamp (when the API's add reached Redis); `sentAt`, `answeredAt`: the request's
 * start and end. All epoch ms on this one machine's clock.
 */
function breakdown(t: ResultTimings, addedAt: number, sentAt: number, answeredAt: number): Breakdown {
  const inference = Object.values(t.models).reduce((a, b) => a + b, 0);
  const attempt = Date.parse(t.finishedAt) - Date.parse(t.startedAt);
  const known = t.downloadMs + t.budgetWaitMs + t.queueMs + t.decodeMs + inference;
  return {
    upload: Date.parse(t.submittedAt) - sentAt,
    apiBeforeQueue: addedAt - Date.parse(t.submittedAt),
    queued: Date.parse(t.startedAt) - addedAt,
    download: t.downloadMs,
    budgetWait: t.budgetWaitMs,
    poolQueue: t.queueMs,
    decode: t.decodeMs,
    inference,
    other: Math.max(0, attempt - known),
    answer: answeredAt - Date.parse(t.finishedAt),
  };
}

/** p50 / max of each part. */
function partsSummary(parts: readonly Breakdown[]): Record<string, string> {
  if (parts.length === 0) return {};
  const keys = Object.keys(parts[0]!) as (keyof Breakdown)[];
  return Object.fromEntries(
    keys.map((k) => {
      const v = parts.map((p) => p[k]);
      return [k, `${round(percentile(v, 50))} / ${round(Math.max(...v))}`];
    }),
  );
}

/** One moderation upload with wait: ms from the request's start to the decision, the image id, the parts. */
async function moderate(
  stack: Stack,
  queue: Queue,
  bytes: Buffer,
): Promise<{ ms: number; id: string; decision: string; parts: Breakdown }> {
  const sentAt = Date.now();
  const t0 = performance.now();
  const res = await fetch(`${stack.apiUrl}/v1/images?purpose=moderation&models=${MODERATION_MODEL}&wait=30`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'image/jpeg' },
    body: bytes,
  });
  const body = (await res.json()) as {
    id: string;
    result?: { moderation?: { decision: string }; timings: ResultTimings };
  };
  const ms = performance.now() - t0;
  const answeredAt = Date.now();
  if (res.status !== 200 || body.result === undefined) {
    throw new Error(`moderation upload answered ${res.status}: ${JSON.stringify(body)}`);
  }
  const job = await queue.getJob(body.id);
  if (job === undefined) throw new Error(`job ${body.id} is not in Redis after its answer`);
  return {
    ms,
    id: body.id,
    decision: body.result.moderation?.decision ?? '(none)',
    parts: breakdown(body.result.timings, job.timestamp, sentAt, answeredAt),
  };
}

async function main(): Promise<void> {
  const before = load();
  const started = new Date().toISOString();
  const receiver = new WebhookReceiver();
  await receiver.start();
  const dir = await mkdtemp(join(tmpdir(), 'labelq-bench-moderation-'));
  const stack = await startStack(
    {
      root: repoRoot,
      s3Dir: join(dir, 's3'),
      bucket: 'labelq-bench-moderation',
      workerLogFile: join(dir, 'worker.log'),
      env: {
        MODELS: [...new Set([MODERATION_MODEL, ...BACKLOG_MODELS])].join(','),
        LOG_LEVEL: 'warn',
        WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
        ...Object.fromEntries(
          [
            'POOL_THREADS',
            'WORKER_CONCURRENCY',
            'POOL_URGENT_THREADS',
            'POOL_BULK_NICE',
            'WORKER_URGENT_CONCURRENCY',
            'S3_IO_THREADS',
          ].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
        ),
      },
    },
    pino({ level: 'warn' }),
  );
  const queue = new Queue(stack.config.queue.name, {
    connection: { url: stack.config.redis.url },
    prefix: stack.config.queue.prefix,
  });
  const s3 = s3ClientFor(stack.s3.endpoint);
  try {
    const hook = await fetch(`${stack.apiUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url('/hook'), events: ['image.completed'] }),
    });
    if (hook.status !== 201) throw new Error(`webhook registration answered ${hook.status}`);

    // 1. Idle (two warm-up uploads first: the first inference of a model allocates its buffers).
    for (let i = 0; i < 2; i++) await moderate(stack, queue, await photo('warm', i));
    const idle: number[] = [];
    const idleParts: Breakdown[] = [];
    const idleIds = new Set<string>();
    for (let i = 0; i < IDLE; i++) {
      const r = await moderate(stack, queue, await photo('idle', i));
      idle.push(r.ms);
      idleParts.push(r.parts);
      idleIds.add(r.id);
    }
    const idleLoad = load();

    // 2. The backlog: objects in S3, queued in bulk requests of 1000.
    const prefix = `backlog/${Date.now()}/`;
    const keys = Array.from({ length: BACKLOG }, (_, i) => `${prefix}${String(i).padStart(5, '0')}.jpg`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < keys.length) {
          const i = next++;
          await s3.send(
            new PutObjectCommand({
              Bucket: stack.config.s3.bucket,
              Key: keys[i],
              Body: await photo('backlog', i),
              ContentType: 'image/jpeg',
            }),
          );
        }
      }),
    );
    const backlogIds = new Set<string>();
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await fetch(`${stack.apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          keys.slice(i, i + 1000).map((key) => ({ key, models: BACKLOG_MODELS, purpose: 'tagging' })),
        ),
      });
      const body = (await res.json()) as { jobs?: { id: string }[] };
      if (res.status !== 202) throw new Error(`bulk jobs answered ${res.status}: ${JSON.stringify(body)}`);
      for (const j of body.jobs ?? []) backlogIds.add(j.id);
    }
    const behind: { ms: number; waiting: number; parts: Breakdown }[] = [];
    const probeIds = new Set<string>();
    for (let i = 0; i < PROBES; i++) {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
      const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
      if (waiting === 0) break;
      const r = await moderate(stack, queue, await photo('probe', i));
      behind.push({ ms: r.ms, waiting, parts: r.parts });
      probeIds.add(r.id);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const backlogLoad = load();
    const backlogLeft = await queue.getJobCounts('waiting', 'prioritized', 'active', 'completed');
    // Let the probes' webhooks arrive (the backlog's events share the delivery queue).
    const deadline = Date.now() + 20_000;
    const deliveredIds = (): Set<string> => new Set(deliveries().map((d) => d.id));
    const deliveries = (): { id: string; ms: number }[] =>
      receiver.received
        .filter((r) => r.path === '/hook')
        .map((r) => {
          const { data } = JSON.parse(r.body) as {
            data: { id: string; result: { timings: { finishedAt: string } } };
          };
          return { id: data.id, ms: r.at - Date.parse(data.result.timings.finishedAt) };
        });
    while (Date.now() < deadline && ![...idleIds, ...probeIds].every((id) => deliveredIds().has(id))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const got = deliveries();
    const of = (ids: Set<string>): number[] => got.filter((d) => ids.has(d.id)).map((d) => d.ms);

    const report = {
      machine: machineInfo(),
      started,
      finished: new Date().toISOString(),
      command: `pnpm bench:moderation --backlog ${BACKLOG} --idle ${IDLE} --probes ${PROBES}`,
      loadAverage: { before, afterIdle: idleLoad, afterBacklog: backlogLoad, after: load() },
      models: { moderation: MODERATION_MODEL, backlog: BACKLOG_MODELS },
      // The worker's shape (env POOL_THREADS, POOL_URGENT_THREADS, POOL_BULK_NICE, WORKER_CONCURRENCY,
      // WORKER_URGENT_CONCURRENCY, S3_IO_THREADS pass through; 0 urgent threads and slots is the shape before they
      // existed, 0 S3 I/O threads the worker's S3 requests on its main thread).
      worker: {
        poolThreads: stack.config.pool.threads,
        urgentThreads: stack.config.pool.urgentThreads,
        bulkNice: stack.config.pool.bulkNice,
        concurrency: stack.config.worker.concurrency,
        urgentConcurrency: stack.config.worker.urgentConcurrency,
        s3IoThreads: stack.config.s3.ioThreads,
      },
      image: `${WIDTH}x${HEIGHT} JPEG`,
      moderationMs: {
        idle: summary(idle),
        behindBacklog: summary(behind.map((b) => b.ms)),
        backlogWaitingAtProbes: { first: behind[0]?.waiting ?? 0, last: behind.at(-1)?.waiting ?? 0 },
      },
      // p50 / max of each part (ms): where the time went.
      parts: { idle: partsSummary(idleParts), behindBacklog: partsSummary(behind.map((b) => b.parts)) },
      backlogAtEnd: backlogLeft,
      webhookDeliveryMs: {
        idleProbes: summary(of(idleIds)),
        backlogProbes: summary(of(probeIds)),
        backlogJobs: summary(of(backlogIds)),
        missing: [...idleIds, ...probeIds].filter((id) => !deliveredIds().has(id)).length,
      },
      samples: {
        idle: idle.map(round),
        behind: behind.map((b) => ({ ms: round(b.ms), waiting: b.waiting, ...b.parts })),
      },
    };
    if (args.json) console.log(JSON.stringify(report, null, 2));
    else {
      const { samples: _samples, ...short } = report;
      console.log(JSON.stringify(short, null, 2));
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    s3.destroy();
    await stack.stop();
    await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

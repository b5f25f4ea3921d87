// `pnpm bench:auth [--requests N] [--json]`: what authentication adds to a request. The same API (buildApp, the
// real Redis) answers `GET /v1/models` over loopback HTTP with keep-alive, N requests one after another, in
// three configurations, alternated in rounds so machine noise spreads evenly:
//
//   open        AUTH_DISABLED: no key check, no rate limit
//   key         the API key checked against Redis on every request (one GET, constant-time compare)
//   key+limit   as shipped: the key, then the per-key rate limit counted in Redis
//
// Reported per configuration: median and p99 latency and requests/s; the differences to `open` are the hook's
// cost. Redis at REDIS_URL, else 127.0.0.1:6379, else a private redis-server; keys under a unique prefix,
// removed at the end.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KeyStore, OpenJobs } from '@labelq/access';
import { buildApp, createApiStorage } from '@labelq/api';
import { loadConfig } from '@labelq/config';
import type { ModelInfo, StoredJobPayload } from '@labelq/contracts';
import { resolveRedis } from '@labelq/dev-services';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { machineInfo } from './machine.ts';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '10000' }, json: { type: 'boolean', default: false } },
});
const requests = Number(values.requests);
const ROUNDS = 5;

const model: ModelInfo = {
  name: 'm',
  version: '1',
  task: 'classify',
  sha256: '0'.repeat(64),
  description: '',
  labels: ['a'],
};

const resolved = await resolveRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `bench-auth-${Date.now().toString(36)}`;
const config = loadConfig({
  REDIS_URL: resolved.url,
  REDIS_KEY_PREFIX: prefix,
  QUEUE_NAME: prefix,
  S3_ENDPOINT: 'http://127.0.0.1:9',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_PER_MINUTE: String(requests * 10),
});
const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
const queue = new Queue<StoredJobPayload>(config.queue.name, {
  connection: redis,
  prefix: config.queue.prefix,
});
const keys = new KeyStore(redis, { prefix });
const { key } = await keys.create({ tenant: 'bench', scopes: ['read'] });

type Mode = 'open' | 'key' | 'key+limit';
const modes: Mode[] = ['open', 'key', 'key+limit'];
const servers = new Map<Mode, { url: string; close: () => Promise<void> }>();
for (const mode of modes) {
  const app = await buildApp({
    config,
    logger: pino({ level: 'silent' }),
    queue,
    storage: createApiStorage(config),
    models: [model],
    ...(mode !== 'open' ? { keys, openJobs: new OpenJobs(redis, prefix) } : {}),
    ...(mode === 'key+limit' ? { rateLimit: { redis, perMinute: requests * 10, prefix } } : {}),
  });
  servers.set(mode, { url: await app.listen({ host: '127.0.0.1', port: 0 }), close: () => app.close() });
}

const samples = new Map<Mode, number[]>(modes.map((m) => [m, []]));
const elapsed = new Map<Mode, number>(modes.map((m) => [m, 0]));
const headers = { authorization: `Bearer ${key}` };
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of modes) {
    const url = `${servers.get(mode)!.url}/v1/models`;
    const n = Math.ceil(requests / ROUNDS);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${mode}: HTTP ${res.status}`);
      samples.get(mode)!.push(performance.now() - t);
    }
    elapsed.set(mode, elapsed.get(mode)! + performance.now() - t0);
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const rows = modes.map((mode) => {
  const xs = samples.get(mode)!;
  return {
    mode,
    requests: xs.length,
    medianMs: pct(xs, 50),
    p99Ms: pct(xs, 99),
    perSecond: (xs.length / elapsed.get(mode)!) * 1000,
  };
});
const open = rows[0]!;
const report = {
  machine: machineInfo(),
  date: new Date().toISOString(),
  rows: rows.map((r) => ({
    ...r,
    addedMedianMs: r.medianMs - open.medianMs,
    addedP99Ms: r.p99Ms - open.p99Ms,
  })),
};

for (const s of servers.values()) await s.close();
await queue.close();
const left = await redis.keys(`${prefix}:*`);
if (left.length > 0) await redis.del(...left);
redis.disconnect();
await resolved.stop();

if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const f = (x: number): string => x.toFixed(3);
  console.log(`GET /v1/models over loopback HTTP, ${requests} requests per configuration, sequential`);
  console.log('mode        median ms  p99 ms   req/s   +median ms  +p99 ms');
  for (const r of report.rows) {
    console.log(
      `${r.mode.padEnd(11)} ${f(r.medianMs).padStart(9)} ${f(r.p99Ms).padStart(7)} ${r.perSecond.toFixed(0).padStart(7)} ` +
        `${f(r.addedMedianMs).padStart(11)} ${f(r.addedP99Ms).padStart(8)}`,
    );
  }
}

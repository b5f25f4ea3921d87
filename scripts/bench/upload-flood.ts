// Upload flood (issue #15, item 2): the real API process (services/api/src/main.ts) against a private
// redis-server and s3rver, and FLOOD_UPLOADS parallel uploads of FLOOD_MB each (default 200 x 5 MB, distinct
// bodies streamed from a small buffer, so the client holds little). The client retries 503 uploads_busy after
// its Retry-After, as a well-behaved one would. Samples the API's VmRSS before, every 100 ms during (the peak,
// and VmHWM), right after the last answer and 10 s later; counts every answer by status and code (a
// `503 queue_unavailable` with Redis healthy is a false outage answer); checks one queued job per upload.
// FLOOD_ROUNDS (default 2) floods the same API process again after the 10 s: what stays resident after one
// flood and does not grow with the next is held, not leaked. Beside VmRSS, each sample reads the API's own
// /metrics (V8 heap used and total, `external`: the Buffers' memory outside the heap), so memory the process
// still holds can be told from memory the allocator keeps after it was freed; samples go on FLOOD_SETTLE_S
// (default 30) after each flood. FLOOD_API_ENV adds environment to the API (`K=V,K=V`), e.g. glibc malloc
// settings (`MALLOC_ARENA_MAX=2` is always set, as in the image). The API's rate limit is lifted
// (RATE_LIMIT_PER_MINUTE): one key sends every upload here, and its 429s would pace the flood. FLOOD_FORCE_GC=1
// starts the API with --expose-gc and gc-on-signal.mjs, and after the last sample of each flood has it run a
// full collection (SIGUSR2) and samples once more: what is left then is referenced, the rest was garbage.
//
//   flock /tmp/labelq-bench.lock pnpm bench:upload-flood
//   FLOOD_UPLOADS=50 FLOOD_MB=5 FLOOD_BUDGET_BYTES=2147483648 flock /tmp/labelq-bench.lock pnpm bench:upload-flood
//
// FLOOD_BUDGET_BYTES sets the API's API_MAX_UPLOAD_BYTES_IN_FLIGHT (default: the API's default, 256 MiB); a
// budget larger than the flood shows what the API does without one. Prints one JSON summary on stdout; exits 1
// when an upload was never accepted, an answer was a false outage, a try ended in a dropped connection instead
// of an answer, or the queue holds another number of jobs.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@labelq/config';
import { freePort, s3rverEnv, startRedisServer, startS3rver } from '@labelq/dev-services';
import { createClassifyQueue } from '@labelq/queue';
import { repoRoot, rssMb, spawnService, waitReady } from './service-process.ts';

const UPLOADS = Number(process.env.FLOOD_UPLOADS ?? 200);
const BYTES = Math.round(Number(process.env.FLOOD_MB ?? 5) * 1024 * 1024);
const BUDGET = process.env.FLOOD_BUDGET_BYTES;
/** Floods one after another against the same API process. */
const ROUNDS = Number(process.env.FLOOD_ROUNDS ?? 2);
/** Seconds memory is sampled after each flood. */
const SETTLE_S = Number(process.env.FLOOD_SETTLE_S ?? 30);
/** When after a flood memory is sampled, seconds. */
const SAMPLE_AT_S = [0, 10, SETTLE_S].filter((s, i, all) => s <= SETTLE_S && all.indexOf(s) === i);
const FORCE_GC = process.env.FLOOD_FORCE_GC === '1';
const API_ENV = Object.fromEntries(
  (process.env.FLOOD_API_ENV ?? '')
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const BUCKET = 'labelq-flood';
const log = (msg: string): void => void process.stderr.write(`[flood ${new Date().toISOString()}] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A real JPEG, then filler after its end marker up to BYTES: the upload index first (distinct sha256, so no
// upload deduplicates against another), then one random block repeated.
const photo = readFileSync(join(repoRoot, 'test', 'fixtures', 'photos', 'astronaut.jpg'));
const block = randomBytes(64 * 1024);

/** The API's memory: VmRSS, and from its /metrics the V8 heap (used, total) and `external` (Buffers), MB. */
interface Memory {
  rssMb: number | null;
  heapUsedMb: number | null;
  heapTotalMb: number | null;
  externalMb: number | null;
}

async function apiMemory(port: number, pid: number | undefined): Promise<Memory> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const mb = (name: string): number | null => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Math.round(Number(m[1]) / (1024 * 1024)) : null;
  };
  return {
    rssMb: await rssMb(pid),
    heapUsedMb: mb('nodejs_heap_size_used_bytes'),
    heapTotalMb: mb('nodejs_heap_size_total_bytes'),
    externalMb: mb('nodejs_external_memory_bytes'),
  };
}

interface Answer {
  status: number | 'network';
  code?: string;
  retryAfterS?: number;
}

/** One POST /v1/images streaming upload `i`'s BYTES; resolves with the answer (the body is read). */
function postOnce(port: number, agent: Agent, i: number): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (a: Answer): void => {
      if (!settled) resolve(a);
      settled = true;
    };
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/images',
        agent,
        headers: { 'content-type': 'image/jpeg', 'content-length': BYTES },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(Buffer.concat(chunks).toString()) as { error?: { code?: string } }).error
              ?.code;
          } catch {
            code = undefined;
          }
          const retryAfter = Number(res.headers['retry-after']);
          settle({
            status: res.statusCode ?? 0,
            ...(code !== undefined ? { code } : {}),
            ...(Number.isFinite(retryAfter) ? { retryAfterS: retryAfter } : {}),
          });
        });
        res.on('error', () => settle({ status: 'network' }));
      },
    );
    // A refusal may close the connection while the body is still being written: the answer counts, not EPIPE.
    req.on('error', () => setTimeout(() => settle({ status: 'network' }), 50));
    const head = Buffer.concat([photo, Buffer.from(`#flood${i}#`)]);
    let sent = 0;
    const writeMore = (): void => {
      while (sent < BYTES && !req.destroyed) {
        const piece = sent === 0 ? head : block;
        const chunk = piece.subarray(0, Math.min(piece.length, BYTES - sent));
        sent += chunk.length;
        if (sent >= BYTES) {
          req.end(chunk);
          return;
        }
        if (!req.write(chunk)) {
          req.once('drain', writeMore);
          return;
        }
      }
    };
    writeMore();
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'labelq-flood-'));
  const redis = await startRedisServer({
    args: ['--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
  });
  const s3 = await startS3rver({ dir: join(dir, 's3'), buckets: [BUCKET] });
  const port = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    QUEUE_NAME: 'flood',
    ...s3rverEnv(s3.endpoint, BUCKET),
    MODELS_DIR: join(repoRoot, 'models'),
    MODELS: 'nsfw-mobilenet-v2',
    AUTH_DISABLED: 'true',
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    BATCH_RUNNERS: '0',
    NODE_OPTIONS:
      '--openssl-legacy-provider' +
      (FORCE_GC ? ` --expose-gc --import ${join(repoRoot, 'scripts', 'bench', 'gc-on-signal.mjs')}` : ''),
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...(BUDGET !== undefined ? { API_MAX_UPLOAD_BYTES_IN_FLIGHT: BUDGET } : {}),
    ...API_ENV,
  };
  const config = loadConfig(env, 2);
  const api = spawnService('api', env);
  await waitReady(`http://127.0.0.1:${port}`);
  await sleep(2000); // let start-up garbage settle before the baseline
  const before = { ...(await apiMemory(port, api.pid)), hwmMb: await rssMb(api.pid, 'VmHWM') };
  log(`API ready, RSS ${before.rssMb} MB; ${UPLOADS} parallel uploads of ${BYTES} bytes`);

  const answers: Record<string, number> = {};
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  let accepted = 0;
  let attemptsMax = 0;
  // Each round floods the same API process again with new bodies: memory that stays after a round and does not
  // grow with the next is held, not leaked.
  const rounds: Record<string, unknown>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let peakRss = 0;
    const sampler = setInterval(() => {
      void rssMb(api.pid).then((mb) => (peakRss = Math.max(peakRss, mb ?? 0)));
    }, 100);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: UPLOADS }, async (_, j) => {
        const i = round * UPLOADS + j;
        for (let attempt = 1; attempt <= 600; attempt++) {
          const a = await postOnce(port, agent, i);
          const key = `${a.status}${a.code !== undefined ? ` ${a.code}` : ''}`;
          answers[key] = (answers[key] ?? 0) + 1;
          if (a.status === 202) {
            accepted++;
            attemptsMax = Math.max(attemptsMax, attempt);
            return;
          }
          await sleep((a.retryAfterS ?? 1) * 1000);
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    log(`round ${round + 1}: all answered in ${seconds.toFixed(1)} s; sampling memory for ${SETTLE_S} s`);
    const vmHwmMb = await rssMb(api.pid, 'VmHWM');
    const after: Record<string, Memory> = {};
    const settleStart = Date.now();
    for (const at of SAMPLE_AT_S) {
      await sleep(Math.max(0, settleStart + at * 1000 - Date.now()));
      after[`${at}s`] = await apiMemory(port, api.pid);
    }
    if (FORCE_GC) {
      api.kill('SIGUSR2');
      await sleep(2000);
      after.afterFullGc = await apiMemory(port, api.pid);
    }
    rounds.push({ seconds: Math.round(seconds * 10) / 10, peakSampledMb: peakRss, vmHwmMb, after });
  }

  const queue = createClassifyQueue(config, { url: redis.url });
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed');
  const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
  await queue.close();
  const falseOutages = answers['503 queue_unavailable'] ?? 0;
  // A try that ended in a connection error instead of an answer (an answer lost to a reset connection).
  const droppedConnections = answers.network ?? 0;
  const summary = {
    uploads: UPLOADS,
    floods: ROUNDS,
    bytesEach: BYTES,
    apiMaxUploadBytesInFlight: BUDGET ?? 'default (268435456)',
    accepted,
    queuedJobs: jobs,
    answers,
    falseOutages,
    droppedConnections,
    mostAttemptsForOneUpload: attemptsMax,
    apiEnv: API_ENV,
    apiBefore: before,
    rounds,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const ok =
    accepted === UPLOADS * ROUNDS &&
    jobs === UPLOADS * ROUNDS &&
    falseOutages === 0 &&
    droppedConnections === 0;
  process.stdout.write(`${JSON.stringify({ ok, ...summary }, null, 2)}\n`);

  api.kill('SIGTERM');
  await sleep(1000);
  if (api.exitCode === null) api.kill('SIGKILL');
  agent.destroy();
  await s3.stop();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

await main();

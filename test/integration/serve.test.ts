// `pnpm serve --json` end to end: its embedded services (the tests' Redis, s3rver in a temp folder), real HTTP
// with the API key it prints, real models; the configuration variables it was started with must reach the API
// and the worker, and its key is revoked when it stops.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '@labelq/access';
import { dropDatabase, ensureDatabase } from '@labelq/dev-services';
import { modelsDir, readPhoto, repoRoot } from '../fixtures/index.ts';
import { testRedisUrl, uniqueName } from '../helpers/env.ts';
import { testPostgresUrl } from '../helpers/index-db.ts';
import { runScript } from '../helpers/run-script.ts';

interface ServeLine {
  apiUrl: string;
  apiKey: string;
  workerUrl: string;
  redisUrl: string;
  databaseUrl: string;
  s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labelq-serve-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The environment of a serve run: only what a person would set, plus this test's own queue. */
function serveEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: testRedisUrl(),
    POOL_THREADS: '1',
    ...extra,
  };
}

/** Manifest names in models/ (what the API offers when MODELS is unset). */
async function builtModelNames(): Promise<string[]> {
  const files = (await readdir(modelsDir)).filter((f) => f.endsWith('.json'));
  const names = await Promise.all(
    files.map(async (f) => (JSON.parse(await readFile(join(modelsDir, f), 'utf8')) as { name: string }).name),
  );
  return names.sort();
}

describe('pnpm serve --json', () => {
  const queueName = uniqueName('labelq-serve');
  // serve keeps the configured prefix (a restart must find its keys): this one is the test's, removed after.
  const keyPrefix = uniqueName('labelq-serve');
  // Its own index database (serve's default on a shared server is `labelq`), dropped after.
  const database = `labelq_serve_${Date.now().toString(36)}`;
  let databaseUrl: string;
  let child: ChildProcessByStdio<null, Readable, Readable>;
  let stdout = '';
  let stderr = '';
  let exited: Promise<[number | null, NodeJS.Signals | null]>;
  let line: ServeLine;

  beforeAll(async () => {
    databaseUrl = await ensureDatabase(testPostgresUrl(), database);
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/serve.ts', '--json', '--port', '0', '--data-dir', join(dir, 'data')],
      {
        cwd: repoRoot,
        env: serveEnv({
          QUEUE_NAME: queueName,
          REDIS_KEY_PREFIX: keyPrefix,
          LOG_LEVEL: 'debug',
          DATABASE_URL: databaseUrl,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // Ready: the first line on stdout. Anything else first (an exit, 60 s) fails with serve's stderr.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve not ready in 60 s:\n${stderr}`)), 60_000);
      const onData = (): void => {
        if (!stdout.includes('\n')) return;
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve();
      };
      child.stdout.on('data', onData);
      void exited.then(([code]) =>
        reject(new Error(`serve exited (${code}) before it was ready:\n${stderr}`)),
      );
    });
    line = JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as ServeLine;
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      // A test failed before the stop: a graceful stop, then a second signal (exit at once, worker killed).
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    // The queue is serve's to keep (a restarted server answers for old jobs); this one is the test's.
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    const queue = new Queue(queueName, { connection });
    await queue.obliterate({ force: true });
    await queue.close();
    const keys = await connection.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await connection.del(...keys);
    await dropDatabase(testPostgresUrl(), database);
    connection.disconnect();
  });

  /** Every request sends serve's key (the API answers 401 `unauthenticated` without one). */
  const auth = (): { authorization: string } => ({ authorization: `Bearer ${line.apiKey}` });

  /** The key store serve wrote its key to (the test's Redis, serve's prefix). */
  async function verifyKey(): Promise<Awaited<ReturnType<KeyStore['verify']>>> {
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    try {
      return await new KeyStore(redis, { prefix: keyPrefix }).verify(line.apiKey);
    } finally {
      redis.disconnect();
    }
  }

  it('prints one JSON line with the API, its key, Redis and the embedded S3', async () => {
    expect(Object.keys(line).sort()).toEqual([
      'apiKey',
      'apiUrl',
      'databaseUrl',
      'redisUrl',
      's3',
      'workerUrl',
    ]);
    expect(line.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.apiKey).toMatch(/^lq_live_/);
    expect(await verifyKey()).toMatchObject({
      tenant: 'default',
      scopes: ['submit', 'read', 'review', 'admin', 'metrics', 'operator'],
      buckets: undefined,
    });
    expect(line.redisUrl).toBe(testRedisUrl());
    expect(line.databaseUrl).toBe(databaseUrl);
    expect(line.s3).toEqual({
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      region: 'us-east-1',
      bucket: 'labelq',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
  });

  it('answers GET /v1/models with the built models, with the key only', async () => {
    expect((await fetch(`${line.apiUrl}/v1/models`)).status).toBe(401);
    const res = await fetch(`${line.apiUrl}/v1/models`, { headers: auth() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      models: { name: string; version: string; task: string; sha256: string; labels: string[] }[];
    };
    expect(body.models.map((m) => m.name).sort()).toEqual(await builtModelNames());
    for (const m of body.models) {
      expect(m.version, m.name).toEqual(expect.any(String));
      expect(['classify', 'detect', 'faces', 'text'], m.name).toContain(m.task);
      expect(m.sha256, m.name).toMatch(/^[0-9a-f]{64}$/);
      expect(m.labels.length, m.name).toBeGreaterThan(0);
    }
  });

  /** Uploads `bytes` as a JPEG and polls its status until it completes or fails. */
  async function classify(bytes: Buffer): Promise<{ status: string; error?: { code: string } }> {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${line.apiUrl}/v1/images`, { method: 'POST', body: form, headers: auth() });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = (await (await fetch(`${line.apiUrl}/v1/images/${id}`, { headers: auth() })).json()) as {
        status: string;
        error?: { code: string };
      };
      if (s.status === 'completed' || s.status === 'failed') return s;
      if (Date.now() > deadline) throw new Error(`${id} still ${s.status}; serve's stderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('classifies an upload (the worker runs), and the worker URL serves its health and metrics', async () => {
    expect((await classify(readPhoto('chelsea'))).status).toBe('completed');
    expect(line.workerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${line.workerUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${line.workerUrl}/metrics`)).text();
    expect(metrics).toMatch(/^labelq_worker_jobs_total\{outcome="completed"\} [1-9]/m);
  });

  it('passes LOG_LEVEL=debug to the API and the worker, logging to stderr only', async () => {
    // A JPEG signature and nothing decodable, long enough to pass the API's minimum-size check
    // (MIN_IMAGE_BYTES): accepted by the API, failed by the worker, which logs the failure at debug level.
    // The upload itself makes @fastify/multipart log at debug level in the API.
    const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(256)]);
    expect((await classify(broken)).status).toBe('failed');
    const debugFrom = new Set<string>();
    for (const l of stderr.split('\n')) {
      if (!l.startsWith('{')) continue;
      const entry = JSON.parse(l) as { level?: number; service?: string };
      if (entry.level === 20 && entry.service !== undefined) debugFrom.add(entry.service);
    }
    expect([...debugFrom].sort(), stderr).toEqual(['api', 'worker']);
  });

  it('stops gracefully on SIGINT: exit 0, stdout was the one line, and its key is revoked', async () => {
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code, stderr).toBe(0);
    expect(stdout.split('\n')).toEqual([JSON.stringify(line), '']);
    expect(stderr).toContain('"msg":"worker stopped"');
    expect(await verifyKey()).toBeUndefined();
  });
});

describe('pnpm serve usage errors', () => {
  it('exits 2 on a bad --port or an unknown flag', async () => {
    for (const args of [['--port', 'abc'], ['--bogus']]) {
      const { code, stdout, stderr } = await runScript('scripts/serve.ts', args, serveEnv());
      expect(code, `${args.join(' ')}: ${stderr}`).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^serve: /);
    }
  });

  it('exits 2 with a clear message when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const keyPrefix = uniqueName('labelq-serve');
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    try {
      const { code, stderr } = await runScript(
        'scripts/serve.ts',
        ['--port', String(port), '--data-dir', join(dir, 'taken')],
        serveEnv({ QUEUE_NAME: uniqueName('labelq-serve'), REDIS_KEY_PREFIX: keyPrefix }),
      );
      expect(code, stderr).toBe(2);
      expect(stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
      // The key made for the failed start was revoked on the way out: none is left usable.
      expect(await new KeyStore(redis, { prefix: keyPrefix }).hasUsableKey()).toBe(false);
    } finally {
      taken.close();
      const keys = await redis.keys(`${keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});

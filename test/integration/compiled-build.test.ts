// Production runs compiled JavaScript: scripts/build.ts (what `pnpm build` runs after `pnpm models`) bundles the
// services, then `node dist/start.js` (what `pnpm start` runs) starts the compiled API and worker with plain node,
// and an upload is classified end to end through them (real Redis, s3rver, the real model), with an API key the
// compiled CLI made first (as an operator bootstraps one: the API refuses a production start without a usable
// key). Also the compiled CLI's classify. Nothing here loads TypeScript in the services: the build fails on a
// bundle that imports tsx or a package its service does not declare, and these checks run the bundles exactly
// as the Docker image does.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@labelq/dev-services';
import { modelsDir, photos, readPhoto, repoRoot } from '../fixtures/index.ts';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { runScript } from '../helpers/run-script.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const BUCKET = 'compiled-build-it';
const MODEL = 'coco-nanodet';
const inherited = Object.fromEntries(
  ['PATH', 'HOME', 'TMPDIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
);
const rootVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

/** A child process whose stdout + stderr are collected; `waitFor` resolves when the output matches. */
function spawnNode(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? String(signal));
  return {
    child,
    exited,
    output: () => out,
    async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      let done = false;
      void exited.then(() => (done = true));
      while (!pattern.test(out)) {
        if (done) throw new Error(`exited before ${pattern}:\n${out.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Child process ids of `pid` (Linux /proc), to clean up services `start` spawned in their own groups. */
async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

describe('the compiled build', () => {
  let s3: LocalS3;
  let start: ReturnType<typeof spawnNode> | undefined;
  let servicePids: number[] = [];
  let apiUrl: string;
  const queueName = uniqueName('compiled');

  beforeAll(async () => {
    const build = await runScript('scripts/build.ts', [], inherited);
    expect(build.code, `${build.stdout}\n${build.stderr}`).toBe(0);
    s3 = await startLocalS3([BUCKET]);
  });

  afterAll(async () => {
    if (start && start.child.exitCode === null && start.child.signalCode === null) {
      start.child.kill('SIGTERM');
      const timer = setTimeout(() => start?.child.kill('SIGKILL'), 30_000);
      await start.exited;
      clearTimeout(timer);
    }
    for (const pid of servicePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone (the normal case)
      }
    }
    const queue = new Queue(queueName, { connection: { url: testRedisUrl() } });
    await queue.obliterate({ force: true }).finally(() => queue.close());
    // The API keys (REDIS_KEY_PREFIX is the queue's unique name here).
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${queueName}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await s3?.stop();
  });

  it('emits plain JavaScript that imports no TypeScript and no workspace package', async () => {
    for (const file of [
      'dist/start.js',
      'services/api/dist/main.js',
      'services/worker/dist/main.js',
      'services/worker/dist/thread/entry.mjs',
      'services/cli/dist/main.js',
      'services/cli/dist/thread/entry.mjs',
    ]) {
      const code = await readFile(join(repoRoot, file), 'utf8');
      expect(code, file).not.toMatch(/(?:from\s*|import\(\s*)["'](?:tsx[/"']|@labelq\/|[^"']*\.ts["'])/);
    }
  });

  it('pnpm start (node dist/start.js) runs the compiled API and worker: upload -> labels', async () => {
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const env = {
      ...inherited,
      ...testEnv({
        s3Endpoint: s3.endpoint,
        bucket: BUCKET,
        queueName,
        prefix: queueName,
        extra: {
          LOG_LEVEL: 'info',
          MODELS: MODEL,
          POOL_THREADS: '1',
          API_HOST: '127.0.0.1',
          API_PORT: `${port}`,
          REDIS_KEY_PREFIX: queueName,
        },
      }),
    };
    // The first key, from the compiled CLI against the same Redis and prefix, before the start needs one.
    const keys = spawnNode(
      [
        join(repoRoot, 'services', 'cli', 'dist', 'main.js'),
        ...['keys', 'create', '--tenant', 'default', '--scopes', 'submit,read', '--json'],
      ],
      env,
    );
    expect(await keys.exited, keys.output()).toBe(0);
    const created = keys
      .output()
      .split('\n')
      .find((l) => l.startsWith('{'));
    const { key } = JSON.parse(created ?? 'null') as { key: string };
    expect(key).toMatch(/^lq_live_/);
    const headers = { authorization: `Bearer ${key}` };

    start = spawnNode([join(repoRoot, 'dist', 'start.js')], env);
    await start.waitFor(/"msg":"api listening"/);
    await start.waitFor(/"msg":"worker started"/);
    servicePids = await childPids(start.child.pid!);
    expect(servicePids).toHaveLength(2);

    const fd = new FormData();
    fd.append('file', new Blob([readPhoto('coffee')], { type: 'image/jpeg' }), 'coffee.jpg');
    const res = await fetch(`${apiUrl}/v1/images`, { method: 'POST', body: fd, headers });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    type Status = {
      status: string;
      result?: {
        provenance: { labelqVersion: string };
        results: { model: { name: string }; labels: { name: string }[] }[];
      };
    };
    let s: Status;
    const deadline = Date.now() + 30_000;
    for (;;) {
      s = (await fetch(`${apiUrl}/v1/images/${id}`, { headers }).then((r) => r.json())) as Status;
      if (s.status === 'completed' || s.status === 'failed') break;
      if (Date.now() > deadline) throw new Error(`${id} still ${s.status}:\n${start.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(s.status, JSON.stringify(s)).toBe('completed');
    expect(s.result?.results[0]?.model.name).toBe(MODEL);
    expect(s.result?.results[0]?.labels[0]?.name).toBe('cup');
    // The version is built in (the bundle cannot read package.json relative to its source).
    expect(s.result?.provenance.labelqVersion).toBe(rootVersion);

    // SIGTERM: both services drain and exit 0, and so does start.
    start.child.kill('SIGTERM');
    expect(await start.exited, start.output().slice(-3000)).toBe(0);
    expect(start.output()).toMatch(/start: api exited \(0\)/);
    expect(start.output()).toMatch(/start: worker exited \(0\)/);
  });

  it('the compiled CLI classifies a file', async () => {
    const cli = spawnNode(
      [join(repoRoot, 'services', 'cli', 'dist', 'main.js'), 'classify', photos.coffee, '--json'],
      { ...inherited, MODELS_DIR: modelsDir, MODELS: MODEL, POOL_THREADS: '1' },
    );
    expect(await cli.exited, cli.output()).toBe(0);
    const line = JSON.parse(
      cli
        .output()
        .split('\n')
        .find((l) => l.startsWith('{')) ?? 'null',
    ) as {
      file: string;
      results: { labels: { name: string }[] }[];
    };
    expect(line.file).toBe(photos.coffee);
    expect(line.results[0]?.labels[0]?.name).toBe('cup');
  });
});

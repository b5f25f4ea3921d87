// Batches survive kill -9: of the process that lists (the batch role alone, a few thousand tiny objects), and
// of a worker mid-batch (its batch role and its running jobs move to another process; counts stay exact).
import type { Batch, StoredJobPayload } from '@labelq/contracts';
import { createBatchRole, withBatchOutcomes } from '@labelq/batch';
import { createClassifyQueue, createWorkerConnection } from '@labelq/queue';
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/env.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { putTinyImages, startBatchStack, type BatchStack } from '../helpers/batch-stack.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';

const RESULTS = 'crash-results';
const SOURCE = 'crash-source';

let s3: LocalS3;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  s3 = await startLocalS3([RESULTS, SOURCE]);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await s3?.stop();
});

async function stackWith(extra: Record<string, string>): Promise<BatchStack> {
  const stack = await startBatchStack({ s3, bucket: RESULTS, sources: [SOURCE], extra });
  cleanups.push(() => stack.stop());
  return stack;
}

function spawn(stack: BatchStack, entry: string): WorkerProcess {
  const p = spawnWorker({ ...stack.env, LOG_LEVEL: 'info' }, entry);
  cleanups.push(() => p.kill());
  return p;
}

describe('batches under kill -9', () => {
  it('the lister killed mid-listing: another process resumes from the checkpoint, nothing skipped or queued twice', async () => {
    // No inference here: a window larger than the batch lets listing run to the end with nobody consuming.
    const stack = await stackWith({ BATCH_WINDOW: '5000', BATCH_PAGE_SIZE: '50', LOCK_DURATION_MS: '2000' });
    const prefix = `${uniqueName('k')}/`;
    const count = 2000;
    const keys = await putTinyImages(s3, SOURCE, prefix, count, 32);
    const a = spawn(stack, 'batch-main.ts');
    await a.waitFor(/batch role started/);
    const created = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    const id = created.body.id;
    for (;;) {
      const s = await stack.store.read(id);
      if ((s?.pages ?? 0) >= 8) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');
    const mid = (await stack.store.read(id))!;
    expect(mid.listDone).toBe(false);
    expect(mid.discovered).toBeLessThan(count);

    const b = spawn(stack, 'batch-main.ts');
    await b.waitFor(/batch role started/);
    const done = await stack.waitFor(id, (x) => x.status === 'running' && x.counts.queued === count, 90_000);
    expect(done.counts).toEqual({ discovered: count, skipped: 0, queued: count, completed: 0, failed: 0 });

    const queue = new Queue<StoredJobPayload>(stack.config.queue.name, {
      connection: stack.redis,
      prefix: stack.config.queue.prefix,
    });
    cleanups.push(() => queue.close());
    const jobs = await queue.getJobs(['prioritized', 'waiting'], 0, count + 100);
    expect(jobs).toHaveLength(count);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(count);
    expect(jobs.map((j) => j.data.key).sort()).toEqual(keys);
    expect(jobs.map((j) => Number(j.id!.split('.')[1])).sort((x, y) => x - y)).toEqual([
      ...Array(count).keys(),
    ]);
    expect(new Set(jobs.map((j) => j.opts.priority))).toEqual(new Set([20]));
    await stack.call('POST', `/v1/batches/${id}/cancel`);
  });

  it('a worker killed mid-batch: another finishes it; each item counted once although some ran twice', async () => {
    const stack = await stackWith({
      BATCH_WINDOW: '8',
      BATCH_PAGE_SIZE: '10',
      LOCK_DURATION_MS: '2000',
      WORKER_CONCURRENCY: '4',
    });
    const prefix = `${uniqueName('w')}/`;
    const count = 40;
    await putTinyImages(s3, SOURCE, prefix, count);
    const a = spawn(stack, 'main.ts');
    await a.waitFor(/worker started/);
    const created = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    const id = created.body.id;
    await stack.waitFor(id, (x) => x.counts.completed >= 10, 90_000);
    a.child.kill('SIGKILL');
    await a.exited;
    const b = spawn(stack, 'main.ts');
    const done = await stack.waitFor(id, undefined, 120_000);
    expect(done.status).toBe('completed');
    expect(done.counts).toEqual({
      discovered: count,
      skipped: 0,
      queued: count,
      completed: count,
      failed: 0,
    });
    const ranA = (a.output().match(/image classified and written back|reusing it/g) ?? []).length;
    const ranB = (b.output().match(/image classified and written back|reusing it/g) ?? []).length;
    // Every item ran at least once; items A had running when it died ran again in B, still counted once.
    expect(ranA + ranB).toBeGreaterThanOrEqual(count);
    console.log(`worker kill test: ${ranA} runs in A, ${ranB} in B for ${count} items`);
  });

  it('an item whose job left the queue without an outcome is recorded as job_lost, and the batch ends', async () => {
    const stack = await stackWith({ LOCK_DURATION_MS: '1000' });
    const prefix = `${uniqueName('l')}/`;
    await putTinyImages(s3, SOURCE, prefix, 3);
    const connection = createWorkerConnection(stack.config.redis.url);
    const queue = createClassifyQueue(stack.config, connection);
    const role = createBatchRole(
      {
        config: stack.config,
        store: stack.store,
        s3: stack.results,
        classifyQueue: queue,
        models: [{ name: 'nsfw-mobilenet-v2', version: '1', sha256: 'a'.repeat(64) }],
        policyVersion: () => 'p',
        logger: pino({ level: 'silent' }),
      },
      connection,
    );
    cleanups.push(async () => {
      await role.close();
      await queue.close();
      connection.disconnect();
    });
    const created = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix },
      mode: 'all',
    });
    const id = created.body.id;
    await stack.waitFor(id, (b) => b.status === 'running' && b.counts.queued === 3);
    // One job vanishes (as a job BullMQ fails on its own would, with no outcome recorded); the others finish.
    expect(await queue.remove(`${id}.1`)).toBe(1);
    const consumer = new Worker<StoredJobPayload>(
      stack.config.queue.name,
      withBatchOutcomes(() => Promise.resolve(undefined), stack.store, pino({ level: 'silent' })),
      { connection: createWorkerConnection(stack.config.redis.url), prefix: stack.config.queue.prefix },
    );
    cleanups.push(() => consumer.close());
    const done = await stack.waitFor(id, undefined, 60_000);
    expect(done).toMatchObject({
      status: 'completed',
      counts: { queued: 3, completed: 2, failed: 1 },
      failedByCode: { job_lost: 1 },
    });
  });
});

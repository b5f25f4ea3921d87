// Live batch events (#10): `GET /v1/batches/:id/events` over real HTTP against the shared Redis, a private
// s3rver and an in-process worker (batch role + the real model) running a real batch; and the event hub's
// throttle against real Redis pub/sub.
import {
  batchEventId,
  batchEventSchema,
  DEFAULT_TENANT,
  newBatchId,
  type Batch,
  type BatchEvent,
} from '@labelq/contracts';
import { BatchEventHub, startApi } from '@labelq/api';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/env.ts';
import { putTinyImages, startBatchStack, type BatchStack } from '../helpers/batch-stack.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { sseEvents, type SseEvent } from '../helpers/sse.ts';

const RESULTS = 'events-results';
const SOURCE = 'events-source';
const IMAGES = 300;

let s3: LocalS3;
let stack: BatchStack;

beforeAll(async () => {
  s3 = await startLocalS3([RESULTS, SOURCE]);
  // Pages of 100 and a window of 50: the batch lists, queues and completes in many steps.
  stack = await startBatchStack({
    s3,
    bucket: RESULTS,
    sources: [SOURCE],
    extra: { BATCH_WINDOW: '50', BATCH_PAGE_SIZE: '100' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
});

function open(
  id: string,
  lastEventId?: string,
  o: { url?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${o.url ?? stack.api.url}/v1/batches/${id}/events`, {
    headers: {
      accept: 'text/event-stream',
      ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}),
    },
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  });
}

/** A batch of the default tenant that stays in its first status (no run is started for it). */
async function idleBatch(): Promise<string> {
  const id = newBatchId();
  await stack.store.create(id, DEFAULT_TENANT, {
    source: { bucket: SOURCE, prefix: `${uniqueName('idle')}/` },
    purpose: 'tagging',
    mode: 'missing',
    dryRun: false,
    models: [],
  });
  return id;
}

/** Every event is a batch event as the contract describes it; its id names its state. */
function parse(e: SseEvent): BatchEvent {
  const event = batchEventSchema.parse({ id: e.id, event: e.event, data: JSON.parse(e.data) as unknown });
  expect(event.id).toBe(batchEventId(event.data));
  return event;
}

async function collect(res: Response, stopAfter?: (e: BatchEvent) => boolean): Promise<BatchEvent[]> {
  const out: BatchEvent[] = [];
  for await (const raw of sseEvents(res)) {
    const e = parse(raw);
    out.push(e);
    if (stopAfter?.(e)) break;
  }
  return out;
}

const subscribers = async (channel: string): Promise<number> =>
  Number(((await stack.redis.pubsub('NUMSUB', channel)) as [string, number])[1]);

describe('GET /v1/batches/:id/events', () => {
  it('streams status and progress of a real batch to its end; Last-Event-ID resumes without duplicates', async () => {
    const prefix = `${uniqueName('ev')}/`;
    await putTinyImages(s3, SOURCE, prefix, IMAGES);
    // No worker yet: the batch waits in `listing` while the streams open.
    const created = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    expect(created.status).toBe(202);
    const id = created.body.id;
    const channel = stack.store.keys(id).changes;

    const first = await open(id);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/text\/event-stream/);
    const second = await open(id);
    expect(second.status).toBe(200);
    // Two streams of one batch share one subscription (and one read per change).
    expect(await subscribers(channel)).toBe(1);

    await stack.startWorker();
    // The first stream stops after its first event that shows completed items (a client going away mid-batch).
    const [full, partial] = await Promise.all([
      collect(second),
      collect(first, (e) => e.data.counts.completed > 0),
    ]);

    // The whole stream: the current state first, progress, and the end status last.
    expect(full[0]).toMatchObject({ event: 'status', data: { status: 'listing' } });
    expect(full.at(-1)).toMatchObject({
      event: 'status',
      data: {
        status: 'completed',
        counts: { discovered: IMAGES, queued: IMAGES, completed: IMAGES, failed: 0 },
      },
    });
    expect(full.filter((e) => e.event === 'progress').length).toBeGreaterThan(0);
    for (const [prev, next] of full.slice(1).map((e, i) => [full[i]!, e] as const)) {
      // A `status` event exactly when the status changed; counts only grow; never the same state twice.
      expect(next.event).toBe(next.data.status === prev.data.status ? 'progress' : 'status');
      expect(next.id).not.toBe(prev.id);
      for (const k of ['discovered', 'queued', 'completed', 'failed'] as const) {
        expect(next.data.counts[k]).toBeGreaterThanOrEqual(prev.data.counts[k]);
      }
    }
    expect(new Set(full.map((e) => e.id)).size).toBe(full.length);

    // Resuming from the state the first client had: the current state at once (the batch moved on), never the
    // state it had.
    const seen = partial.at(-1)!;
    expect(seen.data.status).not.toBe('completed');
    const resumed = await collect(await open(id, seen.id));
    expect(resumed.map((e) => e.id)).not.toContain(seen.id);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatchObject({ event: 'status', data: { status: 'completed' } });

    // Resuming from the end state: 204, so an EventSource stops reconnecting.
    const atEnd = await open(id, full.at(-1)!.id);
    expect(atEnd.status).toBe(204);
    expect(await atEnd.text()).toBe('');

    // A new client of a finished batch gets its end state, then the stream ends.
    const late = await collect(await open(id));
    expect(late.map((e) => e.event)).toEqual(['status']);
    expect(late[0]!.id).toBe(full.at(-1)!.id);

    // Every stream ended: nothing subscribed any more (the hub unsubscribes without waiting for Redis).
    await expect.poll(() => subscribers(channel)).toBe(0);
  }, 120_000);

  it("another tenant's batch, an unknown batch and a malformed id -> 404", async () => {
    const other = newBatchId();
    await stack.store.create(other, 'someone-else', {
      source: { bucket: SOURCE, prefix: 'x/' },
      purpose: 'tagging',
      mode: 'missing',
      dryRun: false,
      models: [],
    });
    try {
      for (const id of [other, newBatchId(), 'bat_nope']) {
        const res = await open(id);
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
      }
      expect(await subscribers(stack.store.keys(other).changes)).toBe(0);
    } finally {
      await stack.store.purge(other, 'someone-else');
    }
  });

  it('clients that leave while the stream is being set up leave no subscription behind', async () => {
    const id = await idleBatch();
    const channel = stack.store.keys(id).changes;
    try {
      // Aborted at different points of the setup (watch, first read, first event), several at once.
      await Promise.all(
        [0, 1, 2, 5, 10, 20, 50].map(async (ms) => {
          const ac = new AbortController();
          const res = open(id, undefined, { signal: ac.signal });
          setTimeout(() => ac.abort(), ms);
          await res.then((r) => r.body?.cancel()).catch(() => undefined);
        }),
      );
      await expect.poll(() => subscribers(channel), { timeout: 3000 }).toBe(0);
      // And one that saw its first event: still subscribed while it reads, not after it leaves.
      const ac = new AbortController();
      const res = await open(id, undefined, { signal: ac.signal });
      expect(res.status).toBe(200);
      const first = await sseEvents(res).next();
      expect(first.value).toMatchObject({ event: 'status' });
      expect(await subscribers(channel)).toBe(1);
      ac.abort();
      await expect.poll(() => subscribers(channel), { timeout: 3000 }).toBe(0);
    } finally {
      await stack.store.purge(id, DEFAULT_TENANT);
    }
  });

  it('closing the API ends its open streams at once (clients resume with Last-Event-ID)', async () => {
    const id = await idleBatch();
    const api = await startApi(stack.config, pino({ level: 'silent' }), { host: '127.0.0.1', port: 0 });
    try {
      const res = await open(id, undefined, { url: api.url });
      expect(res.status).toBe(200);
      const events = sseEvents(res);
      expect((await events.next()).value).toMatchObject({ event: 'status' });
      const started = Date.now();
      await api.close();
      // A generous bound: without ending the streams, close waits for them (batch streams last hours).
      expect(Date.now() - started).toBeLessThan(10_000);
      // The stream ended cleanly: the client sees its end, and reconnects.
      expect((await events.next()).done).toBe(true);
      await expect.poll(() => subscribers(stack.store.keys(id).changes)).toBe(0);
    } finally {
      await api.close();
      await stack.store.purge(id, DEFAULT_TENANT);
    }
  }, 30_000);
});

describe('BatchEventHub (real Redis pub/sub)', () => {
  it('reads a burst of progress once at once and once trailing, a status change at once, and unsubscribes', async () => {
    const id = newBatchId();
    const channel = `${uniqueName('hub')}:${id}:changes`;
    let reads = 0;
    // The hub hands the reader's answer on without looking into it.
    const batch = { id } as Batch;
    const hub = new BatchEventHub(stack.config.redis.url, pino({ level: 'silent' }), {
      channel: () => channel,
      read: () => {
        reads++;
        return Promise.resolve(batch);
      },
      progressIntervalMs: 1000,
    });
    try {
      const changes: string[] = [];
      const unwatch = await hub.watch(id, (_b, change) => changes.push(change));
      expect(await subscribers(channel)).toBe(1);
      const started = Date.now();
      const burst = stack.redis.pipeline();
      for (let i = 0; i < 20; i++) burst.publish(channel, 'progress');
      await burst.exec();
      await expect.poll(() => reads, { timeout: 3000 }).toBe(2);
      // The trailing read waited for the interval to pass.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      await new Promise((r) => setTimeout(r, 300));
      expect(reads).toBe(2);
      await stack.redis.publish(channel, 'status');
      await expect.poll(() => reads, { timeout: 500 }).toBe(3);
      expect(changes).toEqual(['progress', 'progress', 'status']);
      unwatch();
      await expect.poll(() => subscribers(channel)).toBe(0);
      expect(hub.watched).toBe(0);
    } finally {
      await hub.close();
    }
  });

  it('every watcher of a batch resolves only once subscribed: two concurrent ones both get the next change', async () => {
    const id = newBatchId();
    const channel = `${uniqueName('hub')}:${id}:changes`;
    const hub = new BatchEventHub(stack.config.redis.url, pino({ level: 'silent' }), {
      channel: () => channel,
      read: () => Promise.resolve({ id } as Batch),
      // No reconcile read during the test: only the announcement can deliver the change.
      reconcileMs: 600_000,
    });
    try {
      const got = { first: 0, second: 0 };
      const first = hub.watch(id, () => got.first++);
      const second = hub.watch(id, () => got.second++);
      // Announce as soon as the second watcher is told it is subscribed, before anything else runs.
      const unwatchSecond = await second;
      await stack.redis.publish(channel, 'status');
      const unwatchFirst = await first;
      await expect.poll(() => got, { timeout: 3000 }).toEqual({ first: 1, second: 1 });
      expect(await subscribers(channel)).toBe(1);
      unwatchFirst();
      unwatchSecond();
      await expect.poll(() => subscribers(channel)).toBe(0);
      expect(hub.watched).toBe(0);
    } finally {
      await hub.close();
    }
  });
});

// Batches end to end: the API over real HTTP, an in-process worker (batch role + real model) against the
// shared Redis and a private s3rver. A prefix with export and a `missing` re-run, a CSV manifest with bad lines,
// `stale` after a model file changed, and the refusals.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Batch, BatchItemOutcome } from '@labelq/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/env.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import {
  BATCH_TEST_MODELS,
  putTinyImages,
  startBatchStack,
  type BatchStack,
} from '../helpers/batch-stack.ts';

const RESULTS = 'batch-results';
const SOURCE = 'batch-source';
const FORBIDDEN = 'batch-forbidden';

let s3: LocalS3;
let stack: BatchStack;

beforeAll(async () => {
  s3 = await startLocalS3([RESULTS, SOURCE, FORBIDDEN]);
  stack = await startBatchStack({
    s3,
    bucket: RESULTS,
    sources: [SOURCE],
    extra: { BATCH_WINDOW: '50', BATCH_PAGE_SIZE: '100' },
  });
  await stack.startWorker();
});

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
});

async function put(key: string, body: string | Buffer): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
}

function jsonl(text: string): BatchItemOutcome[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchItemOutcome);
}

describe('batches', () => {
  it('tags a 300-image prefix: windowed, counted exactly, exported as JSONL and CSV, reported; `missing` then skips everything', async () => {
    const prefix = `${uniqueName('p')}/`;
    await putTinyImages(s3, SOURCE, prefix, 300);
    await put(`${prefix}notes.txt`, 'not an image');
    await put(`${prefix}folder/`, '');

    const created = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'listing', mode: 'missing', models: BATCH_TEST_MODELS });
    // The window bounds what one batch has queued and unfinished.
    let maxInFlight = 0;
    const done = await stack.waitFor(created.body.id, (b) => {
      maxInFlight = Math.max(maxInFlight, b.counts.queued - b.counts.completed - b.counts.failed);
      return b.status === 'completed';
    });
    expect(maxInFlight).toBeLessThanOrEqual(50);
    expect(done.counts).toEqual({ discovered: 302, skipped: 1, queued: 301, completed: 300, failed: 1 });
    expect(done.skippedByReason).toEqual({ folder: 1 });
    expect(Object.keys(done.failedByCode)).toHaveLength(1);
    expect(['unsupported_format', 'image_decode_failed']).toContain(Object.keys(done.failedByCode)[0]);
    expect(done.imagesPerSecond).toBeGreaterThan(0);
    expect(done.etaSeconds).toBe(0);
    expect(done.report).toBeDefined();

    const exported = await stack.call<string>('GET', `/v1/batches/${done.id}/results?format=jsonl`);
    expect(exported.status).toBe(200);
    const items = jsonl(exported.body);
    expect(items).toHaveLength(302);
    expect(items.map((i) => i.ordinal)).toEqual([...Array(302).keys()]);
    const completed = items.filter((i) => i.status === 'completed');
    expect(completed).toHaveLength(300);
    for (const i of completed) {
      expect(i.labels?.[BATCH_TEST_MODELS[0]!]?.length).toBeGreaterThan(0);
      expect(i.etag).toMatch(/^"[0-9a-f]+"$/);
    }
    expect(items.find((i) => i.key.endsWith('notes.txt'))).toMatchObject({
      status: 'failed',
      error: { code: Object.keys(done.failedByCode)[0] },
    });

    const csv = await stack.call<string>('GET', `/v1/batches/${done.id}/results?format=csv`);
    const rows = csv.body.trim().split('\n');
    expect(rows[0]).toBe(
      `ordinal,bucket,key,etag,status,skip_reason,error_code,moderation,${BATCH_TEST_MODELS[0]}_top3`,
    );
    expect(rows).toHaveLength(303);
    expect(rows[1]).toMatch(/^0,batch-source,.*,completed,,,(allow|review|block),\w+:0\.\d{4}/);

    const summary = (await stack.results.getJson(RESULTS, done.report!.summaryKey)) as Batch;
    expect(summary).toMatchObject({ id: done.id, status: 'completed', counts: done.counts });
    const failures = await stack.results.getObjectBytes(RESULTS, done.report!.failuresKey, { maxBytes: 1e6 });
    const failureLines = Buffer.from(failures.bytes)
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; code: string });
    expect(failureLines).toEqual([expect.objectContaining({ key: `${prefix}notes.txt` })]);

    // Nothing changed: `missing` skips every image (their results are current) and queues only the failure.
    const again = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    const second = await stack.waitFor(again.body.id);
    expect(second.counts).toMatchObject({ discovered: 302, skipped: 301, queued: 1 });
    expect(second.skippedByReason).toEqual({ folder: 1, current: 300 });

    // The tenant's list holds both, newest first.
    const list = await stack.call<{ batches: Batch[] }>('GET', '/v1/batches');
    expect(list.body.batches.slice(0, 2).map((b) => b.id)).toEqual([again.body.id, done.id]);
  });
});

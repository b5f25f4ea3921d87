// Batches end to end: the API over real HTTP, an in-process worker (batch role + real model) against the
// shared Redis and a private s3rver. A prefix with export and a `missing` re-run, a CSV manifest with bad lines,
// `stale` after a model file changed, and the refusals.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Batch, BatchItemOutcome, ResultDocument } from '@labelq/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/env.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import {
  BATCH_TEST_MODELS,
  putTinyImages,
  startBatchStack,
  tinyPng,
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

  it('a CSV manifest (S3 Batch Operations layout, URL-encoded keys) with bad lines: each bad line fails with its line number, the rest complete', async () => {
    const prefix = `${uniqueName('m')}/`;
    const keys = await putTinyImages(s3, SOURCE, prefix, 3);
    await put(`${prefix}with space+plus.png`, await tinyPng(9));
    const encoded = encodeURIComponent(`${prefix}with space+plus.png`)
      .replace(/%20/g, '+')
      .replace(/%2F/g, '/');
    const manifest = [
      `${SOURCE},${keys[0]}`,
      `"${SOURCE}","${keys[1]}",`,
      'just-one-field',
      `${SOURCE},%E0%A4%A`,
      '',
      `${FORBIDDEN},${keys[2]}`,
      `${SOURCE},${encoded}`,
      `${SOURCE},${keys[2]}`,
    ].join('\n');
    const manifestKey = `${prefix}manifest.csv`;
    await put(manifestKey, manifest);
    const created = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, manifestKey },
    });
    expect(created.status).toBe(202);
    const done = await stack.waitFor(created.body.id);
    expect(done.status).toBe('completed');
    expect(done.counts).toEqual({ discovered: 7, skipped: 0, queued: 4, completed: 4, failed: 3 });
    expect(done.failedByCode).toEqual({ manifest_line_invalid: 2, bucket_not_allowed: 1 });
    const failures = await stack.results.getObjectBytes(RESULTS, done.report!.failuresKey, { maxBytes: 1e6 });
    const lines = Buffer.from(failures.bytes)
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; code: string });
    expect(lines.map((l) => [l.line, l.code])).toEqual([
      [3, 'manifest_line_invalid'],
      [4, 'manifest_line_invalid'],
      [6, 'bucket_not_allowed'],
    ]);
    const items = jsonl((await stack.call<string>('GET', `/v1/batches/${done.id}/results`)).body);
    expect(items.find((i) => i.line === 7)).toMatchObject({
      key: `${prefix}with space+plus.png`,
      status: 'completed',
    });
  });

  it('refuses a bucket outside the allow-list (403), an unknown model (400) and a bad body (400); an empty prefix completes with 0; an unreadable manifest fails the batch with a code', async () => {
    const forbidden = await stack.call<{ error: { code: string } }>('POST', '/v1/batches', {
      source: { bucket: FORBIDDEN, prefix: '' },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('bucket_not_allowed');
    const model = await stack.call<{ error: { code: string } }>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix: 'x/' },
      models: ['nope'],
    });
    expect(model.status).toBe(400);
    expect(model.body.error.code).toBe('unknown_model');
    const bad = await stack.call<{ error: { code: string } }>('POST', '/v1/batches', {
      source: { bucket: SOURCE },
    });
    expect(bad.status).toBe(400);
    const empty = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix: `${uniqueName('none')}/` },
    });
    expect(await stack.waitFor(empty.body.id)).toMatchObject({
      status: 'completed',
      counts: { discovered: 0, queued: 0 },
    });
    const missing = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, manifestKey: 'no/such/manifest.csv' },
    });
    expect(await stack.waitFor(missing.body.id)).toMatchObject({
      status: 'failed',
      error: { code: 'manifest_unreadable' },
    });
    const unknown = await stack.call<{ error: { code: string } }>(
      'GET',
      '/v1/batches/bat_000000000000000000000000',
    );
    expect(unknown.status).toBe(404);
  });

  it('`stale` re-runs only the objects whose result was made by another model file; a dry run counts without queueing', async () => {
    const prefix = `${uniqueName('s')}/`;
    const keys = await putTinyImages(s3, SOURCE, prefix, 12);
    const first = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    expect((await stack.waitFor(first.body.id)).counts.completed).toBe(12);
    // Four results as an older file of the model wrote them (another sha256), as after a model upgrade.
    const items = jsonl((await stack.call<string>('GET', `/v1/batches/${first.body.id}/results`)).body);
    const old = items.slice(0, 4);
    for (const item of old) {
      const key = stack.results.resultKey('default', item.imageId!);
      const doc = (await stack.results.getJson(RESULTS, key)) as ResultDocument;
      doc.provenance.models = doc.provenance.models.map((m) => ({ ...m, sha256: 'f'.repeat(64) }));
      await stack.results.putJson(RESULTS, key, doc);
    }
    // Two objects nobody tagged yet: `stale` leaves them to `missing`.
    await putTinyImages(s3, SOURCE, `${prefix}new-`, 2);

    const dry = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix },
      mode: 'stale',
      dryRun: true,
    });
    const counted = await stack.waitFor(dry.body.id);
    expect(counted).toMatchObject({
      status: 'completed',
      dryRun: true,
      counts: { discovered: 14, queued: 4, skipped: 10, completed: 0 },
    });
    expect(counted.skippedByReason).toEqual({ current: 8, no_result: 2 });

    const stale = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix },
      mode: 'stale',
    });
    const done = await stack.waitFor(stale.body.id);
    expect(done.counts).toEqual({ discovered: 14, skipped: 10, queued: 4, completed: 4, failed: 0 });
    const rerun = jsonl((await stack.call<string>('GET', `/v1/batches/${done.id}/results`)).body);
    expect(rerun.filter((i) => i.status === 'completed').map((i) => i.key)).toEqual(keys.slice(0, 4));
    for (const item of old) {
      const doc = (await stack.results.getJson(
        RESULTS,
        stack.results.resultKey('default', item.imageId!),
      )) as ResultDocument;
      expect(doc.provenance.models[0]!.sha256).not.toBe('f'.repeat(64));
    }
    // `all` queues everything, whatever exists.
    const all = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix },
      mode: 'all',
      dryRun: true,
    });
    expect((await stack.waitFor(all.body.id)).counts).toMatchObject({ queued: 14, skipped: 0 });
  });

  it('pause stops queueing, resume goes on from the checkpoint, cancel ends it, retry-failed re-queues failed items', async () => {
    const prefix = `${uniqueName('c')}/`;
    await putTinyImages(s3, SOURCE, prefix, 30);
    await put(`${prefix}broken.png`, 'not a png at all');
    const created = await stack.call<Batch>('POST', '/v1/batches', { source: { bucket: SOURCE, prefix } });
    const id = created.body.id;
    const paused = await stack.call<Batch>('POST', `/v1/batches/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    expect(
      (await stack.call<{ error: { code: string } }>('POST', `/v1/batches/${id}/pause`)).body.error.code,
    ).toBe('batch_state_conflict');
    await new Promise((r) => setTimeout(r, 1000));
    const still = await stack.call<Batch>('GET', `/v1/batches/${id}`);
    expect(still.body.status).toBe('paused');
    const queuedWhilePaused = still.body.counts.queued;
    expect(queuedWhilePaused).toBeLessThanOrEqual(31);
    const resumed = await stack.call<Batch>('POST', `/v1/batches/${id}/resume`);
    expect(['listing', 'running']).toContain(resumed.body.status);
    const done = await stack.waitFor(id);
    expect(done.counts).toEqual({ discovered: 31, skipped: 0, queued: 31, completed: 30, failed: 1 });

    // retry-failed: the broken object is now a real image, so its retry completes.
    await put(`${prefix}broken.png`, await tinyPng(77));
    const retried = await stack.call<Batch>('POST', `/v1/batches/${id}/retry-failed`);
    expect(retried.status).toBe(200);
    expect(retried.body.counts.failed).toBe(0);
    const after = await stack.waitFor(id);
    expect(after.counts).toEqual({ discovered: 31, skipped: 0, queued: 31, completed: 31, failed: 0 });
    expect(after.failedByCode).toEqual({});

    const other = await stack.call<Batch>('POST', '/v1/batches', {
      source: { bucket: SOURCE, prefix },
      mode: 'all',
    });
    const cancelled = await stack.call<Batch>('POST', `/v1/batches/${other.body.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    expect(
      (await stack.call<{ error: { code: string } }>('POST', `/v1/batches/${other.body.id}/resume`)).status,
    ).toBe(409);
  });
});

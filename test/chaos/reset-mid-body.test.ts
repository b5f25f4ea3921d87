// Connections reset mid-body (issue #15), on every leg a body travels: S3 GetObject answers to the worker (8 of
// 20 sources), result-document PUTs from the worker, upload bodies from the client to the API (4 of 8) and the
// API's upload PUTs to S3. Every cut is retried somewhere (SDK, job attempt or client), nothing is lost, and no
// partial body is ever classified or stored: each document's source ETag and size are the source's, its
// results equal those of an uncut job of the same photo, and S3 holds exactly the uploaded objects, whole.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readPhoto, type PhotoName } from '../fixtures/index.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { startChaosStack, type Accepted, type ChaosStack } from './stack.ts';
import { tryReadStoredDocument } from '@labelq/contracts';

type CompletedDocument = Extract<
  NonNullable<ReturnType<typeof tryReadStoredDocument>>,
  { status: 'completed' }
>;
const PHOTOS: PhotoName[] = ['astronaut', 'camera', 'chelsea', 'coffee', 'rocket'];
const MAX_UPLOAD = 64 * 1024;
let stack: ChaosStack;
let apiProxy: TcpProxy;
beforeAll(async () => {
  // Room for three bodies at once: an aborted upload whose reservation leaked would soon answer uploads_busy to
  // these one-at-a-time uploads.
  stack = await startChaosStack({
    env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD), API_MAX_UPLOAD_BYTES_IN_FLIGHT: String(3 * MAX_UPLOAD) },
  });
  apiProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(stack.api.url).port) });
});
afterAll(async () => {
  await apiProxy.close();
  await stack.stop();
});

const md5 = (b: Uint8Array): string => `"${createHash('md5').update(b).digest('hex')}"`;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Resolves when every cut happened; rejects naming the ones that did not within `ms`. */
async function allCut(cuts: Promise<void>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const done = cuts.map((c) => c.then(() => true));
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not every planned cut happened within ${ms} ms`)), ms);
  });
  await Promise.race([Promise.all(done), timeout]).finally(() => clearTimeout(timer));
}

/** POST /v1/images through the API proxy until 202; network errors (a cut) and 503 are retried. */
async function upload(body: Buffer, tag: number, answers: string[]): Promise<Accepted> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await fetch(`${apiProxy.endpoint}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', 'x-chaos-upload': String(tag) },
      body,
    }).catch(() => undefined);
    if (res === undefined) {
      answers.push('network');
      continue;
    }
    const json = (await res.json()) as Accepted & { error?: { code: string } };
    answers.push(res.status === 202 ? '202' : `${res.status} ${json.error?.code}`);
    if (res.status === 202) return json;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`upload ${tag} never accepted: ${answers.join(', ')}`);
}

it('resets mid-body on downloads, document writes and uploads: retried, nothing lost, nothing partial', async () => {
  const keys = await stack.putSources(20);
  const sourceOf = new Map<string, Buffer>();
  const photoOf = new Map<string, PhotoName>();
  const cutKeys = keys.slice(0, 8);
  const cuts = [
    // The worker's GetObject answers, 4 kB into the body (the photos are 25 to 54 kB).
    ...cutKeys.map((key) =>
      stack.s3Proxy.cutWhen(new RegExp(`^GET /[^/ ]+/${escape(key)}[? ]`, 'm'), {
        afterBodyBytes: 4000,
        direction: 'response',
      }),
    ),
    // Two result-document PUTs and two upload PUTs (API -> S3), mid-body.
    ...[0, 1].map(() =>
      stack.s3Proxy.cutWhen(/^PUT [^ ]*\/results\//m, { afterBodyBytes: 100, direction: 'request' }),
    ),
    ...[0, 1].map(() =>
      stack.s3Proxy.cutWhen(/^PUT [^ ]*\/uploads\//m, { afterBodyBytes: 10_000, direction: 'request' }),
    ),
  ];
  await stack.worker();
  const accepted = await stack.submitKeys(keys);
  accepted.forEach((a, i) => {
    sourceOf.set(a.id, readPhoto(PHOTOS[i % PHOTOS.length]!));
    photoOf.set(a.id, PHOTOS[i % PHOTOS.length]!);
  });

  // Eight distinct uploads, one at a time; four of them cut 10 kB into the body between client and API.
  const bodies = Array.from({ length: 8 }, (_, i) =>
    Buffer.concat([readPhoto(PHOTOS[i % PHOTOS.length]!), Buffer.from(`#reset${i}`)]),
  );
  for (const i of [0, 1, 2, 3]) {
    cuts.push(
      apiProxy.cutWhen(new RegExp(`^x-chaos-upload: ${i}\\r$`, 'mi'), {
        afterBodyBytes: 10_000,
        direction: 'request',
      }),
    );
  }
  const answers: string[] = [];
  const uploaded: Accepted[] = [];
  for (const [i, body] of bodies.entries()) {
    const a = await upload(body, i, answers);
    uploaded.push(a);
    sourceOf.set(a.id, body);
    photoOf.set(a.id, PHOTOS[i % PHOTOS.length]!);
  }
  await allCut(cuts, 60_000);
  // A cut upload is a network error to the client; an upload PUT cut is retried by the SDK or answered 503
  // storage_unavailable (both retried by the client). Never another answer, and never uploads_busy (an aborted
  // body gives its reservation back).
  expect(answers.filter((a) => !['202', 'network', '503 storage_unavailable'].includes(a))).toEqual([]);
  // The four cut uploads (an idle keep-alive connection closing under a request could add one more).
  expect(answers.filter((a) => a === 'network').length).toBeGreaterThanOrEqual(4);

  const ids = [...accepted, ...uploaded].map((a) => a.id);
  const states = await stack.assertNothingLost(ids);
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
  // One job per accepted id and none for a partial body.
  const counts = await stack.queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(ids.length);

  // Every document describes the whole source, and classified it like an uncut copy of the same photo.
  const docs = new Map<string, CompletedDocument>();
  for (const id of ids) {
    const doc = tryReadStoredDocument(
      await stack.store.getJson(stack.bucket, stack.store.resultKey('default', id)),
    );
    expect(doc?.status).toBe('completed');
    if (doc?.status !== 'completed') continue;
    docs.set(id, doc);
    expect(doc.source.bytes).toBe(sourceOf.get(id)!.length);
    expect(doc.source.etag).toBe(md5(sourceOf.get(id)!));
  }
  const cutIds = accepted.slice(0, cutKeys.length).map((a) => a.id);
  for (const id of cutIds) {
    // Retried as a job: the cut body failed an attempt (a healthy HeadBucket says it is no outage).
    expect((await stack.queue.getJob(id))?.attemptsMade).toBeGreaterThanOrEqual(2);
    const twin = accepted.slice(cutKeys.length).find((a) => photoOf.get(a.id) === photoOf.get(id))!;
    const [cut, whole] = [docs.get(id)!, docs.get(twin.id)!];
    expect({ image: cut.image, results: cut.results, moderation: cut.moderation }).toEqual({
      image: whole.image,
      results: whole.results,
      moderation: whole.moderation,
    });
  }

  // S3 holds exactly the eight uploads, each whole.
  const listed = await stack.s3.client.send(
    new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: stack.config.s3.uploadsPrefix }),
  );
  const stored = (listed.Contents ?? []).map((o) => ({ etag: o.ETag, size: o.Size }));
  const expected = bodies.map((b) => ({ etag: md5(b), size: b.length }));
  const byEtag = (a: { etag?: string }, b: { etag?: string }): number => (a.etag! < b.etag! ? -1 : 1);
  expect(stored.sort(byEtag)).toEqual(expected.sort(byEtag));
});

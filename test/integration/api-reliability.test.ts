// Defects found under faults and load (issue #15) that the API must not show again, over real HTTP against the
// shared Redis and an embedded s3rver: corrupt result documents, duplicate submissions at the same instant.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '@labelq/config';
import { PRIORITY } from '@labelq/queue';
import { startApiStack, type ApiStack } from '../helpers/api-stack.ts';
import { readPhoto } from '../fixtures/index.ts';

const BUCKET = 'labelq-reliability-test';

let stack: ApiStack;
let config: Config;
let queue: ApiStack['queue'];
let base: string;

beforeAll(async () => {
  stack = await startApiStack({ name: 'api-reliability', buckets: [BUCKET] });
  ({ config, queue, base } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

interface Accepted {
  id: string;
  status: string;
  duplicate: boolean;
  count: number;
  jobs: Accepted[];
}

async function postJobs(body: unknown): Promise<{ status: number; body: Accepted }> {
  const res = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Accepted };
}

async function putRaw(key: string, body: string): Promise<void> {
  await stack.s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

describe('a corrupt result document (a PUT cut mid-body) is absent, never a 500', () => {
  it.each([
    ['0 bytes', ''],
    ['truncated JSON', '{"status":"completed","schemaVersion":'],
    ['JSON of the wrong shape', '{"status":"completed","schemaVersion":1}'],
  ])('%s: GET answers 404, POST /v1/jobs and bulk queue it again', async (_name, body) => {
    const key = `corrupt/${randomUUID()}.jpg`;
    const first = await postJobs({ key });
    expect(first.status).toBe(202);
    const id = first.body.id;
    // The job left Redis; only its (corrupt) document is left.
    await queue.remove(id);
    await putRaw(`${config.s3.resultsPrefix}default/${id}.json`, body);

    const got = await fetch(`${base}/v1/images/${id}`);
    expect(got.status).toBe(404);
    expect(((await got.json()) as { error: { code: string } }).error.code).toBe('not_found');

    const again = await postJobs({ key });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id, status: 'queued', duplicate: false });

    await queue.remove(id);
    const bulk = await postJobs([{ key }, { key: `corrupt/${randomUUID()}.jpg` }]);
    expect(bulk.status).toBe(202);
    expect(bulk.body.jobs[0]).toMatchObject({ id, status: 'queued', duplicate: false });
  });
});

describe('identical submissions at the same instant', () => {
  it('create one job: one caller is told duplicate:true, and moderation priority is never lost', async () => {
    for (let i = 0; i < 10; i++) {
      const key = `race/${randomUUID()}.jpg`;
      // Alternate who is listed first so neither order is favoured by the event loop.
      const subs = [
        { key, purpose: 'tagging', metadata: { caller: 'a' } },
        { key, purpose: 'moderation', metadata: { caller: 'b' } },
      ];
      if (i % 2 === 1) subs.reverse();
      const answers = await Promise.all(subs.map((s) => postJobs(s)));
      for (const a of answers) expect(a.status).toBe(202);
      expect(answers.map((a) => a.body.duplicate).sort()).toEqual([false, true]);
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      const job = await queue.getJob(answers[0]!.body.id);
      expect(job?.priority, `try ${i}`).toBe(PRIORITY.moderation);
      // The winner's metadata stands; the loser knows (duplicate:true) that its own was not applied.
      const winner = answers.find((a) => !a.body.duplicate)!;
      const winnerSub = subs[answers.indexOf(winner)]!;
      expect((job?.data as { metadata?: unknown }).metadata).toEqual(winnerSub.metadata);
    }
  });
});

describe('bounded upload memory and connections', () => {
  const photo = readPhoto('coffee');
  let small: ApiStack;
  let url: URL;

  beforeAll(async () => {
    small = await startApiStack({
      name: 'api-reliability-caps',
      buckets: [BUCKET],
      env: {
        MAX_UPLOAD_BYTES: String(photo.length),
        API_MAX_UPLOAD_BYTES_IN_FLIGHT: String(2 * photo.length),
        API_MAX_CONNECTIONS: '4',
      },
    });
    url = new URL(small.base);
  });
  afterAll(async () => {
    await small?.stop();
  });

  /** Opens a raw upload that has sent its headers and half its body, and can finish it later. */
  async function halfUpload(body: Buffer): Promise<{ finish(): Promise<string> }> {
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.write(
      `POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n` +
        'Connection: close\r\n\r\n',
    );
    socket.write(body.subarray(0, body.length >> 1));
    return {
      finish: async () => {
        socket.write(body.subarray(body.length >> 1));
        await once(socket, 'close');
        return received;
      },
    };
  }

  it('an upload past API_MAX_UPLOAD_BYTES_IN_FLIGHT answers 503 uploads_busy with Retry-After; capacity returns', async () => {
    // Two distinct images of the photo's size fill the budget while their bodies are still arriving.
    const a = Buffer.from(photo);
    const b = Buffer.from(photo);
    b[b.length - 3] = (b[b.length - 3] ?? 0) ^ 0xff; // other bytes, other id: not a duplicate
    const first = await halfUpload(a);
    const second = await halfUpload(b);
    await new Promise((r) => setTimeout(r, 200));

    const refused = await fetch(`${url.origin}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: photo,
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('uploads_busy');

    for (const upload of [first, second]) expect(await upload.finish()).toMatch(/^HTTP\/1\.1 202/);
    const again = await fetch(`${url.origin}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: photo,
    });
    expect(again.status).toBe(202);
  });

  it('closes connections past API_MAX_CONNECTIONS at once', async () => {
    const idle = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const s = connect(Number(url.port), url.hostname);
        await once(s, 'connect');
        return s;
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    const extra = connect(Number(url.port), url.hostname);
    extra.on('error', () => undefined);
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    let answered = '';
    extra.on('data', (d: Buffer) => (answered += d.toString()));
    await once(extra, 'close');
    expect(answered).toBe('');

    idle.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${url.origin}/healthz`)).status).toBe(200);
    for (const s of idle) s.destroy();
  });
});

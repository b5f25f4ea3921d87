// An S3 endpoint that accepts connections and never answers: every call must give up after
// S3_REQUEST_TIMEOUT_MS of silence with the retryable `storage_unavailable`, not wait forever.
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { LabelqError } from '@labelq/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/env.ts';
import type { Config } from '@labelq/config';
import { createObjectStore, createThreadedObjectStore, type ObjectStore } from './index.ts';

const TIMEOUT_MS = 400;

const STORES: [string, (s3: Config['s3']) => ObjectStore][] = [
  ['on the calling thread', (s3) => createObjectStore(s3)],
  ['on an S3 I/O thread', (s3) => createThreadedObjectStore(s3, { threads: 1 })],
];

describe.each(STORES)('ObjectStore against an endpoint that never answers, %s', (_name, makeStore) => {
  let server: Server;
  const sockets = new Set<Socket>();
  let store: ObjectStore;

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const config = testConfig({
      s3Endpoint: `http://127.0.0.1:${port}`,
      bucket: 'hung',
      extra: { S3_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    store = makeStore(config.s3);
  });
  afterAll(async () => {
    store.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each<[string, (s: ObjectStore) => Promise<unknown>]>([
    ['putJson', (s) => s.putJson('hung', 'a.json', { a: 1 })],
    ['getJson', (s) => s.getJson('hung', 'a.json')],
    ['mergeTags', (s) => s.mergeTags('hung', 'a.jpg', [{ key: 'labelq:x', value: '1' }])],
    ['checkBucket', (s) => s.checkBucket('hung')],
    ['openObject without a deadline', (s) => s.openObject('hung', 'a.jpg', { maxBytes: 1000 })],
  ])('%s fails with storage_unavailable after the idle timeout', async (_name, call) => {
    const started = performance.now();
    const err = await call(store).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(LabelqError);
    expect((err as LabelqError).code).toBe('storage_unavailable');
    expect((err as LabelqError).retryable).toBe(true);
    // The SDK tries twice (maxAttempts 2): each attempt idles TIMEOUT_MS before giving up.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(elapsed).toBeLessThan(10 * TIMEOUT_MS + 2000);
  });
});

// Headers at once, then a body that stops after its first bytes: the caller's deadline must end the read, on the
// calling thread as on an I/O thread (where the abort has to cross to the thread holding the body).
describe.each(STORES)('ObjectStore against a body that stops midway, %s', (_name, makeStore) => {
  let server: HttpServer;
  let store: ObjectStore;
  const responses = new Set<ServerResponse>();

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      responses.add(res);
      res.on('close', () => responses.delete(res));
      res.writeHead(200, { 'content-length': '1000', etag: '"abc"', 'content-type': 'image/jpeg' });
      res.write(Buffer.alloc(10));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    store = makeStore(
      testConfig({
        s3Endpoint: `http://127.0.0.1:${port}`,
        bucket: 'slow',
        extra: { S3_REQUEST_TIMEOUT_MS: '60000' },
      }).s3,
    );
  });
  afterAll(async () => {
    store.destroy();
    for (const r of responses) r.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('ends the body read with `timeout` when the deadline given to openObject passes', async () => {
    const controller = new AbortController();
    const opened = await store.openObject('slow', 'a.jpg', { maxBytes: 10_000, signal: controller.signal });
    expect(opened).toMatchObject({ etag: '"abc"', contentLength: 1000, contentType: 'image/jpeg' });
    const reading = opened.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    setTimeout(() => controller.abort(), 50);
    const err = await reading;
    expect(err).toBeInstanceOf(LabelqError);
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('fails a request whose deadline already passed with `timeout`', async () => {
    await expect(
      store.getObjectBytes('slow', 'a.jpg', { maxBytes: 10_000, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'timeout' });
  });
});

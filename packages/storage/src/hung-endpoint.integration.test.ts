// An S3 endpoint that accepts connections and never answers: every call must give up after
// S3_REQUEST_TIMEOUT_MS of silence with the retryable `storage_unavailable`, not wait forever.
import { createServer, type Server, type Socket } from 'node:net';
import { LabelqError } from '@labelq/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/env.ts';
import { createObjectStore, type ObjectStore } from './index.ts';

const TIMEOUT_MS = 400;

describe('ObjectStore against an endpoint that never answers', () => {
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
    store = createObjectStore(config.s3);
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

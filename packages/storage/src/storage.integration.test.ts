import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { LabelqError } from '@labelq/errors';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../../test/helpers/s3.ts';
import { testConfig, uniqueName } from '../../../test/helpers/env.ts';
import type { Config } from '@labelq/config';
import { createObjectStore, createThreadedObjectStore, type ObjectStore } from './index.ts';

/** Both stores the services use: requests on the calling thread, and on S3 I/O threads (S3_IO_THREADS). */
const STORES: [string, (s3: Config['s3']) => ObjectStore][] = [
  ['on the calling thread', (s3) => createObjectStore(s3)],
  ['on two S3 I/O threads', (s3) => createThreadedObjectStore(s3, { threads: 2 })],
];

describe.each(STORES)('ObjectStore against s3rver, %s', (_name, makeStore) => {
  let s3: LocalS3;
  let store: ObjectStore;
  const bucket = 'storage-it';
  const prefix = `${uniqueName('storage')}/`;

  beforeAll(async () => {
    s3 = await startLocalS3([bucket]);
    store = makeStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3);
  });
  afterAll(async () => {
    store.destroy();
    await s3.stop();
  });

  it('round-trips a streamed PutObject byte for byte (no aws-chunked framing stored)', async () => {
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 251;
    const parts = [bytes.subarray(0, 65_536), bytes.subarray(65_536, 200_000), bytes.subarray(200_000)];
    const { etag } = await store.putObject(bucket, `${prefix}stream.bin`, Readable.from(parts), {
      contentLength: bytes.length,
    });
    const got = await store.getObjectBytes(bucket, `${prefix}stream.bin`, { maxBytes: 1_000_000 });
    expect(Buffer.from(got.bytes).equals(bytes)).toBe(true);
    expect(got.etag).toBe(etag);
    expect(etag).toBe(`"${createHash('md5').update(bytes).digest('hex')}"`);
  });

  it('buffers a stream of unknown length', async () => {
    await store.putObject(
      bucket,
      `${prefix}unknown.bin`,
      Readable.from([Buffer.from('abc'), Buffer.from('def')]),
    );
    const got = await store.getObjectBytes(bucket, `${prefix}unknown.bin`, { maxBytes: 10 });
    expect(Buffer.from(got.bytes).toString()).toBe('abcdef');
  });

  it('refuses objects over the cap with object_too_large', async () => {
    await store.putObject(bucket, `${prefix}big.bin`, Buffer.alloc(5000, 1));
    await expect(store.getObjectBytes(bucket, `${prefix}big.bin`, { maxBytes: 4999 })).rejects.toMatchObject({
      code: 'object_too_large',
      retryable: false,
    });
    const opened = await store.openObject(bucket, `${prefix}big.bin`, { maxBytes: 5000 });
    expect(opened.contentLength).toBe(5000);
    expect((await opened.read()).length).toBe(5000);
  });

  it('maps a missing object to object_not_found and head to undefined', async () => {
    const err: unknown = await store
      .getObjectBytes(bucket, `${prefix}missing`, { maxBytes: 10 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabelqError);
    expect(err).toMatchObject({ code: 'object_not_found', retryable: false });
    expect(await store.headObject(bucket, `${prefix}missing`)).toBeUndefined();
    expect(await store.getJson(bucket, `${prefix}missing.json`)).toBeUndefined();
  });

  it('writes JSON documents deterministically', async () => {
    const key = store.resultKey('acme', 'img_0123');
    expect(key).toBe('results/acme/img_0123.json');
    const a = await store.putJson(bucket, `${prefix}${key}`, { b: 1, a: [1, 2] });
    const b = await store.putJson(bucket, `${prefix}${key}`, { b: 1, a: [1, 2] });
    expect(a.etag).toBe(b.etag);
    expect(await store.getJson(bucket, `${prefix}${key}`)).toEqual({ b: 1, a: [1, 2] });
  });

  it("merges our tags, removes the owned keys, keeps the owner's and other writers' tags", async () => {
    const key = `${prefix}tagged.jpg`;
    await store.putObject(bucket, key, Buffer.from('x'));
    await s3.client.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: key,
        Tagging: {
          TagSet: [
            { Key: 'owner', Value: 'me' },
            { Key: 'labelq:old', Value: 'stale' },
            { Key: 'labelq:other-model', Value: 'kept' },
          ],
        },
      }),
    );
    const ours = [
      { key: 'labelq:moderation', value: 'allow' },
      { key: 'labelq:labels', value: "tabby, tabby cat/dog's" },
    ];
    const first = await store.mergeTags(bucket, key, ours, ['labelq:old']);
    expect(first.changed).toBe(true);
    const tags = await store.getTags(bucket, key);
    expect(tags).toEqual([
      { key: 'owner', value: 'me' },
      { key: 'labelq:moderation', value: 'allow' },
      { key: 'labelq:labels', value: 'tabby_ tabby cat/dog_s' },
      { key: 'labelq:other-model', value: 'kept' },
    ]);
    expect((await store.mergeTags(bucket, key, ours, ['labelq:old'])).changed).toBe(false);
  });

  it('reports an unreachable endpoint as retryable storage_unavailable, and a missing bucket as bucket_not_found', async () => {
    await expect(store.checkBucket(bucket)).resolves.toBeUndefined();
    await expect(store.checkBucket('no-such-bucket')).rejects.toMatchObject({
      code: 'bucket_not_found',
      retryable: false,
    });
    const dead = makeStore(
      testConfig({ s3Endpoint: 'http://127.0.0.1:9', bucket, extra: { S3_CONNECT_TIMEOUT_MS: '500' } }).s3,
    );
    await expect(dead.getObjectBytes(bucket, 'x', { maxBytes: 1 })).rejects.toMatchObject({
      code: 'storage_unavailable',
      retryable: true,
    });
    dead.destroy();
    await store.ensureBucket('created-bucket');
    await expect(store.checkBucket('created-bucket')).resolves.toBeUndefined();
  });
});

describe('S3 I/O threads that die', () => {
  let s3: LocalS3;
  const bucket = 'storage-crash';

  beforeAll(async () => {
    s3 = await startLocalS3([bucket]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('fail the requests in flight with storage_unavailable, and the next request gets a new thread', async () => {
    const exits: { thread: number; exitCode: number }[] = [];
    const store = createThreadedObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3, {
      threads: 1,
      threadUrl: new URL('./io-thread/crashing-entry.test-thread.mjs', import.meta.url),
      onThreadExit: ({ thread, exitCode }) => exits.push({ thread, exitCode }),
    });
    try {
      await store.putObject(bucket, 'kept.bin', Buffer.from('still here'));
      const err: unknown = await store.getJson(bucket, 'crash-the-thread').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelqError);
      expect(err).toMatchObject({ code: 'storage_unavailable', retryable: true });
      expect((err as LabelqError).message).toMatch(/I\/O thread exited \(code 3\)/);
      expect(exits).toEqual([{ thread: 0, exitCode: 3 }]);
      const got = await store.getObjectBytes(bucket, 'kept.bin', { maxBytes: 100 });
      expect(Buffer.from(got.bytes).toString()).toBe('still here');
    } finally {
      store.destroy();
    }
  });

  it('fail a body opened before the thread died with storage_unavailable (retryable), never starting a thread to read it', async () => {
    const exits: number[] = [];
    const store = createThreadedObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3, {
      threads: 1,
      threadUrl: new URL('./io-thread/crashing-entry.test-thread.mjs', import.meta.url),
      onThreadExit: ({ exitCode }) => exits.push(exitCode),
    });
    try {
      await store.putObject(bucket, 'opened.bin', Buffer.alloc(1000, 7));
      const opened = await store.openObject(bucket, 'opened.bin', { maxBytes: 10_000 });
      await expect(store.getJson(bucket, 'crash-the-thread')).rejects.toMatchObject({
        code: 'storage_unavailable',
      });
      const err: unknown = await opened.read().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelqError);
      expect(err).toMatchObject({
        code: 'storage_unavailable',
        retryable: true,
        details: { bucket, key: 'opened.bin' },
      });
      expect(exits).toEqual([3]);
      // The next request is served by a new thread.
      const again = await store.openObject(bucket, 'opened.bin', { maxBytes: 10_000 });
      expect((await again.read()).length).toBe(1000);
    } finally {
      store.destroy();
    }
  });
});

describe('S3 I/O threads: requests that cannot be sent, and a destroyed store', () => {
  let s3: LocalS3;
  const bucket = 'storage-edges';

  beforeAll(async () => {
    s3 = await startLocalS3([bucket]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('reject a value structured clone refuses with `internal`, and the next request works', async () => {
    const store = createThreadedObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3);
    try {
      await store.putObject(bucket, 'x.jpg', Buffer.from('x'));
      const unsendable = [{ key: 'labelq:x', value: (() => 'no') as unknown as string }];
      await expect(store.mergeTags(bucket, 'x.jpg', unsendable)).rejects.toMatchObject({
        code: 'internal',
        details: { bucket, key: 'x.jpg' },
      });
      expect((await store.mergeTags(bucket, 'x.jpg', [{ key: 'labelq:x', value: 'yes' }])).changed).toBe(
        true,
      );
    } finally {
      store.destroy();
    }
  });

  it('write a document with the bytes JSON.stringify gives (toJSON, Buffers), as the in-process store', async () => {
    const threaded = createThreadedObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3);
    const local = createObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3);
    try {
      const doc = { at: new Date(0), raw: Buffer.from('hi'), skip: undefined, n: [1, 2] };
      const a = await threaded.putJson(bucket, 'doc-a.json', doc);
      const b = await local.putJson(bucket, 'doc-b.json', doc);
      expect(a.etag).toBe(b.etag);
      expect(await threaded.getJson(bucket, 'doc-a.json')).toEqual({
        at: '1970-01-01T00:00:00.000Z',
        raw: { type: 'Buffer', data: [104, 105] },
        n: [1, 2],
      });
    } finally {
      threaded.destroy();
      local.destroy();
    }
  });

  it('after destroy(), reject every call with storage_unavailable instead of throwing or starting a thread', async () => {
    const store = createThreadedObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket }).s3);
    await store.putObject(bucket, 'y.jpg', Buffer.from('y'));
    const opened = await store.openObject(bucket, 'y.jpg', { maxBytes: 10 });
    store.destroy();
    const calls: (() => Promise<unknown>)[] = [
      () => store.putJson(bucket, 'z.json', { a: 1 }),
      () => store.getJson(bucket, 'z.json'),
      () => store.openObject(bucket, 'y.jpg', { maxBytes: 10 }),
      () => store.putObject(bucket, 'z.bin', Readable.from([Buffer.from('z')])),
      () => opened.read(),
    ];
    for (const call of calls) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = call())).not.toThrow();
      await expect(result).rejects.toMatchObject({ code: 'storage_unavailable' });
    }
  });
});

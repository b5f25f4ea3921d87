// Main-thread CPU of each operation a classify job does on the worker's event loop, measured one operation at a
// time (N rounds, `--parallel` in flight) against s3rver running in a child process, so that only the client's
// side is counted. Thread CPU (/proc) is less inflated by a busy machine than wall time.
// `--io-threads N` runs the store's requests on N S3 I/O threads (S3_IO_THREADS), as the worker does by default:
// then the main thread pays only the messages to and from them.
// Usage: tsx scripts/bench/main-thread-ops.ts [--rounds N] [--parallel N] [--only a,b] [--io-threads N]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { loadConfig } from '@labelq/config';
import { s3rverEnv } from '@labelq/dev-services';
import { createObjectStore, createThreadedObjectStore, type ObjectStore } from '@labelq/storage';
import { quietSdkNodeVersionWarning } from './quiet.ts';

interface Op {
  name: string;
  run(i: number): Promise<unknown>;
}

async function startS3rverChild(dir: string): Promise<{ endpoint: string; stop(): void }> {
  const code =
    `import('@labelq/dev-services').then(async (d) => {` +
    ` const h = await d.startS3rver({ dir: ${JSON.stringify(dir)}, buckets: ['ops'] });` +
    ` process.stdout.write(h.endpoint + '\\n'); })`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { endpoint: line.toString().trim(), stop: () => void child.kill() };
}

/** User and system CPU of the main thread, ms (ticks of 10 ms: measure over hundreds of rounds). */
function mainThreadCpu(): { user: number; system: number } {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

async function measure(op: Op, rounds: number, parallel: number): Promise<{ user: number; system: number }> {
  for (let i = 0; i < Math.min(20, rounds); i++) await op.run(i); // warm JIT and sockets
  const before = mainThreadCpu();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < rounds) await op.run(next++);
    }),
  );
  const after = mainThreadCpu();
  return { user: (after.user - before.user) / rounds, system: (after.system - before.system) / rounds };
}

const chunks: number[] = [];
function ops(store: ObjectStore, bucket: string, image: Buffer, doc: unknown): Op[] {
  return [
    {
      name: 'GetObject image (open + read)',
      run: async () => {
        const o = await store.openObject(bucket, 'image.jpg', { maxBytes: 64 << 20 });
        return o.read();
      },
    },
    {
      name: 'GetObject image, data events into one Buffer',
      run: async () => {
        const out = await store.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'image.jpg' }));
        const body = out.Body as Readable;
        const buf = Buffer.allocUnsafeSlow(out.ContentLength!);
        let at = 0;
        body.on('data', (c: Buffer) => {
          at += c.copy(buf, at);
          chunks.push(c.length);
        });
        await once(body, 'end');
        return buf;
      },
    },
    {
      name: 'GetObject image, headers only (open + discard)',
      run: async () => (await store.openObject(bucket, 'image.jpg', { maxBytes: 64 << 20 })).discard(),
    },
    { name: 'GetObject result doc, 404 (getJson)', run: (i) => store.getJson(bucket, `missing/${i}.json`) },
    { name: 'PutObject result doc (putJson)', run: (i) => store.putJson(bucket, `docs/${i % 50}.json`, doc) },
    {
      name: 'tags read-modify-write (mergeTags)',
      run: (i) => store.mergeTags(bucket, 'image.jpg', [{ key: 'labelq:x', value: String(i % 2) }], []),
    },
    { name: 'GetObjectTagging', run: () => store.getTags(bucket, 'image.jpg') },
  ];
}

async function main(): Promise<void> {
  quietSdkNodeVersionWarning();
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '300' },
      parallel: { type: 'string', default: '4' },
      only: { type: 'string' },
      image: { type: 'string', default: '.bench/images/v3/jpeg-12mp-00000.jpg' },
      doc: { type: 'string' },
      uncached: { type: 'boolean', default: false },
      'io-threads': { type: 'string', default: '0' },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'labelq-ops-'));
  const s3rver = await startS3rverChild(dir);
  try {
    const config = loadConfig({
      ...s3rverEnv(s3rver.endpoint, 'ops'),
      S3_FORCE_PATH_STYLE: 'true',
    });
    const ioThreads = Number(values['io-threads']);
    // Both act on the client of the calling thread, which the threads' requests never use.
    if (ioThreads > 0 && values.uncached)
      throw new Error("--uncached measures the main thread's client: not with --io-threads");
    const store =
      ioThreads > 0
        ? createThreadedObjectStore(config.s3, { threads: ioThreads })
        : createObjectStore(config.s3);
    const image = readFileSync(values.image);
    await store.putObject('ops', 'image.jpg', image, { contentType: 'image/jpeg' });
    const doc =
      values.doc !== undefined
        ? (JSON.parse(readFileSync(values.doc, 'utf8')) as unknown)
        : { results: Array.from({ length: 30 }, (_, i) => ({ label: `label-${i}`, confidence: i / 30 })) };
    const only = values.only?.split(',');
    const rounds = Number(values.rounds);
    const parallel = Number(values.parallel);
    process.stdout.write(
      `image ${values.image} (${image.length} bytes), ${rounds} rounds, ${parallel} in flight, ` +
        `${ioThreads > 0 ? `${ioThreads} S3 I/O thread(s)` : 'requests on the main thread'}\n`,
    );
    // The client's middleware-stack cache (createS3Client sets cacheMiddleware), on and then off.
    const config_ = store.client.config as { cacheMiddleware?: boolean };
    for (const cached of values.uncached ? [true, false] : [true]) {
      config_.cacheMiddleware = cached;
      for (const op of ops(store, 'ops', image, doc)) {
        if (only && !only.some((o) => op.name.includes(o))) continue;
        // The raw-SDK row calls the client directly: with --io-threads it would still run on this thread.
        if (ioThreads > 0 && op.name.includes('data events')) continue;
        const { user, system } = await measure(op, rounds, parallel);
        const f = (ms: number): string => ms.toFixed(2).padStart(6);
        process.stdout.write(
          `${f(user + system)} ms (user ${f(user)}, sys ${f(system)})  ${op.name}${cached ? '' : ' [middleware not cached]'}\n`,
        );
      }
    }
    if (chunks.length > 0)
      process.stdout.write(
        `body chunks: ${chunks.length}, mean ${(chunks.reduce((a, b) => a + b, 0) / chunks.length).toFixed(0)} bytes\n`,
      );
    store.destroy();
  } finally {
    s3rver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

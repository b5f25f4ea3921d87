// `pnpm bench:index [--rows N] [--queries N] [--writers N] [--keep]`: the results index at scale. Ingests N
// synthetic result documents (default 1,000,000: 90 % one tenant, the rest nine others) through the same
// upsertDocuments the indexer uses, in batches of 1000 with `--writers` (default 2: one per worker on a
// two-core machine) transactions in flight, and reports rows/s; then p50/p99 latency of the label, text and
// near-duplicate queries of the search API (SearchService, so the same SQL), each over `--queries` random
// instances, plus EXPLAIN (ANALYZE, BUFFERS) of one of each (written to .bench/index-explain.txt).
//
// Synthetic data: 3-6 labels per image from an 80-word vocabulary with Zipf-like frequencies and uniform
// confidences; OCR text on one image in five (4-12 words from a 2000-word vocabulary); decisions 90 % allow,
// 8 % review, 2 % block; uniformly random 64-bit perceptual hashes, plus one planted near copy per 1000 images
// of the image before it (1-6 bits flipped), so near-duplicate queries have something to find.
//
// Postgres: TEST_POSTGRES_URL / 127.0.0.1:5432 when it answers, else a private cluster; a database of its own,
// dropped at the end unless --keep. Run it under `flock /tmp/labelq-bench.lock` on shared machines.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  imageSearchQuerySchema,
  labelFacetQuerySchema,
  RESULT_SCHEMA_VERSION,
  similarQuerySchema,
  type ResultDocument,
} from '@labelq/contracts';
import { dropDatabase, ensureDatabase, resolvePostgres } from '@labelq/dev-services';
import { createIndexPool, migrate, SearchService, upsertDocuments } from '@labelq/index';
import { machineInfo } from './machine.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '200' },
    writers: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const QUERIES = Number(values.queries);
const WRITERS = Number(values.writers);
const BATCH = 1000;

/** A small deterministic PRNG (mulberry32): the same data on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(42);
const LABELS = Array.from({ length: 80 }, (_, i) => `label${String(i).padStart(2, '0')}`);
const WORDS = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`);
/** Zipf-like: index ~ 80^u - 1 skews towards the first labels. */
const zipf = (n: number): number => Math.min(n - 1, Math.floor(n ** rand()) - 1);
const hex64 = (): string =>
  Array.from({ length: 4 }, () =>
    Math.floor(rand() * 65536)
      .toString(16)
      .padStart(4, '0'),
  ).join('');
function flipBits(hash: string, count: number): string {
  let v = BigInt(`0x${hash}`);
  for (let i = 0; i < count; i++) v ^= 1n << BigInt(Math.floor(rand() * 64));
  return v.toString(16).padStart(16, '0');
}

/** Image ids are content hashes in labelq, so they arrive in random order (not appended at an index's end). */
const imageId = (n: number): string =>
  `img_${createHash('sha256').update(String(n)).digest('hex').slice(0, 32)}`;

const MODEL = { name: 'bench-net', version: '1', sha256: '0'.repeat(64) };
const OCR = { name: 'bench-ocr', version: '1', sha256: '0'.repeat(64) };
const T0 = Date.UTC(2026, 0, 1);

function syntheticDoc(n: number, previousHash: string | undefined): ResultDocument {
  const tenant = n % 10 === 0 ? `t${(n / 10) % 9}` : 'bench';
  const labels = new Map<string, number>();
  const count = 3 + Math.floor(rand() * 4);
  while (labels.size < count) labels.set(LABELS[zipf(LABELS.length)]!, Math.round(rand() * 1000) / 1000);
  const r = rand();
  const decision = r < 0.9 ? 'allow' : r < 0.98 ? 'review' : 'block';
  const finished = new Date(T0 + n * 1000).toISOString();
  const phash =
    n % 1000 === 2 && previousHash !== undefined
      ? flipBits(previousHash, 1 + Math.floor(rand() * 6))
      : hex64();
  const doc: ResultDocument = {
    status: 'completed',
    schemaVersion: RESULT_SCHEMA_VERSION,
    id: imageId(n),
    tenant,
    source: { bucket: 'bench', key: `photos/${n}.jpg`, etag: `"${n}"`, bytes: 100_000 + n },
    image: { format: 'jpeg', width: 1024, height: 768 },
    results: [
      {
        task: 'classify',
        model: MODEL,
        labels: [...labels]
          .map(([name, confidence]) => ({ name, confidence }))
          .sort((a, b) => b.confidence - a.confidence),
      },
    ],
    moderation: { decision, reasons: [], policy: 'bench-1', models: ['bench-net'] },
    purpose: 'tagging',
    origin: 's3',
    provenance: { labelqVersion: 'bench', models: [MODEL], attempt: 1 },
    timings: {
      submittedAt: finished,
      startedAt: finished,
      finishedAt: finished,
      downloadMs: 1,
      budgetWaitMs: 0,
      queueMs: 0,
      decodeMs: 1,
      models: {},
      totalMs: 3,
    },
    properties: { v: 1, phash, colours: [], brightness: rand(), sharpness: rand() * 2000 },
  };
  if (n % 5 === 0)
    doc.results.push({
      task: 'text',
      model: OCR,
      lines: [
        {
          text: Array.from({ length: 4 + Math.floor(rand() * 9) }, () => WORDS[zipf(WORDS.length)]!).join(
            ' ',
          ),
          confidence: 0.9,
          box: { x: 0, y: 0, width: 1, height: 0.1 },
        },
      ],
    });
  return doc;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeQueries(
  name: string,
  fn: (i: number) => Promise<unknown>,
): Promise<{ name: string; p50: number; p99: number; max: number }> {
  for (let i = 0; i < 5; i++) await fn(i); // warm the plan cache and buffers
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t0 = performance.now();
    await fn(i + 5);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    name,
    p50: round(percentile(times, 50)),
    p99: round(percentile(times, 99)),
    max: round(times.at(-1)!),
  };
}

const server = await resolvePostgres(
  process.env.TEST_POSTGRES_URL,
  join(tmpdir(), `labelq-bench-pg-${process.pid}`),
);
const dbName = `labelq_bench_${Date.now().toString(36)}`;
const url = await ensureDatabase(server.url, dbName);
const pool = createIndexPool(url, { max: 4, statementTimeoutMs: 600_000 });
try {
  await migrate(pool);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench:index: ingesting ${ROWS} rows into ${dbName}`);
  const t0 = performance.now();
  let previous: string | undefined;
  let n = 0;
  const inFlight = new Set<Promise<void>>();
  while (n < ROWS) {
    const docs = [];
    for (let i = 0; i < BATCH && n < ROWS; i++, n++) {
      const d = syntheticDoc(n, previous);
      previous = d.properties?.phash;
      docs.push(d);
    }
    // Up to WRITERS batches in flight (as WRITERS workers' indexers would be), the next one generated meanwhile.
    const done = n;
    const p: Promise<void> = upsertDocuments(pool, docs).then(() => {
      inFlight.delete(p);
      if (done % 100_000 === 0)
        log(`  ${done} rows, ${Math.round(done / ((performance.now() - t0) / 1000))} rows/s`);
    });
    inFlight.add(p);
    if (inFlight.size >= WRITERS) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const ingestSeconds = (performance.now() - t0) / 1000;
  await pool.query('VACUUM ANALYZE labelq.images');
  await pool.query('VACUUM ANALYZE labelq.labels');
  const sizes = await pool.query<{ name: string; size: string }>(
    `SELECT relname AS name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size FROM pg_class c
     JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = 'labelq' AND c.relkind = 'r' ORDER BY 1`,
  );
  const labelRows = (await pool.query<{ c: string }>('SELECT count(*) AS c FROM labelq.labels')).rows[0]!.c;

  const search = new SearchService(pool);
  const ids: string[] = [];
  for (let i = 0; i < QUERIES + 5; i++) {
    let k = Math.floor(rand() * ROWS);
    if (k % 10 === 0) k++; // the main tenant's
    ids.push(imageId(k));
  }
  // Images that have a planted near copy (image n % 1000 === 2 copies image n - 1, both the main tenant's).
  const planted: string[] = [];
  for (let k = 1001; k < ROWS && planted.length < 50; k += 1000) planted.push(imageId(k));
  const results = [
    await timeQueries('label (common label, minConfidence 0.8, 50 per page)', (i) =>
      search.searchImages(
        'bench',
        imageSearchQuerySchema.parse({ label: LABELS[i % 5], minConfidence: '0.8' }),
      ),
    ),
    await timeQueries('label (any of 80 labels, minConfidence 0.8)', (i) =>
      search.searchImages(
        'bench',
        imageSearchQuerySchema.parse({ label: LABELS[i % 80], minConfidence: '0.8' }),
      ),
    ),
    await timeQueries('label + decision=review', (i) =>
      search.searchImages(
        'bench',
        imageSearchQuerySchema.parse({ label: LABELS[i % 20], decision: 'review' }),
      ),
    ),
    await timeQueries('text (one OCR word)', (_i) =>
      search.searchImages('bench', imageSearchQuerySchema.parse({ text: WORDS[zipf(WORDS.length)]! })),
    ),
    await timeQueries('near duplicates (maxDistance 10)', (i) =>
      search.similar('bench', ids[i]!, similarQuerySchema.parse({ maxDistance: '10' })),
    ),
    await timeQueries('near duplicates (maxDistance 15, the most allowed)', (i) =>
      search.similar('bench', ids[i]!, similarQuerySchema.parse({ maxDistance: '15' })),
    ),
  ];
  const found = await Promise.all(
    planted.map(async (id) => (await search.similar('bench', id, similarQuerySchema.parse({}))).items.length),
  );

  // EXPLAIN of each query exactly as SearchService sends it: a SearchService over a pool that records the
  // statements, the main one of each call (not the labels of the page, the hash look-up or the cursor key).
  const sent: { text: string; values: unknown[] }[] = [];
  const recording = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return (text: string, values: unknown[]) => {
        sent.push({ text, values });
        return target.query(text, values);
      };
    },
  });
  const recorded = new SearchService(recording);
  const explain = async (title: string, call: (s: SearchService) => Promise<unknown>): Promise<string> => {
    sent.length = 0;
    await call(recorded);
    const main = sent.find(
      (q) => !/image_id = ANY\(\$2::text\[\]\)|SELECT phash::text|labelq\.secrets/.test(q.text),
    );
    if (main === undefined) throw new Error(`no statement recorded for ${title}`);
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${main.text}`,
      main.values,
    );
    const values = main.values.map((v) => (Array.isArray(v) ? `[${v.length} values]` : JSON.stringify(v)));
    // The answer's column list (the same in every query) shortened to i.<columns>.
    const text = main.text.replace(/\s+/g, ' ').replace(/i\.id, i\.status, .*?i\.colours/, 'i.<columns>');
    return `-- ${title}\n-- ${text}\n-- values: ${values.join(', ')}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`;
  };
  const plans = [
    await explain('GET /v1/images?label=label00&minConfidence=0.8', (s) =>
      s.searchImages('bench', imageSearchQuerySchema.parse({ label: 'label00', minConfidence: '0.8' })),
    ),
    await explain('GET /v1/images?label=label07&decision=review', (s) =>
      s.searchImages('bench', imageSearchQuerySchema.parse({ label: 'label07', decision: 'review' })),
    ),
    await explain(`GET /v1/images?text=${WORDS[3]}`, (s) =>
      s.searchImages('bench', imageSearchQuerySchema.parse({ text: WORDS[3] })),
    ),
    await explain('GET /v1/images?decision=review', (s) =>
      s.searchImages('bench', imageSearchQuerySchema.parse({ decision: 'review' })),
    ),
    await explain('GET /v1/labels', (s) => s.labelFacets('bench', labelFacetQuerySchema.parse({}))),
    await explain('GET /v1/images/:id/similar (maxDistance 10, the default)', (s) =>
      s.similar('bench', ids[0]!, similarQuerySchema.parse({ maxDistance: '10' })),
    ),
    await explain('GET /v1/images/:id/similar?maxDistance=15', (s) =>
      s.similar('bench', ids[0]!, similarQuerySchema.parse({ maxDistance: '15' })),
    ),
  ];
  await mkdir('.bench', { recursive: true });
  await writeFile('.bench/index-explain.txt', plans.join('\n'));

  const report = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    postgres: (await pool.query<{ v: string }>('SHOW server_version')).rows[0]!.v,
    rows: ROWS,
    labelRows: Number(labelRows),
    ingest: {
      seconds: Math.round(ingestSeconds),
      rowsPerSecond: Math.round(ROWS / ingestSeconds),
      writers: WRITERS,
      batch: BATCH,
    },
    sizes: Object.fromEntries(sizes.rows.map((r) => [r.name, r.size])),
    queries: results,
    plantedCopiesFound: `${found.filter((c) => c > 0).length}/${found.length}`,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(`${JSON.stringify({ ...report, queries: undefined }, null, 2)}\n`);
    for (const q of results)
      process.stdout.write(`${q.name.padEnd(52)} p50 ${q.p50} ms  p99 ${q.p99} ms  max ${q.max} ms\n`);
    process.stdout.write('EXPLAIN output: .bench/index-explain.txt\n');
  }
} finally {
  await pool.end();
  if (!values.keep) await dropDatabase(server.url, dbName);
  await server.stop();
}

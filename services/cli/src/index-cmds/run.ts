// `labelq search ...`, `labelq reindex [--tenant T]`, `labelq index status`: the results index from a shell,
// straight against Postgres (DATABASE_URL), Redis and S3 with the same code the API and the workers use. An
// operator tool like `labelq keys`: it acts for any tenant it is told (`--tenant`, default `default`).
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '@labelq/config';
import {
  DEFAULT_TENANT,
  imageSearchQuerySchema,
  labelFacetQuerySchema,
  similarQuerySchema,
  tenantIdSchema,
  type IndexedImage,
} from '@labelq/contracts';
import { LabelqError, toLabelqError } from '@labelq/errors';
import {
  clearOverflow,
  createIndexPool,
  indexBacklog,
  migrate,
  reindex,
  SearchService,
  type Pool,
} from '@labelq/index';
import { createObjectStore } from '@labelq/storage';
import { Redis } from 'ioredis';
import { z } from 'zod';

export const SEARCH_USAGE = `Usage: pnpm labelq search [filters] [--json] [--all] [--tenant T]
       pnpm labelq search --similar ID [--max-distance N] [--json] [--tenant T]
       pnpm labelq search --labels [--batch B] [--model M] [--min-confidence X] [--json] [--tenant T]
       pnpm labelq reindex [--tenant T]     rebuild the index from the S3 result documents
       pnpm labelq index status             the outcome stream's backlog and the index's size

Filters (as GET /v1/images): --label L --min-confidence X --model M --decision allow|review|block
  --status completed|failed --batch B --text WORDS --before ISO --after ISO --blurry true|false
  --limit N (default 50, at most 500 per page) --cursor C
  --json   one JSON object per line (JSONL); otherwise a table. The next page's cursor goes to stderr.
  --all    follow the cursors to the last page.
Needs DATABASE_URL (reindex also the S3 settings; index status also REDIS_URL).
Exit codes: 0 done; 1 the index, Redis or S3 failed; 2 usage or configuration error.`;

const FILTER_FLAGS = {
  label: 'label',
  'min-confidence': 'minConfidence',
  model: 'model',
  decision: 'decision',
  status: 'status',
  batch: 'batch',
  text: 'text',
  before: 'before',
  after: 'after',
  blurry: 'blurry',
  limit: 'limit',
  cursor: 'cursor',
} as const;

function usage(message: string): LabelqError {
  return new LabelqError('invalid_request', message, { details: { usage: true } });
}

function parse(argv: readonly string[]) {
  const options = {
    json: { type: 'boolean' },
    all: { type: 'boolean' },
    tenant: { type: 'string' },
    similar: { type: 'string' },
    'max-distance': { type: 'string' },
    labels: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    ...Object.fromEntries(Object.keys(FILTER_FLAGS).map((f) => [f, { type: 'string' }])),
  } as const;
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    throw usage((err as Error).message);
  }
}

function check<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw usage(z.prettifyError(parsed.error).replaceAll('\n', ' '));
  return parsed.data;
}

function databaseUrl(config: Config): string {
  if (config.index.databaseUrl === undefined)
    throw usage('DATABASE_URL is not set: it names the index database');
  return config.index.databaseUrl;
}

function row(image: IndexedImage & { distance?: number }): string {
  const labels = image.labels
    .slice(0, 3)
    .map((l) => `${l.label} ${l.confidence.toFixed(2)}`)
    .join(', ');
  return [
    image.id,
    image.finishedAt.slice(0, 19),
    (image.decision ?? (image.status === 'failed' ? `failed:${image.errorCode}` : '-')).padEnd(8),
    ...(image.distance !== undefined ? [String(image.distance).padStart(2)] : []),
    (labels || '-').padEnd(40),
    image.key,
  ].join('  ');
}

async function withPool<T>(config: Config, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createIndexPool(databaseUrl(config), { max: 2, applicationName: 'labelq-cli' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

async function search(argv: readonly string[], out: (line: string) => void): Promise<void> {
  const values = parse(argv);
  if (values.help === true) return out(SEARCH_USAGE);
  const tenant = check(tenantIdSchema, values.tenant ?? DEFAULT_TENANT);
  const json = values.json === true;
  const config = loadConfig();
  await withPool(config, async (pool) => {
    const service = new SearchService(pool);
    if (typeof values.similar === 'string') {
      const query = check(similarQuerySchema, {
        ...(values['max-distance'] !== undefined ? { maxDistance: values['max-distance'] } : {}),
        ...(values.limit !== undefined ? { limit: values.limit } : {}),
      });
      const { items } = await service.similar(tenant, values.similar, query);
      for (const item of items) out(json ? JSON.stringify(item) : row(item));
      return;
    }
    if (values.labels === true) {
      const query = check(labelFacetQuerySchema, {
        ...(values.batch !== undefined ? { batch: values.batch } : {}),
        ...(values.model !== undefined ? { model: values.model } : {}),
        ...(values['min-confidence'] !== undefined ? { minConfidence: values['min-confidence'] } : {}),
        ...(values.limit !== undefined ? { limit: values.limit } : {}),
      });
      const { items } = await service.labelFacets(tenant, query);
      for (const item of items)
        out(json ? JSON.stringify(item) : `${String(item.images).padStart(9)}  ${item.label}`);
      return;
    }
    const raw: Record<string, unknown> = {};
    for (const [flag, name] of Object.entries(FILTER_FLAGS))
      if (values[flag] !== undefined) raw[name] = values[flag];
    let query = check(imageSearchQuerySchema, raw);
    for (;;) {
      const page = await service.searchImages(tenant, query);
      for (const item of page.items) out(json ? JSON.stringify(item) : row(item));
      if (page.nextCursor === null) return;
      if (values.all !== true) {
        process.stderr.write(`labelq: more results: --cursor ${page.nextCursor}\n`);
        return;
      }
      query = { ...query, cursor: page.nextCursor };
    }
  });
}

async function runReindex(argv: readonly string[], out: (line: string) => void): Promise<void> {
  const values = parse(argv);
  if (values.help === true) return out(SEARCH_USAGE);
  const tenant = values.tenant === undefined ? undefined : check(tenantIdSchema, values.tenant);
  const config = loadConfig();
  const store = createObjectStore(config.s3);
  try {
    await withPool(config, async (pool) => {
      await migrate(pool);
      const started = Date.now();
      const result = await reindex({
        pool,
        store,
        bucket: config.s3.bucket,
        resultsPrefix: config.s3.resultsPrefix,
        ...(tenant !== undefined ? { tenant } : {}),
        onProgress: (p) => process.stderr.write(`labelq: reindex: ${p.indexed} documents indexed\r`),
      });
      process.stderr.write('\n');
      // Every tenant rebuilt: the outcomes a full stream refused are in the index again.
      if (tenant === undefined) {
        const redis = new Redis(config.redis.url, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          retryStrategy: () => null,
        });
        redis.on('error', () => undefined);
        await redis
          .connect()
          .then(() => clearOverflow(redis, config.redis.keyPrefix))
          .catch(() => process.stderr.write('labelq: Redis unreachable: the overflow count was not reset\n'))
          .finally(() => redis.disconnect());
      }
      out(JSON.stringify({ ...result, tenant: tenant ?? null, seconds: (Date.now() - started) / 1000 }));
    });
  } finally {
    store.destroy();
  }
}

async function status(argv: readonly string[], out: (line: string) => void): Promise<void> {
  const values = parse(argv);
  if (values.help === true) return out(SEARCH_USAGE);
  const config = loadConfig();
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect().catch((err: unknown) => {
      throw new LabelqError('queue_unavailable', `Redis is unreachable: ${(err as Error).message}`);
    });
    const backlog = await indexBacklog(redis, config.redis.keyPrefix, config.index.streamMaxEntries);
    const images = await withPool(config, async (pool) => {
      const { rows } = await pool.query<{ tenant: string; images: string }>(
        'SELECT tenant, count(*) AS images FROM labelq.images GROUP BY tenant ORDER BY tenant',
      );
      return Object.fromEntries(rows.map((r) => [r.tenant, Number(r.images)]));
    });
    out(JSON.stringify({ backlog, images }));
  } finally {
    redis.disconnect();
  }
}

/** `labelq search|reindex|index status`: exit code 0, 1 (a service failed) or 2 (usage, configuration). */
export async function runIndexCommand(
  command: 'search' | 'reindex' | 'index',
  argv: readonly string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  try {
    if (command === 'search') await search(argv, out);
    else if (command === 'reindex') await runReindex(argv, out);
    else if (argv[0] === 'status') await status(argv.slice(1), out);
    else throw usage(`unknown command: index ${argv[0] ?? ''}`.trim());
    return 0;
  } catch (err) {
    const e = toLabelqError(err);
    process.stderr.write(`labelq: ${e.code}: ${e.message}\n`);
    if ((e.details as { usage?: boolean } | undefined)?.usage) process.stderr.write(`\n${SEARCH_USAGE}\n`);
    return e.code === 'invalid_request' || e.code === 'config_invalid' ? 2 : 1;
  }
}

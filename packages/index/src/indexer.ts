// The indexer: reads the outcome stream with a consumer group and upserts into Postgres; XACK only after the
// commit. Postgres down: nothing is acknowledged, the indexer backs off and retries its pending entries, the
// workers keep appending (bounded, see outcomes.ts), and it catches up when Postgres returns.
import { hostname } from 'node:os';
import { readStoredDocument, type StoredDocument } from '@labelq/contracts';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { isConnectionError } from './db.ts';
import { migrate } from './migrate.ts';
import { INDEXER_GROUP, indexBacklog, outcomeKeys } from './outcomes.ts';
import { upsertDocuments } from './write.ts';

export interface IndexerOptions {
  /** A connection of its own: the indexer blocks on it (XREADGROUP BLOCK). It is closed by stop(). */
  redis: Redis;
  pool: Pool;
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  /** INDEX_STREAM_MAX_ENTRIES: the backlog warning fires at 80 % of it. */
  maxEntries: number;
  logger: Logger;
  /** Entries per read and per Postgres transaction. Default 200. */
  batchSize?: number;
  /** How long one read waits for new entries, ms. Default 1000. */
  blockMs?: number;
  /** Entries pending this long with another (dead) consumer are taken over, ms. Default 60000. */
  claimIdleMs?: number;
  /** Backoff after a Postgres or Redis failure: starts here, doubles up to maxBackoffMs. Default 500. */
  backoffMs?: number;
  /** Default 15000. */
  maxBackoffMs?: number;
  /** This consumer's name in the group. Default `<hostname>-<pid>`. */
  consumer?: string;
  /**
   * Apply the migrations before the first batch (retried like any Postgres failure, so a worker starts and
   * classifies while Postgres is down). Default true.
   */
  migrate?: boolean;
}

export interface Indexer {
  /** Resolves once the group exists; the loop runs in the background until stop(). */
  start(): Promise<void>;
  /** Ends the loop after its current batch and closes the indexer's Redis connection. Idempotent. */
  stop(): Promise<void>;
  /** Entries indexed (acknowledged) since start. */
  readonly indexed: number;
}

type StreamEntries = [id: string, fields: string[]][];
type ReadReply = [stream: string, entries: StreamEntries][] | null;

export function createIndexer(options: IndexerOptions): Indexer {
  const { redis, pool, logger } = options;
  const keys = outcomeKeys(options.keyPrefix);
  const batchSize = options.batchSize ?? 200;
  const blockMs = options.blockMs ?? 1000;
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  const consumer = options.consumer ?? `${hostname()}-${process.pid}`;
  const log = logger.child({ role: 'indexer', consumer });
  let running = false;
  let loop: Promise<void> | undefined;
  let indexed = 0;
  let wake: (() => void) | undefined;
  let lastClaim = 0;
  let lastBacklogCheck = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function ensureGroup(): Promise<void> {
    try {
      // From the stream's beginning: outcomes appended before the first indexer ran are indexed too.
      await redis.xgroup('CREATE', keys.stream, INDEXER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** Our own pending entries first (a failed batch is retried before new ones), then new ones. */
  async function read(pendingFirst: boolean): Promise<StreamEntries> {
    const reply = (await redis.call(
      'XREADGROUP',
      'GROUP',
      INDEXER_GROUP,
      consumer,
      'COUNT',
      batchSize,
      ...(pendingFirst ? [] : ['BLOCK', blockMs]),
      'STREAMS',
      keys.stream,
      pendingFirst ? '0' : '>',
    )) as ReadReply;
    return reply?.[0]?.[1] ?? [];
  }

  /** Entries a dead consumer left pending past claimIdleMs become ours. */
  async function claim(): Promise<StreamEntries> {
    const reply = (await redis.xautoclaim(
      keys.stream,
      INDEXER_GROUP,
      consumer,
      claimIdleMs,
      '0',
      'COUNT',
      batchSize,
    )) as [string, StreamEntries, string[]?];
    return reply[1].filter((e) => e[1] !== null);
  }

  function parse(entries: StreamEntries): { docs: StoredDocument[]; poison: string[] } {
    const docs: StoredDocument[] = [];
    const poison: string[] = [];
    for (const [id, fields] of entries) {
      const raw = fields[fields.indexOf('doc') + 1];
      try {
        const doc = readStoredDocument(JSON.parse(raw ?? 'null'));
        if (doc === undefined) throw new Error('empty entry');
        docs.push(doc);
      } catch (err) {
        // Unreadable forever: acknowledged so it does not block the stream; reindex reads S3 instead.
        log.error({ entryId: id, err }, 'outcome entry is not a readable document; skipped');
        poison.push(id);
      }
    }
    return { docs, poison };
  }

  /** Acknowledges and trims everything below the oldest entry still pending for any consumer. */
  async function acknowledge(ids: string[]): Promise<void> {
    if (ids.length > 0) await redis.xack(keys.stream, INDEXER_GROUP, ...ids);
    const summary = (await redis.xpending(keys.stream, INDEXER_GROUP)) as [
      number,
      string | null,
      ...unknown[],
    ];
    let minId: string;
    if (summary[0] > 0 && summary[1] !== null) minId = summary[1];
    else {
      const info = (await redis.xinfo('GROUPS', keys.stream)) as unknown[][];
      const group = info.find((g) => g[g.indexOf('name') + 1] === INDEXER_GROUP);
      const last = group === undefined ? undefined : String(group[group.indexOf('last-delivered-id') + 1]);
      if (last === undefined || last === '0-0') return;
      const [ms, seq] = last.split('-');
      minId = `${ms}-${Number(seq) + 1}`;
    }
    await redis.xtrim(keys.stream, 'MINID', minId);
  }

  async function handle(entries: StreamEntries): Promise<void> {
    const { docs, poison } = parse(entries);
    try {
      await upsertDocuments(pool, docs);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      // Postgres refused the batch for what is in it: one document at a time, so one bad document (acknowledged
      // and logged; reindex can retry it once fixed) does not hold back the rest.
      for (const doc of docs) {
        try {
          await upsertDocuments(pool, [doc]);
        } catch (one) {
          if (isConnectionError(one)) throw one;
          log.error(
            { imageId: doc.id, tenant: doc.tenant, err: one },
            'Postgres refused this outcome; skipped',
          );
        }
      }
    }
    await acknowledge([...entries.map(([id]) => id)]);
    indexed += docs.length;
    if (poison.length > 0) log.warn({ skipped: poison.length }, 'skipped unreadable outcome entries');
    log.debug({ indexed: docs.length }, 'indexed outcomes');
  }

  async function checkBacklog(): Promise<void> {
    if (Date.now() - lastBacklogCheck < 30_000) return;
    lastBacklogCheck = Date.now();
    const backlog = await indexBacklog(redis, options.keyPrefix, options.maxEntries);
    if (backlog.overflowed > 0)
      log.error(
        backlog,
        'the index stream overflowed: outcomes are missing from the index until `labelq reindex`',
      );
    else if (backlog.entries >= 0.8 * options.maxEntries)
      log.warn(backlog, 'the index backlog is above 80 % of INDEX_STREAM_MAX_ENTRIES');
  }

  async function run(): Promise<void> {
    let pendingFirst = true;
    let backoff = options.backoffMs ?? 500;
    let migrated = options.migrate === false;
    while (running) {
      try {
        if (!migrated) {
          const applied = await migrate(pool);
          if (applied.length > 0) log.info({ applied }, 'index migrations applied');
          migrated = true;
        }
        let entries = await read(pendingFirst);
        if (pendingFirst && entries.length === 0) {
          pendingFirst = false;
          if (Date.now() - lastClaim > claimIdleMs / 2) {
            lastClaim = Date.now();
            entries = await claim();
          }
          if (entries.length === 0) continue;
        }
        if (entries.length > 0) await handle(entries);
        await checkBacklog();
        backoff = options.backoffMs ?? 500;
        if (entries.length === 0 && !pendingFirst) pendingFirst = true; // an idle moment: look at pending again
      } catch (err) {
        if (!running) break;
        pendingFirst = true;
        const down = isConnectionError(err) || (err as { code?: string }).code === 'index_unavailable';
        log[down ? 'warn' : 'error'](
          { err: (err as Error).message, retryInMs: backoff },
          down ? 'index store unreachable; outcomes stay queued' : 'indexing failed; retrying',
        );
        await sleep(backoff);
        backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 15_000);
      }
    }
  }

  return {
    get indexed() {
      return indexed;
    },
    async start() {
      await ensureGroup();
      running = true;
      loop = run();
      log.info({ stream: keys.stream }, 'indexer started');
    },
    async stop() {
      if (!running && loop === undefined) return;
      running = false;
      wake?.();
      // A blocked XREADGROUP returns within blockMs; disconnect to end it at once.
      redis.disconnect();
      await loop?.catch(() => undefined);
      loop = undefined;
    },
  };
}

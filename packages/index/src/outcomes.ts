// The durable outcome stream between workers and the indexer: a Redis stream with one consumer group.
//
// Why a stream: the worker's outcome must survive a Postgres outage (and an indexer crash) without slowing or
// failing classification. XADD is one Redis round trip on the connection the worker already has; the consumer
// group tracks what each indexer read, entries stay pending until XACK after the Postgres commit, and a dead
// indexer's pending entries are claimed by another (XAUTOCLAIM).
//
// Why bounded by refusing appends instead of MAXLEN trimming: `XADD MAXLEN` trims the oldest entries whether or
// not they were indexed, silently losing exactly the backlog an outage builds. Here only the indexer trims, and
// only entries every consumer acknowledged (XTRIM MINID below the oldest pending one). When the stream reaches
// INDEX_STREAM_MAX_ENTRIES (Postgres down for long), workers stop appending, count the refused outcomes and
// record when that began: `labelq index status` and the indexer's error log say so, and `labelq reindex`
// rebuilds from S3 (the source of truth), so nothing is lost for good and Redis memory stays bounded.
import type { StoredDocument } from '@labelq/contracts';
import type { Redis } from 'ioredis';

/** Redis keys of the index stream under REDIS_KEY_PREFIX. */
export function outcomeKeys(keyPrefix: string): { stream: string; state: string } {
  return { stream: `${keyPrefix}:index:outcomes`, state: `${keyPrefix}:index:state` };
}

/** The consumer group every indexer reads with. */
export const INDEXER_GROUP = 'indexer';

const APPEND = `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], 'overflowed', 1)
  redis.call('HSETNX', KEYS[2], 'overflowSince', ARGV[3])
  return 0
end
redis.call('XADD', KEYS[1], '*', 'doc', ARGV[2])
return 1`;

export interface OutcomeRecorderOptions {
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  /** INDEX_STREAM_MAX_ENTRIES. */
  maxEntries: number;
  /** Longest an append may take before the worker moves on, ms. Default 2000. */
  timeoutMs?: number;
  /** Told about appends that failed or were refused. */
  onProblem?: (problem: { reason: 'overflow' | 'error'; imageId: string; error?: unknown }) => void;
}

/** What a worker calls with each final document. Never rejects: indexing must not fail classification. */
export interface OutcomeRecorder {
  record(doc: StoredDocument): Promise<'appended' | 'overflow' | 'error'>;
}

export function createOutcomeRecorder(redis: Redis, options: OutcomeRecorderOptions): OutcomeRecorder {
  const keys = outcomeKeys(options.keyPrefix);
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    async record(doc) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const appended = await Promise.race([
          redis.eval(
            APPEND,
            2,
            keys.stream,
            keys.state,
            options.maxEntries,
            JSON.stringify(doc),
            new Date().toISOString(),
          ),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`the append took longer than ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
        if (appended === 1) return 'appended';
        options.onProblem?.({ reason: 'overflow', imageId: doc.id });
        return 'overflow';
      } catch (error) {
        options.onProblem?.({ reason: 'error', imageId: doc.id, error });
        return 'error';
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The backlog between workers and the index: what an operator (or a metric) watches. */
export interface IndexBacklog {
  /** Entries in the stream: not yet read, or read but not yet acknowledged and trimmed. */
  entries: number;
  /** Read by an indexer but not yet acknowledged (in flight, or waiting for Postgres). */
  pending: number;
  /** Not yet read by any indexer (null before the first indexer created the group). */
  lag: number | null;
  /** INDEX_STREAM_MAX_ENTRIES. */
  maxEntries: number;
  /** Outcomes refused because the stream was full since the last reindex: the index misses them until then. */
  overflowed: number;
  /** When the first refused outcome was (ISO), if any. */
  overflowSince: string | null;
}

export async function indexBacklog(
  redis: Redis,
  keyPrefix: string,
  maxEntries: number,
): Promise<IndexBacklog> {
  const keys = outcomeKeys(keyPrefix);
  const [entries, state, groups] = await Promise.all([
    redis.xlen(keys.stream),
    redis.hgetall(keys.state),
    (redis.xinfo('GROUPS', keys.stream) as Promise<unknown[]>).catch(() => [] as unknown[]),
  ]);
  let pending = 0;
  let lag: number | null = null;
  for (const g of groups) {
    const fields = g as unknown[];
    const get = (name: string): unknown => fields[fields.indexOf(name) + 1];
    if (get('name') !== INDEXER_GROUP) continue;
    pending = Number(get('pending') ?? 0);
    const l = get('lag');
    lag = l === null || l === undefined ? null : Number(l);
  }
  return {
    entries,
    pending,
    lag,
    maxEntries,
    overflowed: Number(state.overflowed ?? 0),
    overflowSince: state.overflowSince ?? null,
  };
}

/** After a full reindex: the refused outcomes are in the index again. */
export async function clearOverflow(redis: Redis, keyPrefix: string): Promise<void> {
  await redis.hdel(outcomeKeys(keyPrefix).state, 'overflowed', 'overflowSince');
}

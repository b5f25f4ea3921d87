import {
  BATCH_SCHEMA_VERSION,
  type Batch,
  type BatchCreateRequest,
  type BatchStatus,
  type SkipReason,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { Redis } from 'ioredis';
import { batchKeys, tenantIndexKey, type BatchKeys } from './keys.ts';
import { inFlight } from './window.ts';

/** What a batch was asked to do (fixed at creation). */
export type BatchSpec = Required<Pick<BatchCreateRequest, 'source' | 'purpose' | 'mode' | 'dryRun'>> &
  Pick<BatchCreateRequest, 'filter' | 'metadata'> & {
    models: string[];
    /** The API key's own bucket list, when it has one (S3_ALLOWED_BUCKETS applies too). */
    allowedBuckets?: string[];
  };

/** A batch as its Redis hash holds it. */
export interface BatchState {
  id: string;
  tenant: string;
  spec: BatchSpec;
  status: BatchStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
  report?: { bucket: string; summaryKey: string; failuresKey: string };
  discovered: number;
  skipped: number;
  queued: number;
  completed: number;
  failed: number;
  failedListing: number;
  /** Item pages written to S3 so far; the next page's number. */
  pages: number;
  /** The next ordinal the lister gives. */
  nextOrdinal: number;
  /** Where listing goes on: the ListObjectsV2 continuation token, or the manifest byte offset. */
  listCursor: string;
  listDone: boolean;
  /** The page and index within it of the next item to queue. */
  enqPage: number;
  enqIndex: number;
  /** Set by retry-failed: a pass over the pages queues the items in the retry bitmap again. */
  retrying: boolean;
  retryPage: number;
  retryIndex: number;
  /** Incremented at every (re)start: names the control job. */
  gen: number;
}

const num = (v: string | undefined): number => (v === undefined ? 0 : Number(v));

function parseState(id: string, h: Record<string, string>): BatchState | undefined {
  if (h.tenant === undefined || h.spec === undefined) return undefined;
  return {
    id,
    tenant: h.tenant,
    spec: JSON.parse(h.spec) as BatchSpec,
    status: h.status as BatchStatus,
    createdAt: h.createdAt!,
    ...(h.startedAt ? { startedAt: h.startedAt } : {}),
    ...(h.finishedAt ? { finishedAt: h.finishedAt } : {}),
    ...(h.error ? { error: JSON.parse(h.error) as { code: string; message: string } } : {}),
    ...(h.report ? { report: JSON.parse(h.report) as BatchState['report'] & object } : {}),
    discovered: num(h.discovered),
    skipped: num(h.skipped),
    queued: num(h.queued),
    completed: num(h.completed),
    failed: num(h.failed),
    failedListing: num(h.failedListing),
    pages: num(h.pages),
    nextOrdinal: num(h.nextOrdinal),
    listCursor: h.listCursor ?? '',
    listDone: h.listDone === '1',
    enqPage: num(h.enqPage),
    enqIndex: num(h.enqIndex),
    retrying: h.retrying === '1',
    retryPage: num(h.retryPage),
    retryIndex: num(h.retryIndex),
    gen: num(h.gen),
  };
}

/**
 * Records one item's outcome, once: the done/fail bitmaps (one bit per ordinal) make a redelivered job (a worker
 * killed after its write-back) count once. A completed item that had failed before (a retry) is not possible
 * here: retry-failed moves the fail bits to the retry bitmap first. KEYS: hash, done, fail, codes. ARGV:
 * ordinal, completed|failed, code, changes channel. Returns 1 when counted, 0 when already counted, -1 for no such batch.
 */
const RECORD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[2] == 'completed' then
  if redis.call('GETBIT', KEYS[3], ARGV[1]) == 1 then return 0 end
  if redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 1 then return 0 end
  redis.call('HINCRBY', KEYS[1], 'completed', 1)
  redis.call('PUBLISH', ARGV[4], 'progress')
  return 1
end
if redis.call('GETBIT', KEYS[2], ARGV[1]) == 1 then return 0 end
if redis.call('SETBIT', KEYS[3], ARGV[1], 1) == 1 then return 0 end
redis.call('HINCRBY', KEYS[1], 'failed', 1)
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
redis.call('PUBLISH', ARGV[4], 'progress')
return 1
`;

/**
 * Status changes, atomic against concurrent requests and the runner. KEYS: hash, fail, retry, codes, listcodes.
 * ARGV: action, now, changes channel (announced on success). Returns the new status, or `conflict:<status>`, or `missing`.
 */
const TRANSITION = `
local function transition()
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
local a = ARGV[1]
local active = (st == 'listing' or st == 'running')
if a == 'pause' then
  if not active then return 'conflict:' .. st end
  redis.call('HSET', KEYS[1], 'status', 'paused')
  return 'paused'
end
if a == 'cancel' then
  if not (active or st == 'paused') then return 'conflict:' .. st end
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[2])
  return 'cancelled'
end
local nextStatus = 'running'
if redis.call('HGET', KEYS[1], 'listDone') ~= '1' then nextStatus = 'listing' end
if a == 'resume' then
  if st ~= 'paused' then return 'conflict:' .. st end
  redis.call('HSET', KEYS[1], 'status', nextStatus)
  redis.call('HINCRBY', KEYS[1], 'gen', 1)
  return nextStatus
end
if a == 'retry' then
  if st ~= 'completed' and st ~= 'cancelled' then return 'conflict:' .. st end
  local failed = tonumber(redis.call('HGET', KEYS[1], 'failed') or '0')
  local listing = tonumber(redis.call('HGET', KEYS[1], 'failedListing') or '0')
  if failed - listing <= 0 then return 'conflict:nothing-failed' end
  redis.call('RENAME', KEYS[2], KEYS[3])
  redis.call('HINCRBY', KEYS[1], 'queued', -(failed - listing))
  redis.call('HSET', KEYS[1], 'failed', listing, 'retrying', '1', 'retryPage', '0', 'retryIndex', '0', 'status', nextStatus)
  redis.call('HDEL', KEYS[1], 'finishedAt', 'report')
  redis.call('DEL', KEYS[4])
  local kept = redis.call('HGETALL', KEYS[5])
  if #kept > 0 then redis.call('HSET', KEYS[4], unpack(kept)) end
  redis.call('HINCRBY', KEYS[1], 'gen', 1)
  return nextStatus
end
return 'conflict:' .. st
end
local out = transition()
if out ~= 'missing' and string.sub(out, 1, 9) ~= 'conflict:' then redis.call('PUBLISH', ARGV[3], 'status') end
return out
`;

export type BatchAction = 'pause' | 'resume' | 'cancel' | 'retry';

/** Rate and ETA of a batch at `now`. */
export function progressRate(
  s: BatchState,
  now: number,
): { imagesPerSecond: number; etaSeconds: number | null } {
  const finished = s.completed + s.failed - s.failedListing;
  const start = s.startedAt !== undefined ? Date.parse(s.startedAt) : undefined;
  const end = s.finishedAt !== undefined ? Date.parse(s.finishedAt) : now;
  if (start === undefined || finished === 0 || end <= start) {
    return { imagesPerSecond: 0, etaSeconds: s.status === 'completed' ? 0 : null };
  }
  const rate = finished / ((end - start) / 1000);
  const imagesPerSecond = Math.round(rate * 100) / 100;
  if (s.status === 'completed' || s.status === 'cancelled' || s.status === 'failed') {
    return { imagesPerSecond, etaSeconds: 0 };
  }
  // Still listing: the total is unknown, so the ETA covers what is known (queued and in flight).
  const remaining = inFlight(s);
  return { imagesPerSecond, etaSeconds: Math.round(remaining / rate) };
}

/** The batches of every tenant in one Redis: hashes, bitmaps and a per-tenant index (see keys.ts). */
export class BatchStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  keys(id: string): BatchKeys {
    return batchKeys(this.prefix, id);
  }

  async create(id: string, tenant: string, spec: BatchSpec, now = new Date()): Promise<BatchState> {
    const k = this.keys(id);
    await this.redis
      .multi()
      .hset(k.hash, {
        tenant,
        spec: JSON.stringify(spec),
        status: 'listing',
        createdAt: now.toISOString(),
        gen: 1,
      })
      .zadd(tenantIndexKey(this.prefix, tenant), now.getTime(), id)
      .exec();
    return (await this.read(id))!;
  }

  async read(id: string): Promise<BatchState | undefined> {
    return parseState(id, await this.redis.hgetall(this.keys(id).hash));
  }

  /** The tenant's batch, else `not_found` (another tenant's batch is not found either). */
  async readOwned(tenant: string, id: string): Promise<BatchState> {
    const s = await this.read(id);
    if (s === undefined || s.tenant !== tenant) {
      throw new LabelqError('not_found', `No batch ${id}`, { details: { id } });
    }
    return s;
  }

  async view(s: BatchState, now = Date.now()): Promise<Batch> {
    const k = this.keys(s.id);
    const [codes, skips] = await Promise.all([this.redis.hgetall(k.codes), this.redis.hgetall(k.skips)]);
    const toCounts = (h: Record<string, string>): Record<string, number> =>
      Object.fromEntries(
        Object.entries(h)
          .map(([c, n]): [string, number] => [c, Number(n)])
          .filter(([, n]) => n !== 0),
      );
    return {
      v: BATCH_SCHEMA_VERSION,
      id: s.id,
      tenant: s.tenant,
      status: s.status,
      source: s.spec.source,
      models: s.spec.models,
      purpose: s.spec.purpose,
      mode: s.spec.mode,
      ...(s.spec.filter !== undefined ? { filter: s.spec.filter } : {}),
      dryRun: s.spec.dryRun,
      ...(s.spec.metadata !== undefined ? { metadata: s.spec.metadata } : {}),
      counts: {
        discovered: s.discovered,
        skipped: s.skipped,
        queued: s.queued,
        completed: s.completed,
        failed: s.failed,
      },
      failedByCode: toCounts(codes),
      skippedByReason: toCounts(skips),
      ...progressRate(s, now),
      createdAt: s.createdAt,
      ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}),
      ...(s.error !== undefined ? { error: s.error } : {}),
      ...(s.report !== undefined ? { report: s.report } : {}),
      links: { self: `/v1/batches/${s.id}`, results: `/v1/batches/${s.id}/results` },
    };
  }

  /** The tenant's batches, newest first. */
  async list(tenant: string, limit = 100): Promise<BatchState[]> {
    const ids = await this.redis.zrevrange(tenantIndexKey(this.prefix, tenant), 0, limit - 1);
    const states = await Promise.all(ids.map((id) => this.read(id)));
    return states.filter((s): s is BatchState => s !== undefined);
  }

  /** Pause, resume, cancel or retry-failed; `batch_state_conflict` (409) when the status does not allow it. */
  async transition(id: string, action: BatchAction, now = new Date()): Promise<BatchStatus> {
    const k = this.keys(id);
    const out = (await this.redis.eval(
      TRANSITION,
      5,
      k.hash,
      k.fail,
      k.retry,
      k.codes,
      k.listCodes,
      action,
      now.toISOString(),
      k.changes,
    )) as string;
    if (out === 'missing') throw new LabelqError('not_found', `No batch ${id}`, { details: { id } });
    if (out.startsWith('conflict:')) {
      const why = out.slice('conflict:'.length);
      throw new LabelqError(
        'batch_state_conflict',
        why === 'nothing-failed'
          ? `Batch ${id} has no failed items to retry`
          : `Batch ${id} is ${why}: it cannot ${action === 'retry' ? 'retry failed items' : action}`,
        { details: { id, status: why, action } },
      );
    }
    return out as BatchStatus;
  }

  /** See RECORD. True when this call counted the outcome. */
  async recordOutcome(
    id: string,
    ordinal: number,
    outcome: { status: 'completed' } | { status: 'failed'; code: string },
  ): Promise<boolean> {
    const k = this.keys(id);
    const r = (await this.redis.eval(
      RECORD,
      4,
      k.hash,
      k.done,
      k.fail,
      k.codes,
      ordinal,
      outcome.status,
      outcome.status === 'failed' ? outcome.code : '',
      k.changes,
    )) as number;
    return r === 1;
  }

  /** Bits of `ordinals` in the done, fail and retry bitmaps (one pipeline). */
  async bits(
    id: string,
    ordinals: readonly number[],
  ): Promise<{ done: boolean; fail: boolean; retry: boolean }[]> {
    if (ordinals.length === 0) return [];
    const k = this.keys(id);
    const p = this.redis.pipeline();
    for (const o of ordinals) p.getbit(k.done, o).getbit(k.fail, o).getbit(k.retry, o);
    const res = (await p.exec()) ?? [];
    return ordinals.map((_, i) => ({
      done: res[i * 3]?.[1] === 1,
      fail: res[i * 3 + 1]?.[1] === 1,
      retry: res[i * 3 + 2]?.[1] === 1,
    }));
  }

  /**
   * Commits one listed page, all or nothing: the cursor moves on and the counts grow together, so a lister
   * killed before this re-lists the same page (same ordinals, same S3 page key) and one killed after it
   * resumes from the next.
   */
  async commitPage(
    id: string,
    page: {
      n: number;
      items: number;
      skipped: Partial<Record<SkipReason, number>>;
      /** Entries that failed at listing (bad manifest lines, refused buckets), per code. */
      failedByCode: Record<string, number>;
      wouldQueue: number;
      cursor: string;
      done: boolean;
      dryRun: boolean;
    },
  ): Promise<void> {
    const k = this.keys(id);
    const skippedTotal = Object.values(page.skipped).reduce((a, b) => a + (b ?? 0), 0);
    const failedLines = Object.values(page.failedByCode).reduce((a, b) => a + b, 0);
    const m = this.redis
      .multi()
      .hset(k.hash, { pages: page.n + 1, listCursor: page.cursor, listDone: page.done ? '1' : '0' })
      .hincrby(k.hash, 'nextOrdinal', page.items)
      .hincrby(k.hash, 'discovered', page.items)
      .hincrby(k.hash, 'skipped', skippedTotal)
      .hincrby(k.hash, 'failed', failedLines)
      .hincrby(k.hash, 'failedListing', failedLines);
    for (const [reason, n] of Object.entries(page.skipped)) if (n) m.hincrby(k.skips, reason, n);
    for (const [code, n] of Object.entries(page.failedByCode))
      m.hincrby(k.codes, code, n).hincrby(k.listCodes, code, n);
    if (page.done) m.hset(k.hash, { listedAt: new Date().toISOString() });
    if (page.dryRun)
      m.hincrby(k.hash, 'queued', page.wouldQueue).hset(k.hash, { enqPage: page.n + 1, enqIndex: 0 });
    await m.publish(k.changes, 'progress').exec();
  }

  /** Moves the enqueue (or retry) cursor and counts the jobs just queued, together. */
  async commitEnqueue(
    id: string,
    cursor: { field: 'enq' | 'retry'; page: number; index: number },
    queued: number,
  ): Promise<void> {
    const k = this.keys(id);
    await this.redis
      .multi()
      .hset(k.hash, { [`${cursor.field}Page`]: cursor.page, [`${cursor.field}Index`]: cursor.index })
      .hincrby(k.hash, 'queued', queued)
      .publish(k.changes, 'progress')
      .exec();
  }

  /** A batch whose listing finished is `running`; announced like every status change. */
  async markRunning(id: string): Promise<void> {
    const k = this.keys(id);
    await this.redis.multi().hset(k.hash, 'status', 'running').publish(k.changes, 'status').exec();
  }

  async set(id: string, fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.keys(id).hash, fields);
  }

  /**
   * Ends a batch that is still listing or running (not one a user paused or cancelled meanwhile). Returns
   * whether this call ended it.
   */
  async finish(
    id: string,
    status: 'completed' | 'failed',
    extra: { error?: { code: string; message: string }; report?: BatchState['report'] },
    now = new Date(),
  ): Promise<boolean> {
    const fields: string[] = ['status', status, 'finishedAt', now.toISOString(), 'retrying', '0'];
    if (extra.error) fields.push('error', JSON.stringify(extra.error));
    if (extra.report) fields.push('report', JSON.stringify(extra.report));
    const r = (await this.redis.eval(
      `local st = redis.call('HGET', KEYS[1], 'status')
       if st ~= 'listing' and st ~= 'running' then return 0 end
       redis.call('HSET', KEYS[1], unpack(ARGV, 2))
       redis.call('DEL', KEYS[2])
       redis.call('PUBLISH', ARGV[1], 'status')
       return 1`,
      2,
      this.keys(id).hash,
      this.keys(id).retry,
      this.keys(id).changes,
      ...fields,
    )) as number;
    return r === 1;
  }

  /** Deletes every key of a batch (tests and cleanup). */
  async purge(id: string, tenant: string): Promise<void> {
    const k = this.keys(id);
    await this.redis.del(k.hash, k.done, k.fail, k.retry, k.codes, k.listCodes, k.skips, k.lease);
    await this.redis.zrem(tenantIndexKey(this.prefix, tenant), id);
  }
}

export { inFlight };

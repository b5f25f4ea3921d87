import type { ModerationReason, ResultDocument, ReviewDecision } from '@labelq/contracts';
import type { Redis } from 'ioredis';

/** What the queue keeps per image (the rest is in the result document). */
export interface ReviewEntry {
  id: string;
  bucket: string;
  key: string;
  reasons: ModerationReason[];
  policy: string;
  /** ISO time the model decided `review`. */
  queuedAt: string;
  decision?: ReviewDecision;
  decidedBy?: string;
  decidedAt?: string;
}

export type ReviewStatus = 'pending' | 'decided';

/**
 * True when `doc` is or was in its tenant's review queue: the model sent it to review and no person decided
 * yet (pending), or a person decided it (decided). The same rule {@link ReviewQueue.sync} and
 * {@link ReviewQueue.decided} file by, read from the document (the record), so a reviewer's access follows the
 * queue without a Redis read. A result re-decided out of review before anyone decided it is in neither.
 */
export function inReviewQueue(doc: Pick<ResultDocument, 'moderation' | 'review'>): boolean {
  return doc.review !== undefined || doc.moderation?.decision === 'review';
}

/**
 * Takes an image out of pending and drops its entry, only when it was pending: one command for the common case
 * (a result that never was in review: nothing to do), atomic, and an image a person decided keeps its entry.
 */
const LEAVE_PENDING = `if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 0`;
/** LEAVE_PENDING as an ioredis command: EVALSHA, so every completed image does not send the script's text. */
const LEAVE_PENDING_COMMAND = 'labelqReviewLeavePending';
type WithLeavePending = Record<
  typeof LEAVE_PENDING_COMMAND,
  (pending: string, entries: string, id: string) => Promise<unknown>
>;

/**
 * The review queue per tenant in Redis: a sorted set of pending image ids (score: when the model decided,
 * so lists come oldest first), one of decided ids, and a hash of entries. The result document stays the
 * record; this is the index that lets `GET /v1/reviews` list without reading S3.
 */
export class ReviewQueue {
  readonly #redis: Redis;
  readonly #p: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#p = `${prefix}:review`;
    if (!(LEAVE_PENDING_COMMAND in redis))
      redis.defineCommand(LEAVE_PENDING_COMMAND, { numberOfKeys: 2, lua: LEAVE_PENDING });
  }

  #set(tenant: string, status: ReviewStatus): string {
    return `${this.#p}:${status}:${tenant}`;
  }
  #entries(tenant: string): string {
    return `${this.#p}:entries:${tenant}`;
  }
  #claim(tenant: string, id: string): string {
    return `${this.#p}:claim:${tenant}:${id}`;
  }

  /**
   * Files a completed result whose decision is `review` and that no person decided yet (idempotent: a re-run
   * files it once, at its first time). Anything else leaves pending: a re-decision to allow/block, and a fresh
   * result replacing one that was in review (a forced re-run, the source object overwritten), which the new
   * document cannot tell from one never in review; so every other result costs one script call (no MULTI).
   */
  async sync(tenant: string, doc: ResultDocument): Promise<void> {
    const pending = this.#set(tenant, 'pending');
    if (doc.moderation?.decision === 'review' && doc.review === undefined) {
      const entry: ReviewEntry = {
        id: doc.id,
        bucket: doc.source.bucket,
        key: doc.source.key,
        reasons: doc.moderation.reasons,
        policy: doc.moderation.policy,
        queuedAt: doc.timings.finishedAt,
      };
      await this.#redis
        .multi()
        .zadd(pending, 'NX', Date.parse(doc.timings.finishedAt) || Date.now(), doc.id)
        .hset(this.#entries(tenant), doc.id, JSON.stringify(entry))
        .exec();
    } else if (doc.review === undefined) {
      await (this.#redis as unknown as WithLeavePending)[LEAVE_PENDING_COMMAND](
        pending,
        this.#entries(tenant),
        doc.id,
      );
    }
  }

  /**
   * Holds the right to record a decision on `id` for `ttlMs` (true when this caller got it): two reviewers
   * deciding at once would otherwise both read an undecided document and the later write would silently replace
   * the earlier decision. Released with {@link release}; the TTL frees it if the holder dies.
   */
  async claim(tenant: string, id: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#claim(tenant, id), holder, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Gives up a claim, only if `holder` still has it (one that outlived its TTL may be another's now). */
  async release(tenant: string, id: string, holder: string): Promise<void> {
    await this.#redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0`,
      1,
      this.#claim(tenant, id),
      holder,
    );
  }

  /** Records a person's decision: the image leaves pending and joins decided. */
  async decided(tenant: string, doc: ResultDocument): Promise<void> {
    if (doc.review === undefined || doc.moderation === undefined) return;
    const entry: ReviewEntry = {
      id: doc.id,
      bucket: doc.source.bucket,
      key: doc.source.key,
      reasons: doc.moderation.reasons,
      policy: doc.moderation.policy,
      queuedAt: doc.timings.finishedAt,
      decision: doc.review.decision,
      decidedBy: doc.review.by,
      decidedAt: doc.review.at,
    };
    await this.#redis
      .multi()
      .zrem(this.#set(tenant, 'pending'), doc.id)
      .zadd(this.#set(tenant, 'decided'), Date.parse(doc.review.at), doc.id)
      .hset(this.#entries(tenant), doc.id, JSON.stringify(entry))
      .exec();
  }

  /** Entries oldest first (pending: by model decision; decided: by human decision), after `cursor` (an id). */
  async list(
    tenant: string,
    status: ReviewStatus,
    limit: number,
    after?: string,
  ): Promise<{ items: ReviewEntry[]; next?: string }> {
    const set = this.#set(tenant, status);
    let start = 0;
    if (after !== undefined) {
      const rank = await this.#redis.zrank(set, after);
      start = rank === null ? 0 : rank + 1;
    }
    const ids = await this.#redis.zrange(set, start, start + limit);
    const page = ids.slice(0, limit);
    const rows = page.length > 0 ? await this.#redis.hmget(this.#entries(tenant), ...page) : [];
    const items = rows.flatMap((r) => (r === null ? [] : [JSON.parse(r) as ReviewEntry]));
    return { items, ...(ids.length > limit ? { next: page[page.length - 1]! } : {}) };
  }

  async pendingCount(tenant: string): Promise<number> {
    return this.#redis.zcard(this.#set(tenant, 'pending'));
  }
}

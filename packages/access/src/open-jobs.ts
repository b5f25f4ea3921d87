import type { Redis } from 'ioredis';

/**
 * Adds ids to a tenant's set of open jobs unless that would take it past the cap; all or nothing, atomic
 * across API replicas. KEYS[1] the set; ARGV[1] the cap, ARGV[2..] the ids. Returns the open count after
 * (added) or -(open count) when refused.
 */
const RESERVE = `
local fresh = 0
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then fresh = fresh + 1 end
end
local open = redis.call('SCARD', KEYS[1])
if open + fresh > tonumber(ARGV[1]) then return -open end
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
return open + fresh
`;

/**
 * Each tenant's jobs that are queued or running, to cap them (TENANT_MAX_OPEN_JOBS): the API reserves ids as it
 * queues them, the worker releases an id when its job ends (completed, or failed for good). A set, so a retried
 * reservation or a redelivered job counts once.
 */
export class OpenJobs {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private setKey(tenant: string): string {
    return `${this.prefix}:open-jobs:${tenant}`;
  }

  /** Reserves `ids` for `tenant`; false (nothing reserved) when the cap would be passed. */
  async reserve(tenant: string, ids: readonly string[], cap: number): Promise<boolean> {
    if (ids.length === 0) return true;
    const result = (await this.redis.eval(RESERVE, 1, this.setKey(tenant), cap, ...ids)) as number;
    return result >= 0;
  }

  /** Releases a finished job's id. */
  async release(tenant: string, id: string): Promise<void> {
    await this.redis.srem(this.setKey(tenant), id);
  }

  async count(tenant: string): Promise<number> {
    return this.redis.scard(this.setKey(tenant));
  }
}

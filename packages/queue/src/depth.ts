import type { Redis } from 'ioredis';
import { DEPTH_SAMPLE, purposeSchema, type Purpose, type QueueDepth } from '@labelq/contracts';
import type { Queue } from 'bullmq';
import { PRIORITY } from './job.ts';

/**
 * One round trip, one consistent snapshot: the exact size of every state BullMQ keeps unfinished work in, and
 * per priority the prioritized count, the submission time of the job at the front of its line, and the
 * delayed and active jobs among the first ARGV[1] of each (their priority read from the job hash). BullMQ
 * scores a prioritized job `priority * 2^32 + counter`, so a priority's jobs are one score range, oldest first.
 *
 * KEYS: wait, paused, meta, prioritized, delayed, active. ARGV: sample size, job key prefix, priorities...
 */
const DEPTH_SCRIPT = `
local cap = tonumber(ARGV[1])
local jobPrefix = ARGV[2]
local band = 4294967296
local out = {
  redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]),
  redis.call('ZCARD', KEYS[4]),
  redis.call('ZCARD', KEYS[5]),
  redis.call('LLEN', KEYS[6]),
  redis.call('HEXISTS', KEYS[3], 'paused'),
}
local function byPriority(ids)
  local t = {}
  for _, id in ipairs(ids) do
    local p = tostring(tonumber(redis.call('HGET', jobPrefix .. id, 'priority') or '0') or 0)
    t[p] = (t[p] or 0) + 1
  end
  return t
end
local delayedIds = redis.call('ZRANGE', KEYS[5], 0, cap - 1)
local activeIds = redis.call('LRANGE', KEYS[6], 0, cap - 1)
local delayed = byPriority(delayedIds)
local active = byPriority(activeIds)
out[#out + 1] = #delayedIds
out[#out + 1] = #activeIds
for i = 3, #ARGV do
  local p = tonumber(ARGV[i])
  local key = tostring(p)
  local lo = p * band
  local hi = (p + 1) * band - 1
  out[#out + 1] = redis.call('ZCOUNT', KEYS[4], lo, hi)
  local first = redis.call('ZRANGEBYSCORE', KEYS[4], lo, hi, 'LIMIT', 0, 1)
  local oldest = 0
  if first[1] then oldest = tonumber(redis.call('HGET', jobPrefix .. first[1], 'timestamp') or '0') or 0 end
  out[#out + 1] = oldest
  out[#out + 1] = delayed[key] or 0
  out[#out + 1] = active[key] or 0
end
return out
`;

const PURPOSES = purposeSchema.options;

/**
 * The queue's unfinished work (the autoscaling signal): waiting + prioritized + delayed + active, overall and
 * per purpose, from one Lua script (one round trip, O(sample) work in Redis whatever the backlog). The totals
 * are exact; per-purpose delayed and active counts are extrapolated when a set holds more than `sample` jobs
 * (`approximate: true`).
 */
export async function queueDepth(queue: Queue, now = Date.now(), sample = DEPTH_SAMPLE): Promise<QueueDepth> {
  // BullMQ types its client loosely; it is an ioredis client (or Cluster), both of which have eval.
  const client = (await queue.client) as unknown as Redis;
  const k = queue.keys;
  const priorities = PURPOSES.map((p) => PRIORITY[p]);
  const raw = (await client.eval(
    DEPTH_SCRIPT,
    6,
    k.wait!,
    k.paused!,
    k.meta!,
    k.prioritized!,
    k.delayed!,
    k.active!,
    String(sample),
    queue.toKey(''),
    ...priorities.map(String),
  )) as number[];
  const [waiting = 0, prioritized = 0, delayed = 0, active = 0, paused = 0, delayedSeen = 0, activeSeen = 0] =
    raw;
  const scale = (seen: number, total: number) => (n: number) =>
    seen >= total || seen === 0 ? n : Math.round((n * total) / seen);
  const scaleDelayed = scale(delayedSeen, delayed);
  const scaleActive = scale(activeSeen, active);
  const byPurpose = Object.fromEntries(
    PURPOSES.map((purpose: Purpose, i) => {
      const at = 7 + i * 4;
      const [w = 0, oldest = 0, d = 0, a = 0] = raw.slice(at, at + 4);
      const row = {
        waiting: w,
        delayed: scaleDelayed(d),
        active: scaleActive(a),
        oldestWaitingAgeSeconds: w > 0 && oldest > 0 ? Math.max(0, (now - oldest) / 1000) : 0,
      };
      return [purpose, { depth: row.waiting + row.delayed + row.active, ...row }];
    }),
  ) as QueueDepth['byPurpose'];
  return {
    depth: waiting + prioritized + delayed + active,
    states: { waiting, prioritized, delayed, active },
    byPurpose,
    paused: paused === 1,
    approximate: delayedSeen < delayed || activeSeen < active,
    at: new Date(now).toISOString(),
  };
}

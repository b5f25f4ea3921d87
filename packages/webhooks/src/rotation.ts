import type { Redis } from 'ioredis';

/** A replaced secret that keeps signing beside the current one until `expiresMs` (ms since epoch). */
export interface PreviousSecret {
  secret: string;
  expiresMs: number;
}

/**
 * The most replaced secrets that sign at once. Each rotation within the overlap of the last keeps one more (a
 * retried rotation must not cut short the overlap promised for the secret before it); past this the one that
 * expires first goes. Every one costs an HMAC and ~50 bytes of `webhook-signature` per delivery.
 */
export const MAX_PREVIOUS_SECRETS = 10;

/**
 * One rotation, read and write in one script, so two rotations (or a rotation and a delete) never interleave:
 * the current secret it demotes is the one stored when it runs, not one read earlier by the client. A delete
 * that ran first leaves nothing to demote; a rotation that ran first is demoted in turn. Overlap 0 revokes every
 * replaced secret at once. `previous` holds the live replaced secrets (JSON, latest expiry first); the
 * single `previousSecret` / `previousSecretExpiresMs` fields (the format before) are read and also written
 * (the latest) so a process of the previous version still signs with the secret it knows.
 * KEYS[1]: the hash. ARGV: new secret, createdAt ('' leaves it), now ms, overlap ms, max previous, owner
 * ('' for none: else the hash's `tenant` must equal it, or nothing is written and nil is returned).
 */
const ROTATE = `
local key = KEYS[1]
local secret, createdAt = ARGV[1], ARGV[2]
local now, overlap, maxPrevious, owner = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
if owner ~= '' and redis.call('HGET', key, 'tenant') ~= owner then return nil end
local live = {}
if overlap > 0 then
  -- Newest first: the secret being replaced, then the stored ones (already newest first), then the field of the
  -- format before. Rotations within one millisecond give equal expiries, and Lua's sort is not stable: the
  -- position breaks ties, so the cap always drops the oldest.
  local candidates = {}
  local current = redis.call('HGET', key, 'secret')
  if current then table.insert(candidates, { secret = current, expiresMs = now + overlap }) end
  local stored = redis.call('HGET', key, 'previous')
  if stored then
    for _, p in ipairs(cjson.decode(stored)) do table.insert(candidates, p) end
  end
  local legacy = redis.call('HMGET', key, 'previousSecret', 'previousSecretExpiresMs')
  if legacy[1] and legacy[2] then
    table.insert(candidates, { secret = legacy[1], expiresMs = tonumber(legacy[2]) })
  end
  for i, p in ipairs(candidates) do p.position = i end
  local seen = { [secret] = true }
  table.sort(candidates, function(a, b)
    if a.expiresMs ~= b.expiresMs then return a.expiresMs > b.expiresMs end
    return a.position < b.position
  end)
  for _, p in ipairs(candidates) do
    if p.expiresMs > now and not seen[p.secret] and #live < maxPrevious then
      seen[p.secret] = true
      table.insert(live, { secret = p.secret, expiresMs = p.expiresMs })
    end
  end
end
redis.call('HSET', key, 'secret', secret)
if createdAt ~= '' then redis.call('HSET', key, 'createdAt', createdAt) end
if #live > 0 then
  redis.call('HSET', key, 'previous', cjson.encode(live), 'previousSecret', live[1].secret,
    'previousSecretExpiresMs', string.format('%.0f', live[1].expiresMs))
else
  redis.call('HDEL', key, 'previous', 'previousSecret', 'previousSecretExpiresMs')
end
return redis.call('HGETALL', key)
`;

/**
 * Makes `secret` the current secret of the hash at `key` atomically (see {@link ROTATE}); the hash as it is
 * right after this rotation, or undefined when `owner` is given and the hash is not that tenant's (or gone).
 */
export async function rotateSecret(
  redis: Redis,
  key: string,
  rotation: { secret: string; overlapSeconds: number; createdAt?: string; owner?: string },
  now = Date.now(),
): Promise<Record<string, string> | undefined> {
  const flat = (await redis.eval(
    ROTATE,
    1,
    key,
    rotation.secret,
    rotation.createdAt ?? '',
    String(now),
    String(rotation.overlapSeconds * 1000),
    String(MAX_PREVIOUS_SECRETS),
    rotation.owner ?? '',
  )) as string[] | null;
  if (flat === null) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

/** The replaced secrets of a stored hash that still sign at `now`, latest expiry first (either format). */
export function livePreviousSecrets(h: Record<string, string>, now = Date.now()): PreviousSecret[] {
  const out: PreviousSecret[] = [];
  if (h.previous !== undefined) {
    try {
      for (const p of JSON.parse(h.previous) as PreviousSecret[]) {
        if (typeof p.secret === 'string' && typeof p.expiresMs === 'number') out.push(p);
      }
    } catch {
      // Unreadable: the legacy fields below still name the latest.
    }
  }
  const legacyUntil = Number(h.previousSecretExpiresMs);
  if (h.previousSecret !== undefined && Number.isFinite(legacyUntil)) {
    if (!out.some((p) => p.secret === h.previousSecret)) {
      out.push({ secret: h.previousSecret, expiresMs: legacyUntil });
    }
  }
  return out
    .filter((p) => p.expiresMs > now && p.secret !== h.secret)
    .sort((a, b) => b.expiresMs - a.expiresMs);
}

import { LabelqError } from '@labelq/errors';

/**
 * A Redis error's message fit for a client: Redis appends where in a Lua script it failed ("script: <sha>, on
 * @user_script:507." or "Error running script (call to f_<sha>): @user_script:12: ..."), which says nothing
 * to a client and discloses internals. The cause (kept in logs) has the full text.
 */
export function clientRedisMessage(message: string): string {
  if (/^OOM command not allowed/.test(message) || message.includes(' OOM command not allowed')) {
    return 'Redis is out of memory (maxmemory reached): try again once workers have drained the queue';
  }
  return message
    .replace(/ERR Error running script \(call to f_[0-9a-f]+\): /g, '')
    .replace(/@user_script:\d+:\s*/g, '')
    .replace(/[.,]?\s*script: [0-9a-f]{40}, on @user_script:\d+\.?/g, '')
    .trim();
}

/** ioredis's own failures that mean Redis is out of reach (not an answer it gave). */
const CONNECTION_FAILURES = [
  /^Command timed out$/,
  /^Connection is closed\.?$/,
  /^Stream isn't writeable and enableOfflineQueue options is false$/,
  /^Reached the max retries per request limit/,
];

/**
 * The coded error for a Redis failure that reached a route without a deadline of its own: 503
 * `queue_unavailable` (retryable) for a Redis out of reach or out of memory, instead of a 500 `internal` that
 * tells the client the fault is ours for good. Undefined for anything else (a bug stays a 500).
 */
export function redisUnavailable(err: unknown): LabelqError | undefined {
  if (!(err instanceof Error)) return undefined;
  const outOfReach =
    err.name === 'MaxRetriesPerRequestError' || CONNECTION_FAILURES.some((re) => re.test(err.message));
  const outOfMemory = err.name === 'ReplyError' && err.message.includes('OOM command not allowed');
  if (!outOfReach && !outOfMemory) return undefined;
  return new LabelqError('queue_unavailable', `Redis failed: ${clientRedisMessage(err.message)}`, {
    cause: err,
  });
}

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

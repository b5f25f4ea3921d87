import { ReplyError as ReplyErrorClass } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisUnavailable } from './redis-errors.ts';

/** ioredis's MaxRetriesPerRequestError, by name (the class is not exported from the package's entry). */
function maxRetries(): Error {
  const err = new Error(
    'Reached the max retries per request limit (which is 20). Refer to "maxRetriesPerRequest" option for details.',
  );
  err.name = 'MaxRetriesPerRequestError';
  return err;
}

/** ioredis re-exports redis-errors' ReplyError untyped: the real class, typed here. */
const ReplyError = ReplyErrorClass as unknown as new (message: string) => Error;

describe('redisUnavailable', () => {
  it.each([
    ['a command timeout', new Error('Command timed out'), 'queue_unavailable'],
    ['a closed connection', new Error('Connection is closed.'), 'queue_unavailable'],
    [
      'no offline queue while disconnected',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      'queue_unavailable',
    ],
    ['max retries per request', maxRetries(), 'queue_unavailable'],
    [
      'Redis out of memory',
      new ReplyError("OOM command not allowed when used memory > 'maxmemory'."),
      'queue_unavailable',
    ],
    [
      'another Redis error reply (a bug)',
      new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      undefined,
    ],
    ['an unrelated error', new TypeError('Cannot read properties of undefined'), undefined],
    ['not an error', 'Command timed out', undefined],
  ])('%s -> %s', (_, err, code) => {
    expect(redisUnavailable(err)?.code).toBe(code);
  });

  it('keeps Redis script internals out of the message and the original as the cause', () => {
    const err = new ReplyError(
      "OOM command not allowed when used memory > 'maxmemory'. script: 0123456789abcdef0123456789abcdef01234567, on @user_script:12.",
    );
    const coded = redisUnavailable(err);
    expect(coded?.status).toBe(503);
    expect(coded?.retryable).toBe(true);
    expect(coded?.message).not.toMatch(/user_script|[0-9a-f]{40}/);
    expect(coded?.cause).toBe(err);
  });
});

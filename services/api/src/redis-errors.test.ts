import { describe, expect, it } from 'vitest';
import { clientRedisMessage } from './redis-errors.ts';

describe('clientRedisMessage', () => {
  it.each([
    [
      "OOM command not allowed when used memory > 'maxmemory'. script: 808626431266f2e834f108cac6b35ce556927132, on @user_script:507.",
      'Redis is out of memory (maxmemory reached): try again once workers have drained the queue',
    ],
    [
      'ERR Error running script (call to f_808626431266f2e834f108cac6b35ce556927132): @user_script:12: WRONGTYPE Operation against a key',
      'WRONGTYPE Operation against a key',
    ],
    [
      'NOSCRIPT No matching script. script: 808626431266f2e834f108cac6b35ce556927132, on @user_script:1.',
      'NOSCRIPT No matching script',
    ],
    ['Connection is closed.', 'Connection is closed.'],
  ])('%s', (raw, clean) => {
    expect(clientRedisMessage(raw)).toBe(clean);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeFailedReason, encodeFailedReason } from './failure.ts';

describe('failure reasons through BullMQ failedReason', () => {
  it('round-trip as data, messages with colons and quotes included', () => {
    const reason = { code: 'object_not_found', message: 's3://b/k: "x" does not exist' };
    expect(decodeFailedReason(encodeFailedReason(reason))).toEqual(reason);
  });

  it.each([
    ['job stalled more than allowable limit', 'job_stalled'],
    ['Missing lock for job 3. moveToFinished', 'internal'],
    ['{"not": "ours"}', 'internal'],
    ['{broken json', 'internal'],
    [undefined, 'internal'],
  ])('maps BullMQ’s own reason %j to %s', (text, code) => {
    expect(decodeFailedReason(text).code).toBe(code);
  });
});

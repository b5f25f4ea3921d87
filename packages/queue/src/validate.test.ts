import { describe, expect, it } from 'vitest';
import { objectImageId } from './job.ts';
import { parseJobData } from './validate.ts';

const good = {
  v: 1,
  id: objectImageId('b-1', 'k', ['m']),
  bucket: 'b-1',
  key: 'k',
  models: ['m'],
  purpose: 'tagging',
  origin: 's3',
  submittedAt: new Date(0).toISOString(),
};

describe('parseJobData', () => {
  it('accepts a valid payload', () => {
    expect(parseJobData(good)).toEqual(good);
  });
  it.each([
    ['future version', { ...good, v: 2 }],
    ['bad id', { ...good, id: 'nope' }],
    ['no models', { ...good, models: [] }],
    ['not an object', 'x'],
  ])('%s -> invalid_request', (_n, data) => {
    expect(() => parseJobData(data)).toThrow(
      expect.objectContaining({ code: 'invalid_request', retryable: false }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { preferWait, readWait } from './wait.ts';

describe('preferWait (RFC 7240)', () => {
  it.each([
    ['wait=10', '10'],
    ['respond-async, wait=5', '5'],
    ['Wait = 7', '7'],
    ['wait="3"', '3'],
    ['return=minimal; foo=bar, wait=2', '2'],
    ['respond-async', undefined],
    [undefined, undefined],
  ])('%s -> %s', (header, seconds) => {
    expect(preferWait(header)).toBe(seconds);
  });
  it('reads the header given twice', () => {
    expect(preferWait(['respond-async', 'wait=4'])).toBe('4');
  });
});

describe('readWait', () => {
  it.each([
    [{ wait: '0' }, undefined, { seconds: 0, fromPrefer: false }],
    [{ wait: '30' }, 'wait=1', { seconds: 30, fromPrefer: false }],
    [{}, 'wait=12', { seconds: 12, fromPrefer: true }],
    [{}, undefined, { seconds: 0, fromPrefer: false }],
  ])('%o + Prefer %s -> %o', (query, prefer, out) => {
    expect(readWait(query, prefer, 30)).toEqual(out);
  });
  it.each([[{ wait: '31' }], [{ wait: '-1' }], [{ wait: '1.5' }], [{ wait: '' }], [{ wait: ['1', '2'] }]])(
    '%o -> wait_invalid',
    (query) => {
      expect(() => readWait(query, undefined, 30)).toThrow(expect.objectContaining({ code: 'wait_invalid' }));
    },
  );
  it('refuses a Prefer wait past the cap', () => {
    expect(() => readWait({}, 'wait=99', 30)).toThrow(expect.objectContaining({ code: 'wait_invalid' }));
  });
});

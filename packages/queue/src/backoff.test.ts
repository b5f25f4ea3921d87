import { describe, expect, it } from 'vitest';
import { backoffDelay, MAX_BACKOFF_MS } from './backoff.ts';

describe('backoffDelay', () => {
  it('doubles per attempt with jitter between 50% and 100%', () => {
    expect(backoffDelay(1, 1000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, () => 1)).toBe(4000);
    expect(backoffDelay(3, 1000, () => 0.5)).toBe(3000);
  });
  it('is capped', () => {
    expect(backoffDelay(40, 1000, () => 1)).toBe(MAX_BACKOFF_MS);
  });
});

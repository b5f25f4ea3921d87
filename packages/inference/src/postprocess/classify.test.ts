import { describe, expect, it } from 'vitest';
import { activate, topLabels } from './classify.ts';

describe('activate', () => {
  it('softmax sums to 1 and is stable for large logits', () => {
    const p = activate([1000, 1001, 1002], 'softmax');
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(p[2]).toBeCloseTo(Math.exp(2) / (1 + Math.exp(1) + Math.exp(2)), 10);
  });
  it('sigmoid and none', () => {
    expect(activate([0], 'sigmoid')[0]).toBeCloseTo(0.5, 10);
    expect(activate([-0.0001, 0.3, 1.0001], 'none')).toEqual([0, 0.3, 1]);
  });
});

describe('topLabels', () => {
  it('sorts, cuts at topK and minConfidence, keeps label order on ties', () => {
    const labels = ['a', 'b', 'c', 'd'];
    expect(topLabels([0.1, 0.4, 0.4, 0.1], labels, 3, 0)).toEqual([
      { name: 'b', confidence: 0.4 },
      { name: 'c', confidence: 0.4 },
      { name: 'a', confidence: 0.1 },
    ]);
    expect(topLabels([0.1, 0.4, 0.4, 0.1], labels, 5, 0.2).map((l) => l.name)).toEqual(['b', 'c']);
  });
  it('throws when the model output does not match the labels', () => {
    expect(() => topLabels([0.5], ['a', 'b'], 1, 0)).toThrow(/1 scores for 2 labels/);
  });
});

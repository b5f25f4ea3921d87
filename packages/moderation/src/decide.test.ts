import type { ModelResult } from '@labelq/contracts';
import { describe, expect, it } from 'vitest';
import { decideScores, moderate } from './decide.ts';
import { DEFAULT_POLICY, mergePolicy } from './policy.ts';

const scores = (s: Partial<Record<'Porn' | 'Hentai' | 'Sexy', number>>) => ({
  Porn: 0,
  Hentai: 0,
  Sexy: 0,
  ...s,
});
const nsfw = (name: string, s: Record<string, number>): ModelResult => ({
  task: 'classify',
  model: { name, version: '1', sha256: 'x' },
  labels: Object.entries(s)
    .map(([n, confidence]) => ({ name: n, confidence }))
    .sort((a, b) => b.confidence - a.confidence),
});

describe('decideScores with the default policy', () => {
  it.each([
    [scores({}), 'allow'],
    // Clothed-people range measured in docs/moderation.md: Porn up to ~0.5, Sexy up to ~0.9 -> allow.
    [scores({ Porn: 0.5, Sexy: 0.4 }), 'allow'],
    [scores({ Sexy: 0.9 }), 'allow'],
    [scores({ Porn: 0.5999 }), 'allow'],
    [scores({ Porn: 0.6 }), 'review'],
    [scores({ Hentai: 0.6 }), 'review'],
    [scores({ Sexy: 0.9499 }), 'allow'],
    [scores({ Sexy: 0.95 }), 'review'],
    [scores({ Sexy: 1 }), 'review'],
    [scores({ Porn: 0.8499 }), 'review'],
    [scores({ Porn: 0.85 }), 'block'],
    [scores({ Hentai: 0.85 }), 'block'],
  ])('%o -> %s', (s, decision) => {
    expect(decideScores(s, DEFAULT_POLICY).decision).toBe(decision);
  });

  it('lists the triggered rules at the decided level, highest score first', () => {
    const m = decideScores(scores({ Porn: 0.9, Hentai: 0.95, Sexy: 0.99 }), DEFAULT_POLICY);
    expect(m).toEqual({
      decision: 'block',
      reasons: [
        { category: 'Hentai', score: 0.95, threshold: 0.85 },
        { category: 'Porn', score: 0.9, threshold: 0.85 },
      ],
      policy: DEFAULT_POLICY.version,
      models: [],
    });
    expect(decideScores(scores({ Sexy: 0.96 }), DEFAULT_POLICY).reasons).toEqual([
      { category: 'Sexy', score: 0.96, threshold: 0.95 },
    ]);
  });
});

describe('moderate', () => {
  it('is undefined when no NSFW model ran', () => {
    const detector: ModelResult = {
      task: 'detect',
      model: { name: 'coco-nanodet', version: '1', sha256: 'x' },
      labels: [{ name: 'person', confidence: 0.9 }],
      instances: [],
    };
    expect(moderate([detector], DEFAULT_POLICY)).toBeUndefined();
  });

  it('takes the highest score per category across NSFW models', () => {
    const a = nsfw('nsfw-a', { Neutral: 0.7, Porn: 0.2, Hentai: 0.05, Sexy: 0.05, Drawing: 0 });
    const b = nsfw('nsfw-b', { Neutral: 0.3, Porn: 0.65, Hentai: 0.02, Sexy: 0.03, Drawing: 0 });
    const m = moderate([a, b], DEFAULT_POLICY);
    expect(m?.decision).toBe('review');
    expect(m?.models).toEqual(['nsfw-a', 'nsfw-b']);
    expect(m?.reasons).toEqual([{ category: 'Porn', score: 0.65, threshold: 0.6 }]);
  });
});

describe('mergePolicy', () => {
  it('overrides and disables thresholds per level', () => {
    const p = mergePolicy({ version: 'acme-1', review: { Sexy: null, Porn: 0.7 }, block: { Porn: 0.9 } });
    expect(p).toEqual({
      version: 'acme-1',
      block: { Porn: 0.9, Hentai: 0.85 },
      review: { Porn: 0.7, Hentai: 0.6 },
    });
    expect(decideScores(scores({ Sexy: 1 }), p).decision).toBe('allow');
    expect(decideScores(scores({ Porn: 0.65 }), p).decision).toBe('allow');
    expect(DEFAULT_POLICY.review.Sexy).toBe(0.95);
  });
});

import { describe, expect, it } from 'vitest';
import { mergeTags, sanitizeTagText, type ObjectTag } from './tags.ts';

const user = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `team${i}`, value: `v${i}` }));
// Two writers on one object (jobs with different model sets), owning disjoint keys.
const a = {
  ours: [{ key: 'labelq:coco', value: 'cat/dog' }],
  owned: ['labelq:coco', 'labelq:labels', 'labelq:id'],
};
const b = {
  ours: [
    { key: 'labelq:moderation', value: 'allow' },
    { key: 'labelq:nsfw', value: 'Neutral' },
  ],
  owned: ['labelq:moderation', 'labelq:nsfw', 'labelq:labels', 'labelq:id'],
};
const apply = (tags: ObjectTag[], w: typeof a) => mergeTags(tags, w.ours, w.owned).tags;
const sorted = (tags: ObjectTag[]) => [...tags].sort((x, y) => (x.key < y.key ? -1 : 1));

describe('mergeTags', () => {
  it("keeps the owner's and other writers' tags, replaces its own keys and removes its other owned keys", () => {
    const existing = [
      ...user(2),
      { key: 'labelq:labels', value: 'legacy' },
      { key: 'labelq:nsfw', value: 'Porn' },
      { key: 'labelq:coco', value: 'stale' },
    ];
    const r = mergeTags(existing, a.ours, a.owned);
    expect(r.tags).toEqual([...user(2), ...a.ours, { key: 'labelq:nsfw', value: 'Porn' }]);
    expect(r.dropped).toEqual([]);
    expect(r.changed).toBe(true);
  });

  it('commutes: either order, and a redelivery of either, give the same tags', () => {
    const start = [...user(3), { key: 'labelq:id', value: 'img_old' }];
    const ab = apply(apply(start, a), b);
    const ba = apply(apply(start, b), a);
    expect(sorted(ab)).toEqual(sorted(ba));
    expect(sorted(apply(ab, a))).toEqual(sorted(ab));
    expect(sorted(apply(ba, b))).toEqual(sorted(ba));
    expect(ab.map((t) => t.key)).toEqual([
      'team0',
      'team1',
      'team2',
      'labelq:moderation',
      'labelq:coco',
      'labelq:nsfw',
    ]);
    // Also when the 10-tag limit drops some of ours.
    const crowded = user(8);
    expect(sorted(apply(apply(crowded, a), b))).toEqual(sorted(apply(apply(crowded, b), a)));
  });

  it('over 10 tags: the owner wins, then moderation, then model keys by name', () => {
    const r = mergeTags([...user(8), { key: 'labelq:coco', value: 'cat' }], b.ours, b.owned);
    expect(r.tags.map((t) => t.key)).toEqual([
      ...user(8).map((t) => t.key),
      'labelq:moderation',
      'labelq:coco',
    ]);
    expect(r.dropped).toEqual(['labelq:nsfw']);
    const full = mergeTags(user(10), b.ours, b.owned);
    expect(full.tags).toEqual(user(10));
    expect(full.dropped).toEqual(['labelq:moderation', 'labelq:nsfw']);
    expect(full.changed).toBe(false);
  });

  it('reports no change when the same tags exist in another order', () => {
    const r = mergeTags([...[...b.ours].reverse(), ...user(1)], b.ours, b.owned);
    expect(r.changed).toBe(false);
  });

  it('sanitizes characters and lengths to S3 limits', () => {
    expect(sanitizeTagText("dog's toy, (red)", 256)).toBe('dog_s toy_ _red_');
    expect(sanitizeTagText('Ünïcødé ok +-=._:/@', 256)).toBe('Ünïcødé ok +-=._:/@');
    const r = mergeTags([], [{ key: 'labelq:x', value: 'a'.repeat(300) }]);
    expect(r.tags[0]!.value).toHaveLength(256);
  });
});

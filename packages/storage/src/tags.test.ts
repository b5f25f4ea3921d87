import { describe, expect, it } from 'vitest';
import { mergeTags, sanitizeTagText } from './tags.ts';

const user = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `team${i}`, value: `v${i}` }));
const ours = [
  { key: 'labelq:moderation', value: 'allow' },
  { key: 'labelq:labels', value: 'cat/dog' },
  { key: 'labelq:id', value: 'img_1' },
];

describe('mergeTags', () => {
  it('keeps the owner tags and replaces all earlier labelq tags', () => {
    const existing = [
      ...user(2),
      { key: 'labelq:stale', value: 'x' },
      { key: 'labelq:moderation', value: 'block' },
    ];
    const r = mergeTags(existing, ours);
    expect(r.tags).toEqual([...user(2), ...ours]);
    expect(r.dropped).toEqual([]);
    expect(r.changed).toBe(true);
  });

  it('drops ours from the end of the priority list when over 10 tags, never the owner tags', () => {
    expect(mergeTags(user(8), ours).dropped).toEqual(['labelq:id']);
    expect(mergeTags(user(9), ours).tags.map((t) => t.key)).toEqual([
      ...user(9).map((t) => t.key),
      'labelq:moderation',
    ]);
    const full = mergeTags(user(10), ours);
    expect(full.tags).toEqual(user(10));
    expect(full.dropped).toEqual(ours.map((t) => t.key));
    expect(full.changed).toBe(false);
  });

  it('reports no change when the same tags exist in another order', () => {
    const r = mergeTags([...[...ours].reverse(), ...user(1)], ours);
    expect(r.changed).toBe(false);
  });

  it('sanitizes characters and lengths to S3 limits', () => {
    expect(sanitizeTagText("dog's toy, (red)", 256)).toBe('dog_s toy_ _red_');
    expect(sanitizeTagText('Ünïcødé ok +-=._:/@', 256)).toBe('Ünïcødé ok +-=._:/@');
    const r = mergeTags([], [{ key: 'labelq:x', value: 'a'.repeat(300) }]);
    expect(r.tags[0]!.value).toHaveLength(256);
  });
});

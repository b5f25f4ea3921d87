import { describe, expect, it } from 'vitest';
import { generateKey, hashSecret, KEY_PREFIX, parseKey, secretMatches } from './key-format.ts';

describe('API key format', () => {
  it('generates recognisable, unique keys whose secret only the hash recognises', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a.key.startsWith(KEY_PREFIX)).toBe(true);
    expect(a.id).toMatch(/^key_[0-9a-f]{16}$/);
    expect(a.key).not.toBe(b.key);
    const parsed = parseKey(a.key)!;
    expect(parsed.id).toBe(a.id);
    expect(secretMatches(parsed.id, parsed.secret, a.hash)).toBe(true);
    expect(secretMatches(parsed.id, parsed.secret, b.hash)).toBe(false);
    // The hash is keyed by the id: the same secret under another id hashes differently.
    expect(hashSecret('key_0000000000000000', parsed.secret)).not.toBe(a.hash);
    expect(a.key).not.toContain(a.hash);
  });

  it.each([
    ['empty', ''],
    ['another prefix', 'sk_live_0123456789abcdef_' + 'a'.repeat(43)],
    ['short secret', 'lq_live_0123456789abcdef_' + 'a'.repeat(42)],
    ['long secret', 'lq_live_0123456789abcdef_' + 'a'.repeat(44)],
    ['upper-case id', 'lq_live_0123456789ABCDEF_' + 'a'.repeat(43)],
    ['bad characters', 'lq_live_0123456789abcdef_' + '+'.repeat(43)],
    ['whitespace', ' lq_live_0123456789abcdef_' + 'a'.repeat(43)],
  ])('refuses a malformed key (%s)', (_name, key) => {
    expect(parseKey(key)).toBeUndefined();
  });
});

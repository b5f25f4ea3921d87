import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-body.ts';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('jsonDepthExceeds', () => {
  it.each([
    ['a scalar', '42', 1, false],
    ['an empty object', '{}', 1, false],
    ['depth exactly at the limit', nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH, false],
    ['one past the limit', nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH, true],
    ['objects and arrays mixed', '{"a":[{"b":[1]}]}', 3, true],
    ['siblings do not add up', '[[1],[2],[3],{"a":1}]', 2, false],
    ['brackets inside strings do not count', '["[[[[{{{{"]', 1, false],
    ['an escaped quote does not end the string', '["\\"[[[["]', 1, false],
    ['an escaped backslash before the closing quote does', '["\\\\",[[1]]]', 2, true],
    ['unicode escapes are skipped', '["\\u005b\\u005b"]', 1, false],
    ['10,000 levels', nested(10_000), MAX_JSON_DEPTH, true],
    ['malformed text is scanned, not judged', '[[[', 2, true],
  ] as const)('%s', (_name, text, max, exceeds) => {
    expect(jsonDepthExceeds(text, max)).toBe(exceeds);
  });
});

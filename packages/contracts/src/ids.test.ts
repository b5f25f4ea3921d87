import { describe, expect, it } from 'vitest';
import { isImageId, normalizeModels, objectImageId, uploadImageId } from './ids.ts';

describe('image ids', () => {
  it('do not depend on the order or repetition of models', () => {
    expect(objectImageId('b', 'k', ['y', 'x', 'y'])).toBe(objectImageId('b', 'k', ['x', 'y']));
    expect(normalizeModels(['y', 'x', 'y'])).toEqual(['x', 'y']);
  });

  it('separate uploads from objects and bucket from key', () => {
    const sha = 'a'.repeat(64);
    expect(uploadImageId(sha, ['m'])).toMatch(/^img_[0-9a-f]{32}$/);
    expect(objectImageId('b', 'k', ['m'])).toMatch(/^obj_[0-9a-f]{32}$/);
    expect(objectImageId('ab', 'c', ['m'])).not.toBe(objectImageId('a', 'bc', ['m']));
  });

  it.each([
    [uploadImageId('a'.repeat(64), ['m']), true],
    ['obj_' + '0'.repeat(32), true],
    ['obj_' + '0'.repeat(31), false],
    ['img_' + 'G'.repeat(32), false],
    ['../etc/passwd', false],
    [42, false],
  ])('isImageId(%j) is %s', (value, expected) => {
    expect(isImageId(value)).toBe(expected);
  });
});

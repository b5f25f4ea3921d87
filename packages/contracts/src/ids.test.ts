import { describe, expect, it } from 'vitest';
import { isImageId, normalizeModels, objectImageId, uploadImageId } from './ids.ts';

describe('image ids', () => {
  it('do not depend on the order or repetition of models', () => {
    expect(objectImageId('t', 'b', 'k', ['y', 'x', 'y'])).toBe(objectImageId('t', 'b', 'k', ['x', 'y']));
    expect(normalizeModels(['y', 'x', 'y'])).toEqual(['x', 'y']);
  });

  it('separate uploads from objects, bucket from key, and tenants', () => {
    const sha = 'a'.repeat(64);
    expect(uploadImageId('t', sha, ['m'])).toMatch(/^img_[0-9a-f]{32}$/);
    expect(objectImageId('t', 'b', 'k', ['m'])).toMatch(/^obj_[0-9a-f]{32}$/);
    expect(objectImageId('t', 'ab', 'c', ['m'])).not.toBe(objectImageId('t', 'a', 'bc', ['m']));
    // The same bytes or object from two tenants are two images.
    expect(uploadImageId('acme', sha, ['m'])).not.toBe(uploadImageId('globex', sha, ['m']));
    expect(objectImageId('acme', 'b', 'k', ['m'])).not.toBe(objectImageId('globex', 'b', 'k', ['m']));
  });

  it.each([
    [uploadImageId('t', 'a'.repeat(64), ['m']), true],
    ['obj_' + '0'.repeat(32), true],
    ['obj_' + '0'.repeat(31), false],
    ['img_' + 'G'.repeat(32), false],
    ['../etc/passwd', false],
    [42, false],
  ])('isImageId(%j) is %s', (value, expected) => {
    expect(isImageId(value)).toBe(expected);
  });
});

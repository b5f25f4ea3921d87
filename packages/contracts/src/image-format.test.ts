import { describe, expect, it } from 'vitest';
import { describeUnsupported, IMAGE_FORMATS, sniffFormat, unsupportedFormatMessage } from './image-format.ts';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
/** An ISO-BMFF `ftyp` box of 24 bytes with a major and one compatible brand. */
const ftyp = (major: string, compatible: string): Uint8Array =>
  bytes([0, 0, 0, 24], 'ftyp', major, [0, 0, 0, 0], compatible, 'mif1');

describe('the one image-format allow-list', () => {
  it('is what the API and the worker both accept', () => {
    expect([...IMAGE_FORMATS]).toEqual(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff']);
  });

  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0])],
    ['png', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a])],
    ['gif', bytes('GIF89a')],
    ['gif', bytes('GIF87a')],
    ['webp', bytes('RIFF', [0, 0, 0, 0], 'WEBP')],
    ['tiff', bytes('II*', [0])],
    ['tiff', bytes('MM', [0], '*')],
    ['avif', ftyp('avif', 'mif1')],
    ['avif', ftyp('mif1', 'avis')],
  ])('sniffs %s', (format, data) => {
    expect(sniffFormat(data)).toBe(format);
  });

  it.each([
    ['svg', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['svg', bytes('<?xml version="1.0"?><svg/>')],
    ['heic', ftyp('heic', 'mif1')],
    ['bmp', bytes('BM', [0, 0, 0, 0])],
    ['ico', bytes([0, 0, 1, 0])],
    ['pdf', bytes('%PDF-1.7')],
    ['unknown', bytes('hello')],
    ['unknown', bytes([0xff, 0xd8])],
  ])('refuses %s with a message naming it', (kind, data) => {
    expect(sniffFormat(data)).toBeUndefined();
    expect(describeUnsupported(data)).toBe(kind);
    expect(unsupportedFormatMessage(data)).toContain(`(${kind})`);
  });
});

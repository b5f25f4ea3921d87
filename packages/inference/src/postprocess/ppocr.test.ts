import { describe, expect, it } from 'vitest';
import { ctcGreedy, findTextBoxes, textInputSize } from './ppocr.ts';

const OPTIONS = { binaryThreshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5 };

/** A w x h map with `value` inside each [x1, y1, x2, y2) rectangle. */
function map(w: number, h: number, rects: [number, number, number, number, number][]): Float32Array {
  const m = new Float32Array(w * h);
  for (const [x1, y1, x2, y2, value] of rects)
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) m[y * w + x] = value;
  return m;
}

describe('textInputSize', () => {
  it.each([
    [1920, 1080, 960, { width: 960, height: 544 }],
    [512, 512, 960, { width: 512, height: 512 }],
    [300, 100, 960, { width: 288, height: 96 }],
    [10, 10, 960, { width: 32, height: 32 }],
    [4000, 100, 960, { width: 960, height: 32 }],
  ])('%d x %d (max %d) -> %o', (w, h, max, want) => {
    expect(textInputSize(w, h, max)).toEqual(want);
  });
});

describe('findTextBoxes', () => {
  it('finds each region, grows it by area x ratio / perimeter, largest first', () => {
    const boxes = findTextBoxes(
      map(64, 32, [
        [10, 4, 30, 8, 0.9],
        [5, 20, 55, 26, 0.8],
      ]),
      64,
      32,
      OPTIONS,
    );
    expect(boxes).toHaveLength(2);
    // 50 x 6 region: d = 300 * 1.5 / 112.
    const d = (50 * 6 * 1.5) / 112;
    expect(boxes[0]).toMatchObject({ x1: 5 - d, y1: 20 - d, x2: 55 + d, y2: 26 + d });
    expect(boxes[0]!.score).toBeCloseTo(0.8, 6);
    expect(boxes[1]!.x1).toBeCloseTo(10 - (20 * 4 * 1.5) / 48, 6);
  });

  it('clips grown boxes to the map', () => {
    const [box] = findTextBoxes(map(20, 10, [[0, 0, 20, 4, 0.9]]), 20, 10, OPTIONS);
    expect(box).toMatchObject({ x1: 0, y1: 0, x2: 20 });
  });

  it.each([
    ['an empty map', new Float32Array(0), 0, 0],
    ['a map of zeros', new Float32Array(32 * 32), 32, 32],
    ['regions whose mean is under the box threshold', map(32, 32, [[2, 2, 20, 8, 0.5]]), 32, 32],
    ['regions thinner than 3 px', map(32, 32, [[2, 2, 30, 4, 0.99]]), 32, 32],
    ['NaN everywhere', new Float32Array(16).fill(NaN), 4, 4],
  ])('finds no boxes in %s', (_name, m, w, h) => {
    expect(findTextBoxes(m, w, h, OPTIONS)).toEqual([]);
  });

  it('refuses a map smaller than its stated size', () => {
    expect(() => findTextBoxes(new Float32Array(10), 4, 4, OPTIONS)).toThrow(RangeError);
  });
});

describe('ctcGreedy', () => {
  const dict = ['a', 'b', 'c'];
  /** One-hot-ish steps: class index per step with probability p. */
  const steps = (...cls: number[]) => {
    const out = new Float32Array(cls.length * 5).fill(0.01);
    cls.forEach((c, t) => (out[t * 5 + c] = 0.9));
    return out;
  };

  it.each([
    ['merges repeats and drops blanks', [1, 1, 0, 2, 2, 2, 0, 0, 3], 'abc'],
    ['keeps a repeat separated by a blank', [1, 0, 1], 'aa'],
    ['reads the class after the dictionary as a space', [1, 4, 2], 'a b'],
    ['all blank', [0, 0, 0], ''],
    ['no steps', [], ''],
  ])('%s', (_name, cls, text) => {
    const out = ctcGreedy(steps(...cls), cls.length, 5, dict);
    expect(out.text).toBe(text);
    expect(out.confidence).toBeCloseTo(text === '' ? 0 : 0.9, 6);
  });

  it('refuses too few values', () => {
    expect(() => ctcGreedy(new Float32Array(4), 2, 5, dict)).toThrow(RangeError);
  });
});

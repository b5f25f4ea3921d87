import { describe, expect, it } from 'vitest';
import type { Box, ModelResult } from '@labelq/contracts';
import { fractionInside, suppressAnimalFaces } from './animal-faces.ts';

const ref = (name: string) => ({ name, version: '1', sha256: '0'.repeat(64) });
const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });

const FACE = box(0.4, 0.2, 0.1, 0.1);
const BIG = box(0.3, 0.1, 0.4, 0.6); // contains FACE entirely
const ELSEWHERE = box(0.7, 0.7, 0.2, 0.2); // no overlap with FACE
const HALF = box(0.45, 0.1, 0.4, 0.6); // holds half of FACE

function faces(...boxes: Box[]): ModelResult {
  return {
    task: 'faces',
    model: ref('faces'),
    count: boxes.length,
    faces: boxes.map((b) => ({ confidence: 0.72, box: b })),
  };
}
function detect(...instances: [string, Box][]): ModelResult {
  return {
    task: 'detect',
    model: ref('coco-centernet'),
    labels: [],
    instances: instances.map(([label, b]) => ({ label, confidence: 0.5, box: b })),
  };
}
const nsfw: ModelResult = {
  task: 'classify',
  model: ref('nsfw'),
  labels: [{ name: 'neutral', confidence: 0.9 }],
};

describe('fractionInside', () => {
  it.each([
    ['inside', FACE, BIG, 1],
    ['outside', FACE, ELSEWHERE, 0],
    ['half', FACE, HALF, 0.5],
    ['empty inner', box(0.5, 0.5, 0, 0), BIG, 0],
  ])('%s', (_name, inner, outer, want) => {
    expect(fractionInside(inner, outer)).toBeCloseTo(want, 9);
  });
});

describe('suppressAnimalFaces', () => {
  it.each<[string, ModelResult[], number]>([
    ['face inside a cat box -> dropped', [faces(FACE), detect(['cat', BIG])], 0],
    ['face inside a dog box, detector listed first -> dropped', [detect(['dog', BIG]), faces(FACE)], 0],
    ['face inside a teddy bear -> dropped', [faces(FACE), detect(['teddy bear', BIG])], 0],
    [
      'face inside a cat box and a person box -> kept',
      [faces(FACE), detect(['cat', BIG], ['person', BIG])],
      1,
    ],
    [
      'person box from a second detector also vouches',
      [faces(FACE), detect(['cat', BIG]), detect(['person', BIG])],
      1,
    ],
    ['face outside the cat box -> kept', [faces(FACE), detect(['cat', ELSEWHERE])], 1],
    ['face only half inside the cat box -> kept', [faces(FACE), detect(['cat', HALF])], 1],
    ['face inside a non-animal box (cup) -> kept', [faces(FACE), detect(['cup', BIG])], 1],
    ['face inside a person box only -> kept', [faces(FACE), detect(['person', BIG])], 1],
    ['no detector output (faces alone) -> unchanged', [faces(FACE), nsfw], 1],
    ['a detector that found nothing -> unchanged', [faces(FACE), detect()], 1],
    ['only the face in the cat is dropped', [faces(FACE, ELSEWHERE), detect(['cat', BIG])], 1],
  ])('%s', (_name, results, count) => {
    const out = suppressAnimalFaces(results);
    expect(out).toHaveLength(results.length);
    const f = out.find((r) => r.task === 'faces');
    if (f?.task !== 'faces') throw new Error('no faces entry');
    expect(f.count).toBe(count);
    expect(f.faces).toHaveLength(count);
    // Every other entry passes through as is.
    out.forEach((r, i) => {
      if (r.task !== 'faces') expect(r).toBe(results[i]);
    });
  });

  it('keeps the surviving face and does not mutate the input', () => {
    const input = [faces(FACE, ELSEWHERE), detect(['cat', BIG])];
    const snapshot = structuredClone(input);
    const out = suppressAnimalFaces(input);
    expect(input).toEqual(snapshot);
    const f = out[0]!;
    if (f.task !== 'faces') throw new Error('no faces entry');
    expect(f.faces.map((x) => x.box)).toEqual([ELSEWHERE]);
  });
});

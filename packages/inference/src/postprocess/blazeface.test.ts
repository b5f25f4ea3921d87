import { describe, expect, it } from 'vitest';
import { manifestSchema, type FacesManifest } from '@labelq/models';
import { blazefaceAnchors, decodeBlazeface } from './blazeface.ts';

// A 64x64 input with one head: stride 32 (2x2 cells), 2 anchors per cell = 8 anchors.
function manifest(output: Record<string, unknown> = {}): FacesManifest {
  return manifestSchema.parse({
    schemaVersion: 1,
    name: 'tiny-faces',
    version: '1',
    file: 'x.onnx',
    sha256: '0'.repeat(64),
    source: 'test',
    license: 'MIT',
    task: 'faces',
    input: { width: 64, height: 64, layout: 'NHWC', scale: 1 },
    output: {
      decoder: 'blazeface',
      heads: [{ stride: 32, anchorsPerCell: 2, scores: 's', boxes: 'b' }],
      scoreThreshold: 0.7,
      ...output,
    },
    labels: ['face'],
  }) as FacesManifest;
}

const logit = (p: number) => Math.log(p / (1 - p));
/** Per anchor: [score probability, dx, dy, w, h]; regressor rows get 2 keypoint values of padding. */
function outputs(anchors: [number, number, number, number, number][]) {
  const n = 8;
  const s = new Float32Array(n).fill(logit(0.01));
  const b = new Float32Array(n * 6);
  anchors.forEach(([p, dx, dy, w, h], i) => {
    s[i] = logit(p);
    b.set([dx, dy, w, h], i * 6);
  });
  return { s: { dims: [1, n, 1], data: s }, b: { dims: [1, n, 6], data: b } };
}

describe('blazefaceAnchors', () => {
  it('puts anchorsPerCell anchors at each cell centre, row-major', () => {
    const [a] = blazefaceAnchors([{ stride: 32, anchorsPerCell: 2, scores: 's', boxes: 'b' }], 64, 64);
    expect(Array.from(a!)).toEqual([16, 16, 16, 16, 48, 16, 48, 16, 16, 48, 16, 48, 48, 48, 48, 48]);
  });
});

describe('decodeBlazeface', () => {
  it('centres the box at anchor + offset, normalised to the input', () => {
    // Anchor 2 is at (48, 16): centre (44, 20), 16 x 8 px.
    const pad: [number, number, number, number, number] = [0.01, 0, 0, 0, 0];
    const faces = decodeBlazeface(outputs([pad, pad, [0.9, -4, 4, 16, 8]]), manifest());
    expect(faces).toHaveLength(1);
    expect(faces[0]!.confidence).toBeCloseTo(0.9, 5);
    expect(faces[0]!.box).toEqual({ x: 36 / 64, y: 16 / 64, width: 16 / 64, height: 8 / 64 });
  });

  it('merges the two anchors of one cell that see the same face, keeps a separate face', () => {
    const faces = decodeBlazeface(
      outputs([
        [0.95, 0, 0, 20, 20],
        [0.8, 1, 0, 20, 20],
        [0.01, 0, 0, 0, 0],
        [0.01, 0, 0, 0, 0],
        [0.01, 0, 0, 0, 0],
        [0.01, 0, 0, 0, 0],
        [0.75, 0, 0, 20, 20],
      ]),
      manifest(),
    );
    expect(faces.map((f) => f.confidence.toFixed(2))).toEqual(['0.95', '0.75']);
  });

  it.each([
    ['no anchor over the threshold', outputs([[0.69, 0, 0, 10, 10]])],
    ['zero-size boxes', outputs([[0.99, 0, 0, 0, 10]])],
    ['NaN scores', { ...outputs([]), s: { dims: [1, 8, 1], data: new Float32Array(8).fill(NaN) } }],
  ])('finds no faces with %s', (_name, out) => {
    expect(decodeBlazeface(out, manifest())).toEqual([]);
  });

  it.each([
    ['a missing score output', { b: outputs([]).b }],
    [
      'a head with the wrong anchor count',
      { ...outputs([]), s: { dims: [1, 7, 1], data: new Float32Array(7) } },
    ],
    [
      'regressor rows shorter than a box',
      { ...outputs([]), b: { dims: [1, 8, 3], data: new Float32Array(24) } },
    ],
  ])('rejects %s as manifest_invalid', (_name, out) => {
    expect(() => decodeBlazeface(out, manifest())).toThrow(
      expect.objectContaining({ code: 'manifest_invalid' }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { manifestSchema, type NanodetManifest } from '@labelq/models';
import { decodeNanodet, type NanodetOutput } from './nanodet.ts';
import { iou, nonMaxSuppression } from './nms.ts';

// Hand-built head outputs for a tiny 32x16 "model" with strides 8 (4x2 cells) and 16 (2x1 cells), two
// classes and regMax 3 (4 bins per side).
const W = 32;
const H = 16;
const BINS = 4;

function manifest(output: Partial<NanodetManifest['output']> = {}): NanodetManifest {
  return manifestSchema.parse({
    schemaVersion: 1,
    name: 'tiny-det',
    version: '1',
    file: 'tiny.onnx',
    sha256: '0'.repeat(64),
    source: 'test',
    license: 'MIT',
    task: 'detect',
    input: { width: W, height: H, layout: 'NCHW', scale: 1 / 255 },
    labels: ['a', 'b'],
    output: {
      decoder: 'nanodet',
      strides: [
        { stride: 8, scores: 's8', boxes: 'b8' },
        { stride: 16, scores: 's16', boxes: 'b16' },
      ],
      regMax: BINS - 1,
      scoreThreshold: 0.3,
      iouThreshold: 0.5,
      ...output,
    },
  }) as NanodetManifest;
}

/** All-zero scores and uniform box logits; `set` fills cells. */
function heads() {
  const cells = { 8: (W / 8) * (H / 8), 16: (W / 16) * Math.ceil(H / 16) };
  const out: Record<string, NanodetOutput & { data: Float32Array }> = {};
  for (const stride of [8, 16] as const) {
    out[`s${stride}`] = { dims: [1, cells[stride], 2], data: new Float32Array(cells[stride] * 2) };
    out[`b${stride}`] = {
      dims: [1, cells[stride], 4 * BINS],
      data: new Float32Array(cells[stride] * 4 * BINS),
    };
  }
  /** Cell `cell` of `stride` scores `score` for class `cls`; its sides (l, t, r, b) peak at the given bins. */
  const set = (
    stride: 8 | 16,
    cell: number,
    cls: number,
    score: number,
    sides?: [number, number, number, number],
  ) => {
    out[`s${stride}`]!.data[cell * 2 + cls] = score;
    sides?.forEach((bin, side) => {
      const base = cell * 4 * BINS + side * BINS;
      for (let k = 0; k < BINS; k++) out[`b${stride}`]!.data[base + k] = k === bin ? 40 : 0;
    });
  };
  return { out, set };
}

describe('decodeNanodet', () => {
  it('turns bin distributions into ltrb boxes around the cell centre, normalised and clamped', () => {
    const { out, set } = heads();
    // Stride 8, cell 5 = column 1, row 1: centre (12, 12). Distances l 8, t 0, r 16, b 8 -> (4, 12)-(28, 20).
    set(8, 5, 1, 0.9, [1, 0, 2, 1]);
    const { instances, labels } = decodeNanodet(out, manifest());
    expect(instances).toHaveLength(1);
    const [inst] = instances;
    expect(inst?.label).toBe('b');
    expect(inst?.confidence).toBeCloseTo(0.9, 6);
    expect(inst?.box.x).toBeCloseTo(4 / W, 6);
    expect(inst?.box.y).toBeCloseTo(12 / H, 6);
    expect(inst?.box.width).toBeCloseTo(24 / W, 6);
    expect(inst?.box.height).toBeCloseTo((H - 12) / H, 6); // bottom 20 clamped to 16
    expect(labels).toEqual([{ name: 'b', confidence: inst?.confidence }]);
  });

  it('uses the expectation of the softmax, not the arg max', () => {
    const { out, set } = heads();
    set(16, 1, 0, 0.8); // uniform logits: expected bin 1.5 -> 24 px each side of the centre (24, 8)
    const [inst] = decodeNanodet(out, manifest()).instances;
    expect(inst?.box.x).toBeCloseTo(0, 6); // 24 - 24
    expect(inst?.box.width).toBeCloseTo((W - 0) / W, 6); // 24 + 24 = 48 clamped to 32
    const { out: out2, set: set2 } = heads();
    set2(16, 0, 0, 0.8);
    // Two equal peaks at bins 0 and 2 average to 1 bin (16 px).
    const base = 0;
    out2.b16!.data.fill(0, base, 4 * BINS);
    for (let side = 0; side < 4; side++) {
      out2.b16!.data[side * BINS + 0] = 40;
      out2.b16!.data[side * BINS + 2] = 40;
    }
    const [inst2] = decodeNanodet(out2, manifest()).instances;
    expect(inst2?.box.x).toBeCloseTo(0, 6); // centre 8 - 16 -> clamped
    expect((inst2?.box.x ?? 0) + (inst2?.box.width ?? 0)).toBeCloseTo(24 / W, 5);
  });

  it('drops candidates below the score threshold and keeps those at it', () => {
    const { out, set } = heads();
    set(8, 0, 0, 0.29, [0, 0, 1, 1]);
    set(8, 7, 0, 0.3, [0, 0, 1, 1]);
    const { instances } = decodeNanodet(out, manifest());
    expect(instances.map((i) => i.confidence)).toEqual([expect.closeTo(0.3, 6)]);
  });

  it('applies a sigmoid only when the manifest asks for it', () => {
    const { out, set } = heads();
    set(8, 0, 0, 2, [0, 0, 1, 1]); // logit 2 -> 0.8808
    expect(decodeNanodet(out, manifest({ scoreActivation: 'sigmoid' })).instances[0]?.confidence).toBeCloseTo(
      1 / (1 + Math.exp(-2)),
      6,
    );
    // Without activation the raw value is a probability already; values above 1 are capped.
    expect(decodeNanodet(out, manifest()).instances[0]?.confidence).toBe(1);
  });

  it('suppresses overlapping boxes of one class but not of different classes', () => {
    const { out, set } = heads();
    // Neighbouring cells 1 and 2 (centres x 12 and 20, y 4) with wide boxes overlap heavily.
    set(8, 1, 0, 0.9, [2, 0, 2, 1]);
    set(8, 2, 0, 0.7, [2, 0, 2, 1]);
    set(8, 2, 1, 0.6, [2, 0, 2, 1]);
    // Far-away cell of class a: no overlap with the first, kept.
    set(8, 7, 0, 0.5, [0, 0, 0, 0]);
    const { instances, labels } = decodeNanodet(out, manifest());
    expect(instances.map((i) => [i.label, Number(i.confidence.toFixed(2))])).toEqual([
      ['a', 0.9],
      ['b', 0.6],
      ['a', 0.5],
    ]);
    expect(labels.map((l) => l.name)).toEqual(['a', 'b']);
    expect(labels[0]?.confidence).toBeCloseTo(0.9, 6);
  });

  it('keeps overlapping boxes when their IoU is at or below the threshold', () => {
    const { out, set } = heads();
    set(8, 1, 0, 0.9, [1, 0, 1, 1]); // x 4..20
    set(8, 2, 0, 0.8, [1, 0, 1, 1]); // x 12..28: IoU 8/24 = 0.33
    expect(decodeNanodet(out, manifest()).instances).toHaveLength(2);
    expect(decodeNanodet(out, manifest({ iouThreshold: 0.3 })).instances).toHaveLength(1);
  });

  it('reports at most maxInstances, best first', () => {
    const { out, set } = heads();
    for (let cell = 0; cell < 8; cell++) set(8, cell, 0, 0.4 + cell / 100, [0, 0, 0, 0]);
    const { instances } = decodeNanodet(out, manifest({ maxInstances: 3 }));
    expect(instances.map((i) => Number(i.confidence.toFixed(2)))).toEqual([0.47, 0.46, 0.45]);
    for (const i of instances) {
      for (const v of [i.box.x, i.box.y, i.box.x + i.box.width, i.box.y + i.box.height]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });

  it('returns nothing for an empty image', () => {
    const { out } = heads();
    expect(decodeNanodet(out, manifest())).toEqual({ labels: [], instances: [] });
  });

  it('fails with manifest_invalid on a missing or misshaped output', () => {
    const { out } = heads();
    const { s16: _missing, ...rest } = out;
    expect(() => decodeNanodet(rest, manifest())).toThrow(
      expect.objectContaining({ code: 'manifest_invalid' }),
    );
    expect(() =>
      decodeNanodet({ ...out, b8: { dims: [1, 8, 40], data: new Float32Array(320) } }, manifest()),
    ).toThrow(/output 'b8' has shape \[1, 8, 40\]/);
  });
});

describe('nms', () => {
  const box = (x1: number, y1: number, x2: number, y2: number, score = 1, classIndex = 0) => ({
    x1,
    y1,
    x2,
    y2,
    score,
    classIndex,
  });

  it('computes IoU', () => {
    expect(iou(box(0, 0, 2, 2), box(0, 0, 2, 2))).toBe(1);
    expect(iou(box(0, 0, 2, 2), box(1, 0, 3, 2))).toBeCloseTo(2 / 6, 10);
    expect(iou(box(0, 0, 1, 1), box(1, 1, 2, 2))).toBe(0);
    expect(iou(box(0, 0, 0, 0), box(0, 0, 0, 0))).toBe(0);
  });

  it('is greedy by score and deterministic on ties', () => {
    const boxes = [
      box(0, 0, 10, 10, 0.5),
      box(1, 1, 10, 10, 0.9),
      box(20, 20, 30, 30, 0.5),
      box(0, 0, 10, 10, 0.5),
    ];
    const kept = nonMaxSuppression(boxes, 0.5, 10);
    expect(kept).toEqual([boxes[1], boxes[2]]);
  });
});

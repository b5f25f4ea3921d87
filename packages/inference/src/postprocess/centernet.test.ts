import { describe, expect, it } from 'vitest';
import { manifestSchema, type CenternetManifest } from '@labelq/models';
import { decodeCenternet } from './centernet.ts';

const LABELS = ['person', 'cat', 'knife'];

function manifest(output: Record<string, unknown> = {}): CenternetManifest {
  return manifestSchema.parse({
    schemaVersion: 1,
    name: 'tiny-centernet',
    version: '1',
    file: 'x.onnx',
    sha256: '0'.repeat(64),
    source: 'test',
    license: 'MIT',
    task: 'detect',
    input: { width: 100, height: 50, layout: 'NHWC', scale: 1 },
    output: { decoder: 'centernet', name: 'det', scoreThreshold: 0.3, ...output },
    labels: LABELS,
  }) as CenternetManifest;
}

/** [1, N, 6] rows: x1, y1, x2, y2 (input pixels), score, class. */
const rows = (...r: number[][]) => ({ det: { dims: [1, r.length, 6], data: Float32Array.from(r.flat()) } });

describe('decodeCenternet', () => {
  it('normalises pixel boxes to the input, keeps rows at or above the threshold, best first', () => {
    const out = decodeCenternet(
      rows([10, 5, 60, 45, 0.9, 1], [0, 0, 100, 50, 0.3, 0], [20, 10, 30, 20, 0.29, 2]),
      manifest(),
      'det',
    );
    expect(out.instances.map((i) => [i.label, i.confidence.toFixed(2), i.box])).toEqual([
      ['cat', '0.90', { x: 0.1, y: 0.1, width: 0.5, height: 0.8 }],
      ['person', '0.30', { x: 0, y: 0, width: 1, height: 1 }],
    ]);
    expect(out.labels.map((l) => l.name)).toEqual(['cat', 'person']);
  });

  it('suppresses a same-class duplicate but keeps an overlapping box of another class', () => {
    const out = decodeCenternet(
      rows([10, 10, 50, 40, 0.8, 1], [12, 10, 52, 40, 0.7, 1], [10, 10, 50, 40, 0.6, 0]),
      manifest(),
      'det',
    );
    expect(out.instances.map((i) => `${i.label} ${i.confidence.toFixed(1)}`)).toEqual([
      'cat 0.8',
      'person 0.6',
    ]);
  });

  it('reads normalised boxes and clips boxes that run past the edges', () => {
    const out = decodeCenternet(
      rows([-0.1, 0.5, 0.5, 1.2, 0.9, 2]),
      manifest({ boxUnits: 'normalized' }),
      'det',
    );
    expect(out.instances[0]?.box).toEqual({ x: 0, y: 0.5, width: 0.5, height: 0.5 });
  });

  it.each([
    ['no rows at all', { det: { dims: [1, 0, 6], data: new Float32Array(0) } }],
    ['every row under the threshold', rows([0, 0, 10, 10, 0.1, 0], [0, 0, 10, 10, 0.29, 1])],
    ['NaN scores', rows([0, 0, 10, 10, NaN, 0])],
    ['empty or inverted boxes', rows([10, 10, 10, 20, 0.9, 0], [50, 40, 10, 10, 0.9, 1])],
  ])('finds nothing with %s', (_name, outputs) => {
    expect(decodeCenternet(outputs, manifest(), 'det')).toEqual({ labels: [], instances: [] });
  });

  it.each([
    ['a missing output', {}, 'manifest_invalid'],
    ['rows of 5 values', { det: { dims: [1, 2, 5], data: new Float32Array(10) } }, 'manifest_invalid'],
    ['a class index past the labels', rows([0, 0, 10, 10, 0.9, 3]), 'model_output_invalid'],
    ['a fractional class index', rows([0, 0, 10, 10, 0.9, 1.5]), 'model_output_invalid'],
  ])('rejects %s with %s', (_name, outputs, code) => {
    expect(() => decodeCenternet(outputs, manifest(), 'det')).toThrow(expect.objectContaining({ code }));
  });

  it('keeps at most maxInstances', () => {
    const many = Array.from({ length: 10 }, (_, i) => [i * 10, 0, i * 10 + 9, 9, 0.5 + i / 100, 0]);
    expect(decodeCenternet(rows(...many), manifest({ maxInstances: 3 }), 'det').instances).toHaveLength(3);
  });
});

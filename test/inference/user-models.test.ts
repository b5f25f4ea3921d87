// A user's own detector ([N, 6] centernet-style output) and classifier, added by manifest alone, through the
// real pool and a moderation rule over the detector's instances.
import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { mergePolicy, moderate, policyFileSchema } from '@labelq/moderation';
import { writeSyntheticModel } from '../fixtures/synthetic-classifier.ts';
import { writeSyntheticDetector } from '../fixtures/synthetic-detector.ts';

const solid = (width: number, height: number, r: number, g: number, b: number) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

describe('user models by manifest alone', () => {
  let dir: string;
  let pool: InferencePool;

  beforeAll(async () => {
    dir = await writeSyntheticDetector();
    await writeSyntheticModel({}, dir);
    pool = await createInferencePool({ modelsDir: dir, threads: 1 });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the detector with its task from the manifest', () => {
    expect(pool.manifests.map((m) => [m.name, m.task])).toEqual([
      ['rgb-detector', 'detect'],
      ['rgb-synthetic', 'classify'],
    ]);
  });

  it('a square red image: one red instance over the top half, the classifier says red', async () => {
    const out = await pool.classify(await solid(40, 40, 255, 0, 0));
    const [det, cls] = out.results;
    expect(det?.task).toBe('detect');
    if (det?.task !== 'detect') return;
    expect(det.instances).toHaveLength(1);
    expect(det.instances[0]!.label).toBe('red');
    expect(det.instances[0]!.confidence).toBeCloseTo(1, 5);
    expect(det.instances[0]!.box).toEqual({ x: 0, y: 0, width: 1, height: 0.5 });
    expect(cls?.task === 'classify' && cls.labels[0]?.name).toBe('red');
  });

  it('undoes the letterbox: a wide image fills the middle half of the input, boxes map back onto it', async () => {
    // 64x32 -> 32x16 content at y 8..24 of the 32x32 input; black bars halve the mean colour.
    const out = await pool.classify(await solid(64, 32, 0, 255, 0), { models: ['rgb-detector'] });
    const det = out.results[0]!;
    if (det.task !== 'detect') throw new Error('not a detect result');
    expect(det.instances.map((i) => i.label)).toEqual(['green']);
    expect(det.instances[0]!.confidence).toBeCloseTo(0.5, 2);
    // Input rows 16..32 = content rows 8..16 of 16 -> the bottom half of the original image.
    const { x, y, width, height } = det.instances[0]!.box;
    expect([x, y, width, height].map((v) => Number(v.toFixed(6)))).toEqual([0, 0.5, 1, 0.5]);
  });

  it('nothing over the threshold on a black image', async () => {
    const out = await pool.classify(await solid(20, 20, 0, 0, 0), { models: ['rgb-detector'] });
    expect(out.results[0]).toMatchObject({ task: 'detect', labels: [], instances: [] });
  });

  it('a policy rule over the user detector turns its instance into a review', async () => {
    const policy = mergePolicy(
      policyFileSchema.parse({
        version: 'user-1',
        rules: [
          { kind: 'instance', model: 'rgb-detector', label: 'blue', minConfidence: 0.6, action: 'review' },
        ],
      }),
    );
    const blue = await pool.classify(await solid(30, 30, 0, 0, 255));
    expect(moderate(blue.results, policy)).toMatchObject({
      decision: 'review',
      reasons: [{ rule: 'instance', model: 'rgb-detector', label: 'blue', count: 1 }],
    });
    const red = await pool.classify(await solid(30, 30, 255, 0, 0));
    expect(moderate(red.results, policy)?.decision).toBe('allow');
  });
});

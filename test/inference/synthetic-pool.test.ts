import { resultLabels } from '@labelq/contracts';
import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool, type InferencePoolExtras } from '@labelq/inference';
import { writeSyntheticModel } from '../fixtures/synthetic-classifier.ts';

async function solid(r: number, g: number, b: number, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: { r, g, b } } })
    .toFormat(format)
    .toBuffer();
}

describe('pluggable classifier through the real pool', () => {
  let dir: string;
  let pool: InferencePool & InferencePoolExtras;

  beforeAll(async () => {
    dir = await writeSyntheticModel();
    await writeSyntheticModel({ name: 'rgb-nhwc', layout: 'NHWC', size: 12 }, dir);
    pool = await createInferencePool({ modelsDir: dir, threads: 2, testHooks: true });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads both manifests', () => {
    expect(pool.manifests.map((m) => m.name)).toEqual(['rgb-nhwc', 'rgb-synthetic']);
    expect(pool.threads).toBe(2);
  });

  it.each([
    ['red', [255, 0, 0]],
    ['green', [0, 255, 0]],
    ['blue', [0, 0, 255]],
  ] as const)('a solid %s image classifies as %s in both layouts', async (label, [r, g, b]) => {
    const out = await pool.classify(await solid(r, g, b));
    expect(out.image).toEqual({ format: 'png', width: 40, height: 30 });
    expect(out.results).toHaveLength(2);
    for (const result of out.results) {
      expect(resultLabels(result)[0]?.name).toBe(label);
      expect(resultLabels(result)[0]!.confidence).toBeGreaterThan(0.99);
      expect(resultLabels(result)).toHaveLength(3);
      for (const l of resultLabels(result)) expect(l.confidence).toBeGreaterThanOrEqual(0);
      expect(result.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Object.keys(out.timings.models).sort()).toEqual(['rgb-nhwc', 'rgb-synthetic']);
  });

  it('honours models, topK and minConfidence per call', async () => {
    const out = await pool.classify(await solid(200, 30, 30, 'jpeg'), { models: ['rgb-synthetic'], topK: 1 });
    expect(out.results.map((r) => r.model.name)).toEqual(['rgb-synthetic']);
    expect(resultLabels(out.results[0]!).map((l) => l.name)).toEqual(['red']);
    const confident = await pool.classify(await solid(200, 30, 30), { minConfidence: 0.5 });
    for (const r of confident.results) expect(resultLabels(r).map((l) => l.name)).toEqual(['red']);
  });

  it('rejects unknown models with unknown_model', async () => {
    await expect(pool.classify(await solid(1, 2, 3), { models: ['nope'] })).rejects.toMatchObject({
      code: 'unknown_model',
    });
  });

  it('transfers the caller buffer (detached afterwards)', async () => {
    const bytes = new Uint8Array(await solid(0, 0, 255));
    await pool.classify(bytes);
    expect(bytes.byteLength).toBe(0);
  });

  it('survives a thread crash and keeps classifying', async () => {
    const err = await pool.crashThreadForTest();
    expect(err.code).toBe('inference_failed');
    const outs = await Promise.all([0, 1, 2, 3].map(() => solid(0, 255, 0).then((b) => pool.classify(b))));
    for (const out of outs) expect(resultLabels(out.results[0]!)[0]!.name).toBe('green');
  });

  it('rejects with queue_unavailable (retryable) when maxQueue is exceeded, and recovers', async () => {
    const small = await createInferencePool({ modelsDir: dir, threads: 1, maxQueue: 1 });
    try {
      const img = await solid(255, 0, 0);
      const settled = await Promise.allSettled(
        Array.from({ length: 6 }, () => small.classify(new Uint8Array(img))),
      );
      const rejected = settled.filter((r) => r.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected)
        expect(r.reason).toMatchObject({ code: 'queue_unavailable', retryable: true });
      expect(settled.some((r) => r.status === 'fulfilled')).toBe(true);
      expect(resultLabels((await small.classify(img)).results[0]!)[0]!.name).toBe('red');
    } finally {
      await small.close();
    }
  });
});

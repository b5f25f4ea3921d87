// The calibrated defaults on real photos through the real NSFW model (docs/moderation.md has the numbers).
import { createInferencePool, type InferencePool } from '@labelq/inference';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDir, readPhoto, type PhotoName } from '../../../test/fixtures/index.ts';
import { moderate } from './decide.ts';
import { DEFAULT_POLICY } from './policy.ts';

describe('default moderation policy on real photos (nsfw-mobilenet-v2)', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = await createInferencePool({ modelsDir, models: ['nsfw-mobilenet-v2'], threads: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });

  async function verdict(bytes: Buffer) {
    const out = await pool.classify(new Uint8Array(bytes));
    return moderate(out.results, DEFAULT_POLICY);
  }

  it.each<PhotoName>(['astronaut', 'camera', 'chelsea', 'coffee', 'rocket'])('%s -> allow', async (name) => {
    const m = await verdict(readPhoto(name));
    expect(m).toMatchObject({ decision: 'allow', reasons: [], policy: DEFAULT_POLICY.version });
  });

  // Close crops of faces are where the model's Porn score climbs on clothed people (skin fills the frame).
  it.each([
    ['astronaut face', 'astronaut', { left: 140, top: 10, width: 200, height: 220 }],
    ['camera operator head', 'camera', { left: 200, top: 40, width: 150, height: 150 }],
  ] as const)('%s crop -> allow', async (_label, photo, region) => {
    const crop = await sharp(readPhoto(photo)).extract(region).jpeg().toBuffer();
    expect((await verdict(crop))?.decision).toBe('allow');
  });
});

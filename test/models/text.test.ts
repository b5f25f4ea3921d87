// The opt-in `text` task (PP-OCRv4) through the real pool: text rendered onto a fixture photo in the test
// (sharp composites SVG text in DejaVu fonts) is read exactly, ignoring spaces and case; the model only runs
// when named; a damaged recogniser file is refused by its sha256.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { loadModels } from '@labelq/models';
import { modelsDir, photos, type PhotoName } from '../fixtures/index.ts';

const LINES = [
  { text: 'OPEN 24 HOURS', font: 'DejaVu Sans', size: 40, y: 80 },
  { text: 'Fresh coffee 3.50', font: 'DejaVu Serif', size: 34, y: 150 },
  { text: 'labelq 2026', font: 'DejaVu Sans Mono', size: 32, y: 430 },
];
const norm = (s: string) => s.replace(/\s+/g, '').toLowerCase();

/** The photo at 640 px wide with the lines drawn on white bands (signs, captions, watermarks look like this). */
async function withText(photo: PhotoName): Promise<Buffer> {
  const body = LINES.map(
    (l) =>
      `<rect x="30" y="${l.y - l.size}" width="${l.text.length * l.size * 0.68}" height="${l.size * 1.35}" fill="white"/>` +
      `<text x="40" y="${l.y}" font-family="${l.font}" font-size="${l.size}" fill="black">${l.text}</text>`,
  ).join('');
  const svg = `<svg width="640" height="480" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
  return sharp(photos[photo])
    .resize(640, 480, { fit: 'fill' })
    .composite([{ input: Buffer.from(svg) }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('text (PP-OCRv4)', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = await createInferencePool({ modelsDir, models: ['text', 'faces'], threads: 1 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('reads rendered lines exactly (ignoring spaces and case), top to bottom, with boxes where they are', async () => {
    const out = await pool.classify(await withText('coffee'), { models: ['text'] });
    const r = out.results[0]!;
    if (r.task !== 'text') throw new Error(`expected a text result, got ${r.task}`);
    const read = r.lines.map((l) => norm(l.text));
    for (const l of LINES) expect(read, l.text).toContain(norm(l.text));
    const order = LINES.map((l) => read.indexOf(norm(l.text)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const line of r.lines) {
      expect(line.confidence).toBeGreaterThanOrEqual(0.5);
      expect(line.box.x).toBeGreaterThanOrEqual(0);
      expect(line.box.x + line.box.width).toBeLessThanOrEqual(1);
    }
    const first = r.lines[read.indexOf(norm(LINES[0]!.text))]!;
    // Drawn at y 40..80 of 480 px.
    expect(first.box.y).toBeLessThan(80 / 480);
    expect(first.box.y + first.box.height).toBeGreaterThan(40 / 480);
  });

  it('is opt-in: not part of "every model", runs when named', async () => {
    const out = await pool.classify(await withText('chelsea'));
    expect(out.results.map((r) => r.model.name)).toEqual(['faces']);
    const named = await pool.classify(await withText('chelsea'), { models: ['faces', 'text'] });
    expect(named.results.map((r) => r.task)).toEqual(['faces', 'text']);
  });

  it('refuses a recogniser whose sha256 does not match the manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'labelq-text-'));
    try {
      for (const f of ['text.json', 'text.onnx', 'text-dictionary.txt'])
        await copyFile(join(modelsDir, f), join(dir, f));
      await writeFile(join(dir, 'text-recognizer.onnx'), 'not a model');
      await expect(loadModels(dir, ['text'])).rejects.toMatchObject({ code: 'model_checksum_mismatch' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

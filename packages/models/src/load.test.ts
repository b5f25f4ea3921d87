import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModels } from './load.ts';

const ONNX = Buffer.from('not really onnx, but loadModels only hashes it');

function manifest(name: string, over: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    name,
    version: '1',
    file: `${name}.onnx`,
    sha256: createHash('sha256').update(ONNX).digest('hex'),
    source: 'test',
    license: 'MIT',
    task: 'classify',
    input: { width: 4, height: 4, layout: 'NCHW', scale: 1 },
    labels: ['x'],
    output: { activation: 'none' },
    ...over,
  };
}

describe('loadModels', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'labelq-load-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const put = async (name: string, m: unknown, onnx: Buffer | null = ONNX) => {
    await writeFile(join(dir, `${name}.json`), typeof m === 'string' ? m : JSON.stringify(m));
    if (onnx) await writeFile(join(dir, `${name}.onnx`), onnx);
  };

  it('loads every manifest sorted by file, or the requested ones in request order', async () => {
    await put('b-model', manifest('b-model'));
    await put('a-model', manifest('a-model'));
    const all = await loadModels(dir);
    expect(all.map((m) => m.manifest.name)).toEqual(['a-model', 'b-model']);
    expect(all[0]!.path).toBe(join(dir, 'a-model.onnx'));
    expect(all[0]!.manifest.defaults).toEqual({ topK: 5, minConfidence: 0 });
    const some = await loadModels(dir, ['b-model', 'a-model']);
    expect(some.map((m) => m.manifest.name)).toEqual(['b-model', 'a-model']);
  });

  it('unknown_model for a name without a manifest', async () => {
    await put('a-model', manifest('a-model'));
    await expect(loadModels(dir, ['nope'])).rejects.toMatchObject({ code: 'unknown_model' });
  });

  it('manifest_invalid names the file and the field', async () => {
    await put('bad', manifest('bad', { input: { width: -1, height: 4, layout: 'NCHW', scale: 1 } }));
    const err = await loadModels(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'manifest_invalid' });
    expect((err as Error).message).toMatch(/bad\.json: input\.width/);
  });

  it('manifest_invalid for broken JSON', async () => {
    await put('broken', '{"schemaVersion": 1,');
    await expect(loadModels(dir)).rejects.toMatchObject({
      code: 'manifest_invalid',
      message: /broken\.json/,
    });
  });

  it('model_missing when the .onnx is absent, or the folder is', async () => {
    await put('lonely', manifest('lonely'), null);
    await expect(loadModels(dir)).rejects.toMatchObject({ code: 'model_missing' });
    await expect(loadModels(join(dir, 'nope'))).rejects.toMatchObject({ code: 'model_missing' });
  });

  it('model_missing for an empty folder', async () => {
    await expect(loadModels(dir)).rejects.toMatchObject({ code: 'model_missing' });
  });

  it('model_checksum_mismatch when the file changed', async () => {
    await put('changed', manifest('changed'), Buffer.from('tampered'));
    await expect(loadModels(dir)).rejects.toMatchObject({ code: 'model_checksum_mismatch' });
  });
});

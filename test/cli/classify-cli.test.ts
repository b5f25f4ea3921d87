import { execFile } from 'node:child_process';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photoNames, photos, repoRoot } from '../fixtures/index.ts';
import { hostileCases, writeHostileCorpus } from '../fixtures/hostile/index.ts';
import { writeSyntheticModel } from '../fixtures/synthetic-classifier.ts';

const run = promisify(execFile);
const MAIN = join(repoRoot, 'services', 'cli', 'src', 'main.ts');
const TSX = join(repoRoot, 'node_modules', '.bin', 'tsx');

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(TSX, [MAIN, ...args], {
      env: { ...process.env, ...env },
      cwd: repoRoot,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('labelq classify (CLI)', () => {
  let modelsDir: string;
  let corpus: string;
  let photosDir: string;

  beforeAll(async () => {
    modelsDir = await writeSyntheticModel();
    corpus = await writeHostileCorpus();
    photosDir = join(modelsDir, 'photos');
    await mkdir(photosDir);
    for (const name of photoNames) await copyFile(photos[name], join(photosDir, `${name}.jpg`));
  });
  afterAll(async () => {
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('--json: one parsable line per file, in order; a bad file yields an error line with a code', async () => {
    const bad = join(corpus, hostileCases.find((c) => c.file === 'truncated.jpg')!.file);
    const out = await cli(['classify', photosDir, bad, '--json', '--top-k', '2'], {
      MODELS_DIR: modelsDir,
      POOL_THREADS: '2',
    });
    expect(out.code).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.file)).toEqual([...photoNames.map((n) => join(photosDir, `${n}.jpg`)), bad]);
    for (const line of lines.slice(0, -1)) {
      const results = line.results as {
        model: { name: string };
        labels: { name: string; confidence: number }[];
      }[];
      expect(results[0]!.model.name).toBe('rgb-synthetic');
      expect(results[0]!.labels).toHaveLength(2);
    }
    expect(lines.at(-1)).toMatchObject({ error: { code: 'image_decode_failed' } });
  });

  it('table output names every file; a missing file exits 1', async () => {
    const out = await cli(['classify', join(photosDir, 'chelsea.jpg'), join(photosDir, 'missing.jpg')], {
      MODELS_DIR: modelsDir,
    });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^FILE\s+MODEL\s+TOP LABELS/);
    expect(out.stdout).toMatch(/chelsea\.jpg\s+rgb-synthetic\s+red 0\.\d{3}/);
    expect(out.stdout).toMatch(/missing\.jpg\s+ERROR\s+not_found/);
  });

  it('usage and configuration errors exit 2', async () => {
    expect((await cli(['classify'], { MODELS_DIR: modelsDir })).code).toBe(2);
    expect((await cli(['classify', photosDir, '--top-k', 'x'], { MODELS_DIR: modelsDir })).code).toBe(2);
    const unknown = await cli(['classify', photosDir, '--models', 'nope'], { MODELS_DIR: modelsDir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown_model/);
  });
});

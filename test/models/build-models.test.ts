// `pnpm models` (scripts/build-models.ts): the sha256 check, --update-manifests and the up-to-date fast path, run
// as the real script on a scratch copy of the nsfw-mobilenet-v2 manifest; and the committed manifests.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema } from '@labelq/models';
import { CATALOG } from '../../scripts/models/catalog.ts';
import { repoRoot } from '../fixtures/index.ts';

const manifestsDir = join(repoRoot, 'packages', 'models', 'manifests');
const NAME = 'nsfw-mobilenet-v2';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function buildModels(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scripts', 'build-models.ts'), ...args],
      { cwd: repoRoot },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('pnpm models', () => {
  let dir: string;
  let manifests: string;
  let out: string;
  let committed: string;
  let recorded: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'labelq-models-'));
    manifests = join(dir, 'manifests');
    out = join(dir, 'out');
    await mkdir(manifests);
    committed = await readFile(join(manifestsDir, `${NAME}.json`), 'utf8');
    recorded = manifestSchema.parse(JSON.parse(committed)).sha256;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const args = () => [NAME, '--manifests-dir', manifests, '--out-dir', out];

  it('fails with a clear message when the converted model does not match the recorded sha256', async () => {
    await writeFile(join(manifests, `${NAME}.json`), committed.replace(recorded, 'f'.repeat(64)));
    const run = await buildModels(...args());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the converted model's sha256 is ${recorded}`);
    expect(run.stderr).toContain('f'.repeat(64));
    expect(run.stderr).toContain('pnpm models --update-manifests');
    expect(existsSync(join(out, `${NAME}.onnx`))).toBe(false);
  });

  it('--update-manifests records the new sha256, keeping the rest of the manifest', async () => {
    const run = await buildModels(...args(), '--update-manifests');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${NAME} +recorded in [0-9.]+ s +10\\.0 MiB`));
    expect(await readFile(join(manifests, `${NAME}.json`), 'utf8')).toBe(committed);
    expect((await readdir(out)).sort()).toEqual([`${NAME}.json`, `${NAME}.onnx`]);
    expect(await readFile(join(out, `${NAME}.json`), 'utf8')).toBe(committed);
  });

  it('does nothing when models/ already holds the recorded model', async () => {
    const run = await buildModels(...args());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`${NAME} +up to date +10\\.0 MiB +sha256 ${recorded.slice(0, 12)}`),
    );
  });

  it('rewrites a damaged model', async () => {
    await writeFile(join(out, `${NAME}.onnx`), 'not a model');
    const run = await buildModels(...args());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${NAME} +converted in`));
  });

  it('rejects an unknown model name', async () => {
    const run = await buildModels('no-such-model', '--manifests-dir', manifests, '--out-dir', out);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown model no-such-model');
  });

  it('reports a missing manifest', async () => {
    const run = await buildModels('nsfw-inception-v3', '--manifests-dir', manifests, '--out-dir', out);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('nsfw-inception-v3: no manifest at');
  });
});

describe('the committed manifests', () => {
  it.each(CATALOG.map((e) => [e.name]))('%s is valid and names its catalog entry', async (name) => {
    const manifest = manifestSchema.parse(
      JSON.parse(await readFile(join(manifestsDir, `${name}.json`), 'utf8')),
    );
    expect(manifest.name).toBe(name);
    expect(manifest.file).toBe(`${name}.onnx`);
  });

  it.each(['nsfw-mobilenet-v2', 'nsfw-inception-v3'])('%s describes the NSFWJS classifier', async (name) => {
    const manifest = manifestSchema.parse(
      JSON.parse(await readFile(join(manifestsDir, `${name}.json`), 'utf8')),
    );
    expect(manifest.task).toBe('classify');
    expect(manifest.labels).toEqual(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
    expect(manifest.input).toMatchObject({
      name: 'input',
      layout: 'NHWC',
      channelOrder: 'RGB',
      scale: 1 / 255,
    });
    expect(manifest.input.mean).toEqual([0, 0, 0]);
    expect(manifest.input.std).toEqual([1, 1, 1]);
    expect(manifest.output).toEqual({ name: 'probabilities', activation: 'none' });
    expect(manifest.license).toBe('MIT');
    expect(manifest.source).toMatch(/^npm:nsfwjs@4\.4\.0 dist\/models\//);
  });
});

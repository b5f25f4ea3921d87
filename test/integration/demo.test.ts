// `pnpm demo --json` end to end on the fixture photos: its own embedded services, real HTTP, real models.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { photoNames, repoRoot } from '../fixtures/index.ts';

it('classifies every fixture photo and exits 0', async () => {
  const child = spawn(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['scripts/demo.ts', '--json'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      MODELS: 'coco-nanodet,nsfw-mobilenet-v2',
      POOL_THREADS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, stderr).toBe(0);

  const rows = stdout
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { file: string; status: string; tags: { name: string }[]; moderation: unknown },
    );
  expect(rows.map((r) => r.file)).toEqual(photoNames.map((n) => `${n}.jpg`).sort());
  for (const r of rows) expect(r.status, JSON.stringify(r)).toBe('completed');
  expect(rows.find((r) => r.file === 'coffee.jpg')?.tags[0]?.name).toBe('cup');
}, 240_000);

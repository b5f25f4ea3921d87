// `pnpm demo --json` end to end on the fixture photos: its own embedded services, real HTTP, real models.
import { expect, it } from 'vitest';
import { photoNames } from '../fixtures/index.ts';
import { runScript } from '../helpers/run-script.ts';

it('classifies every fixture photo and exits 0', async () => {
  const { code, stdout, stderr } = await runScript('scripts/demo.ts', ['--json'], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    MODELS: 'coco-nanodet,nsfw-mobilenet-v2',
    POOL_THREADS: '1',
  });
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

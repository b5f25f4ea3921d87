// `labelq batch ...`: the real CLI (node --import tsx, as `pnpm labelq` runs it, stderr not a TTY) against the
// API and a worker (real model) on the shared Redis and a private s3rver.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Batch } from '@labelq/contracts';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../fixtures/index.ts';
import { uniqueName } from '../helpers/env.ts';
import { putTinyImages, startBatchStack, tinyPng, type BatchStack } from '../helpers/batch-stack.ts';
import { runScript } from '../helpers/run-script.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const MAIN = join(repoRoot, 'services', 'cli', 'src', 'main.ts');
const RESULTS = 'cli-results';
const SOURCE = 'cli-source';

let s3: LocalS3;
let stack: BatchStack;
let dir: string;

beforeAll(async () => {
  s3 = await startLocalS3([RESULTS, SOURCE, 'cli-forbidden']);
  stack = await startBatchStack({ s3, bucket: RESULTS, sources: [SOURCE] });
  await stack.startWorker();
  dir = await mkdtemp(join(tmpdir(), 'labelq-batch-cli-'));
});

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The CLI with only what a shell gives it: the API from LABELQ_API_URL (or --api). */
function cli(args: string[]) {
  return runScript(MAIN, ['batch', ...args], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_OPTIONS: process.env.NODE_OPTIONS,
    LABELQ_API_URL: stack.api.url,
  });
}

describe('labelq batch', () => {
  it('create s3://bucket/prefix/ --wait --json: progress on stderr, the ended batch on stdout, exit 0; status, list and export', async () => {
    const prefix = `${uniqueName('cli')}/`;
    await putTinyImages(s3, SOURCE, prefix, 20);
    const r = await cli(['create', `s3://${SOURCE}/${prefix}`, '--wait', '--json']);
    expect(r.stderr).toMatch(/bat_[0-9a-f]{24} (listing|running|completed): \d+\/\d+/);
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout) as Batch;
    expect(b).toMatchObject({
      status: 'completed',
      counts: { discovered: 20, queued: 20, completed: 20, failed: 0 },
    });

    const status = await cli(['status', b.id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(
      `${b.id} completed: discovered 20, skipped 0, queued 20, completed 20, failed 0`,
    );
    const list = await cli(['list', '--json']);
    expect((JSON.parse(list.stdout) as { batches: Batch[] }).batches.map((x) => x.id)).toContain(b.id);

    const out = join(dir, 'export.csv');
    const exp = await cli(['export', b.id, '--format', 'csv', '-o', out]);
    expect(exp.code).toBe(0);
    const rows = (await readFile(out, 'utf8')).trim().split('\n');
    expect(rows).toHaveLength(21);
    expect(rows.slice(1).every((row) => row.includes(',completed,'))).toBe(true);

    // A dry run waits for its counts; missing finds everything current.
    const dry = await cli(['create', `s3://${SOURCE}/${prefix}`, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('(dry run: nothing queued): discovered 20, skipped 20, would queue 0');
    expect(dry.stderr).toContain('skipped: current 20');
  });

  it('exit 1 with failures by code when items failed; exit 2 on usage and access errors', async () => {
    const prefix = `${uniqueName('cli')}/`;
    await putTinyImages(s3, SOURCE, prefix, 2);
    const manifest = `${SOURCE},${prefix}000000.png\nnot-a-line\n${SOURCE},${prefix}000001.png\n`;
    await s3.client.send(new PutObjectCommand({ Bucket: SOURCE, Key: `${prefix}m.csv`, Body: manifest }));
    const r = await cli(['create', '--manifest', `s3://${SOURCE}/${prefix}m.csv`, '--wait']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('completed 2, failed 1');
    expect(r.stderr).toContain('failed manifest_line_invalid: 1');

    const forbidden = await cli(['create', 's3://cli-forbidden/x/']);
    expect(forbidden.code).toBe(2);
    expect(forbidden.stderr).toContain('bucket_not_allowed');
    expect((await cli(['create'])).code).toBe(2);
    expect((await cli(['create', 's3://x/', '--mode', 'sometimes'])).code).toBe(2);
    expect((await cli(['status', 'bat_000000000000000000000000'])).code).toBe(2);
    const down = await runScript(MAIN, ['batch', 'list', '--api', 'http://127.0.0.1:9'], {
      PATH: process.env.PATH,
    });
    expect(down.code).toBe(1);
  });

  it('create ./local-dir uploads through the API with bounded concurrency; a second run uploads nothing', async () => {
    const folder = join(dir, 'photos');
    await rm(folder, { recursive: true, force: true });
    await mkdir(join(folder, 'sub'), { recursive: true });
    for (let i = 0; i < 6; i++)
      await writeFile(join(folder, i < 3 ? '' : 'sub', `${i}.png`), await tinyPng(200 + i));
    const first = await cli(['create', folder, '--wait', '--json', '--concurrency', '3']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      files: 6,
      uploaded: 6,
      alreadyUploaded: 0,
      completed: 6,
      failed: 0,
    });
    const second = await cli(['create', folder, '--wait', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      files: 6,
      uploaded: 0,
      alreadyUploaded: 6,
      completed: 6,
    });
  });
});

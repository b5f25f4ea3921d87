import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '@labelq/config';
import type { Batch } from '@labelq/contracts';
import { toLabelqError } from '@labelq/errors';
import { BATCH_USAGE, parseBatchCommand, type BatchCommand } from './args.ts';
import { ApiClient, ApiError } from './client.ts';
import { runLocalFolder, type LocalProgress } from './local.ts';
import { progressReporter, summary } from './progress.ts';

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** 0 when every item completed, 1 when some failed (or the batch failed). */
function exitFor(b: Batch): number {
  return b.status === 'failed' || b.counts.failed > 0 ? 1 : 0;
}

async function follow(client: ApiClient, b: Batch, json: boolean): Promise<Batch> {
  const progress = progressReporter(process.stderr);
  let cur = b;
  try {
    for (;;) {
      progress.update(cur);
      if (ENDED.has(cur.status) || cur.status === 'paused') break;
      await new Promise((r) => setTimeout(r, 500));
      cur = await client.json<Batch>('GET', `/v1/batches/${cur.id}`);
    }
  } finally {
    progress.stop();
  }
  if (!json) process.stderr.write(`${summary(cur)}\n`);
  return cur;
}

function localLine(p: LocalProgress): string {
  return `${p.files} files: ${p.uploaded} uploaded, ${p.alreadyUploaded} already uploaded, ${p.completed} completed, ${p.failed} failed`;
}

async function run(cmd: Exclude<BatchCommand, { kind: 'help' }>): Promise<number> {
  const config = loadConfig();
  const client = new ApiClient(cmd.api ?? config.cli.apiUrl, cmd.key ?? config.cli.apiKey);
  switch (cmd.kind) {
    case 'create': {
      if (cmd.source.type === 'local') {
        const reporter = process.stderr.isTTY ? undefined : { last: 0 };
        const p = await runLocalFolder(client, cmd.source.dir, {
          models: cmd.models,
          concurrency: cmd.concurrency,
          wait: cmd.wait,
          onProgress: (x) => {
            if (process.stderr.isTTY) process.stderr.write(`\r${localLine(x)}`);
            else if (reporter && Date.now() - reporter.last > 5000) {
              reporter.last = Date.now();
              process.stderr.write(`${localLine(x)}\n`);
            }
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        if (cmd.json) process.stdout.write(`${JSON.stringify(p)}\n`);
        else
          process.stderr.write(
            `${localLine(p)}${Object.entries(p.failedByCode)
              .map(([c, n]) => `\n  failed ${c}: ${n}`)
              .join('')}\n`,
          );
        return p.failed > 0 ? 1 : 0;
      }
      const src = cmd.source;
      const created = await client.json<Batch>('POST', '/v1/batches', {
        source:
          src.type === 'prefix'
            ? { bucket: src.bucket, prefix: src.prefix }
            : { bucket: src.bucket, manifestKey: src.key },
        ...(cmd.models !== undefined ? { models: cmd.models } : {}),
        ...(cmd.mode !== undefined ? { mode: cmd.mode } : {}),
        ...(cmd.extensions !== undefined ? { filter: { extensions: cmd.extensions } } : {}),
        ...(cmd.dryRun ? { dryRun: true } : {}),
      });
      // A dry run is only useful with its counts: wait for it.
      if (!cmd.wait && !cmd.dryRun) {
        process.stdout.write(cmd.json ? `${JSON.stringify(created)}\n` : `${created.id}\n`);
        return 0;
      }
      const final = await follow(client, created, cmd.json);
      if (cmd.json) process.stdout.write(`${JSON.stringify(final)}\n`);
      return exitFor(final);
    }
    case 'status':
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'retry-failed': {
      let b =
        cmd.kind === 'status'
          ? await client.json<Batch>('GET', `/v1/batches/${cmd.id}`)
          : await client.json<Batch>('POST', `/v1/batches/${cmd.id}/${cmd.kind}`);
      if (cmd.wait) b = await follow(client, b, cmd.json);
      if (cmd.json) process.stdout.write(`${JSON.stringify(b)}\n`);
      else if (!cmd.wait) process.stdout.write(`${summary(b)}\n`);
      return cmd.kind === 'status' || cmd.wait ? exitFor(b) : 0;
    }
    case 'list': {
      const { batches } = await client.json<{ batches: Batch[] }>('GET', '/v1/batches');
      if (cmd.json) process.stdout.write(`${JSON.stringify({ batches })}\n`);
      else
        for (const b of batches) {
          const src =
            'prefix' in b.source
              ? `s3://${b.source.bucket}/${b.source.prefix}`
              : `s3://${b.source.bucket}/${b.source.manifestKey}`;
          process.stdout.write(
            `${b.id}  ${b.status.padEnd(9)}  ${b.createdAt}  ${src}  ${b.counts.completed}/${b.counts.discovered - b.counts.skipped} done, ${b.counts.failed} failed\n`,
          );
        }
      return 0;
    }
    case 'export': {
      const res = await client.raw('GET', `/v1/batches/${cmd.id}/results?format=${cmd.format}`);
      const body = Readable.fromWeb(res.body!);
      await pipeline(body, cmd.out !== undefined ? createWriteStream(cmd.out) : process.stdout);
      return 0;
    }
  }
}

/** `labelq batch ...`: returns the exit code. */
export async function runBatchCli(argv: readonly string[]): Promise<number> {
  let cmd: BatchCommand;
  try {
    cmd = parseBatchCommand(argv);
  } catch (err) {
    process.stderr.write(`${toLabelqError(err).message}\n\n${BATCH_USAGE}\n`);
    return 2;
  }
  if (cmd.kind === 'help') {
    process.stdout.write(`${BATCH_USAGE}\n`);
    return 0;
  }
  try {
    return await run(cmd);
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`labelq batch: ${err.message}\n`);
      return err.status >= 400 && err.status < 500 && err.status !== 429 ? 2 : 1;
    }
    const e = toLabelqError(err);
    process.stderr.write(`labelq batch: ${e.code}: ${e.message}\n`);
    return e.code === 'config_invalid' ? 2 : 1;
  }
}

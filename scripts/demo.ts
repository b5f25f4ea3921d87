// pnpm demo [dir] [--json]
//
// The whole pipeline on one machine with nothing configured: Redis (REDIS_URL or 127.0.0.1:6379 if it answers,
// else a private redis-server), an embedded S3 (s3rver, data under .data/s3), the API on a free port and a
// worker process. Uploads every image in `dir` (default: the bundled sample photos) over HTTP, waits for the
// results, prints a table (or one JSON line per image with --json), shuts everything down.
// Exit codes: 0 every image classified or refused as bad input (shown); 1 an image failed otherwise or timed
// out; 2 usage or setup error.
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ERROR_CODES, isErrorCode } from '@labelq/errors';
import { formatJsonLine, formatTable } from './demo/format.ts';
import { classifyThroughApi, isImageFile } from './demo/run.ts';
import { ModelsMissingError, startStack } from './demo/stack.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: pnpm demo [dir] [--json]

Uploads every image in dir (default: test/fixtures/photos) through the labelq HTTP API and prints the labels.
  --json        one JSON line per image instead of a table
  --timeout S   give up waiting for results after S seconds (default 300)
Environment: REDIS_URL (default redis://127.0.0.1:6379; a private redis-server is started if it does not
answer), MODELS_DIR (default ./models), MODELS (default: every model there), LOG_LEVEL (default warn).`;

function fail(message: string, code = 2): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code);
}

/**
 * Refused or failed because of the file itself (4xx codes, e.g. a corrupt image): reported, not a demo failure.
 * Not access refusals (401 no valid key, 403 scope, 429 limits): those are the demo's own failure.
 */
function isBadInput(code: string | undefined): boolean {
  return (
    isErrorCode(code) && ERROR_CODES[code].status < 500 && ![401, 403, 429].includes(ERROR_CODES[code].status)
  );
}

async function listImages(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => fail(`${dir} does not exist`));
  if (!info.isDirectory()) return [dir];
  const names = (await readdir(dir)).sort();
  const skipped = names.filter((n) => !isImageFile(n));
  if (skipped.length > 0) process.stderr.write(`demo: skipping non-image files: ${skipped.join(', ')}\n`);
  return names.filter(isImageFile).map((n) => join(dir, n));
}

/** The AWS SDK's notice about future Node versions is noise in a demo's output; other warnings still print. */
function quietSdkNodeVersionWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning'))
      process.stderr.write(`${w.name}: ${w.message}\n`);
  });
}

async function main(): Promise<number> {
  quietSdkNodeVersionWarning();
  let args;
  try {
    args = parseArgs({
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.positionals.length > 1) fail(`expected at most one folder\n${USAGE}`);
  const timeoutS = Number(args.values.timeout ?? 300);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) fail('--timeout must be a positive number of seconds');
  const dir = resolve(args.positionals[0] ?? join(root, 'test', 'fixtures', 'photos'));
  const files = await listImages(dir);
  if (files.length === 0) fail(`no images in ${dir}`);

  const env = process.env;
  const logger = pino({ level: env.LOG_LEVEL ?? 'warn', base: { service: 'demo' } }, pino.destination(2));
  const serviceEnv: Record<string, string> = {};
  if (env.MODELS) serviceEnv.MODELS = env.MODELS;
  if (env.POOL_THREADS) serviceEnv.POOL_THREADS = env.POOL_THREADS;

  let stack;
  try {
    stack = await startStack(
      {
        root,
        ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
        ...(env.MODELS_DIR ? { modelsDir: resolve(env.MODELS_DIR) } : {}),
        ...(env.LOG_LEVEL ? { logLevel: env.LOG_LEVEL } : {}),
        env: serviceEnv,
        keyName: 'pnpm demo',
      },
      logger,
    );
  } catch (err) {
    if (err instanceof ModelsMissingError) fail(err.message);
    fail(`could not start the embedded services: ${err instanceof Error ? err.message : String(err)}`);
  }
  const started = Date.now();
  process.stderr.write(
    `demo: ${files.length} image(s) from ${dir} -> ${stack.apiUrl} (queue ${stack.config.queue.name}, ` +
      `redis ${stack.redis.started ? 'private ' : ''}${stack.redis.url}, models ${stack.models.join(', ')})\n`,
  );

  // Ctrl-C: shut everything down cleanly instead of leaving a worker or redis-server behind. One stop, shared:
  // the API closes first, which fails the run below, and main must then wait for the same stop (worker,
  // s3rver, redis-server) instead of exiting with those still running.
  let interrupted = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stack.stop());
  const onSignal = (): void => {
    interrupted = true;
    process.stderr.write('demo: interrupted, shutting down\n');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const workerDied = stack.worker.exited.then((code) => {
    throw new Error(`the worker exited (${code}) before all results were in:\n${stack.worker.tail()}`);
  });
  workerDied.catch(() => undefined); // raced below; ignored once the demo is done
  try {
    const rows = await classifyThroughApi({ url: stack.apiUrl, key: stack.apiKey }, files, {
      timeoutMs: timeoutS * 1000,
      abort: workerDied,
    });
    if (args.values.json) for (const r of rows) process.stdout.write(`${formatJsonLine(r)}\n`);
    else process.stdout.write(`${formatTable(rows)}\n`);
    const bad = rows.filter((r) => r.status !== 'completed' && !isBadInput(r.error?.code));
    process.stderr.write(
      `demo: ${rows.length - bad.length}/${rows.length} classified in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
    return bad.length === 0 ? 0 : 1;
  } catch (err) {
    if (!interrupted) process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return interrupted ? 130 : 1;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1),
);

// `pnpm bench`: prepares its own inputs and services, then measures every variant in a fresh child process on
// the same images, models and thread settings. See docs/benchmarks.md.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toLabelqError } from '@labelq/errors';
import { prepareImages } from './bench/inputs.ts';
import { quietSdkNodeVersionWarning } from './bench/quiet.ts';
import { machineInfo } from './bench/machine.ts';
import {
  NSFW_MODEL,
  QUEUE_VARIANTS,
  cores,
  parseBenchArgs,
  usage,
  type BenchOptions,
  type VariantName,
} from './bench/options.ts';
import type { BenchReport, RunReport, VariantSpec } from './bench/protocol.ts';
import { computeRatios, formatReport } from './bench/report.ts';
import { runVariant } from './bench/runner.ts';
import {
  removeQueue,
  startServices,
  uploadImages,
  watchStalls,
  type BenchServices,
} from './bench/services.ts';
import { sweepPoints } from './bench/sweep.ts';

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface Settings {
  poolThreads: number | undefined;
  intraOpThreads: number | undefined;
  concurrency: number | undefined;
}

function configEnv(
  opts: BenchOptions,
  models: string[],
  settings: Settings,
  services: BenchServices | undefined,
  queueName: string,
  prefix: string,
): Record<string, string> {
  const env: Record<string, string> = {
    ...(services?.baseEnv ?? {}),
    ...opts.settings,
    // No LOG_LEVEL: the worker logs at its shipped default (info, one line per job) into the run's log file.
    MODELS_DIR: resolve(opts.modelsDir),
    MODELS: models.join(','),
    QUEUE_NAME: queueName,
    S3_UPLOADS_PREFIX: `${prefix}images/`,
    // Per run: a later run never finds (and skips on) an earlier run's result documents.
    S3_RESULTS_PREFIX: `${prefix}results/${queueName}/`,
  };
  if (settings.poolThreads !== undefined) env.POOL_THREADS = String(settings.poolThreads);
  if (settings.intraOpThreads !== undefined) env.INTRA_OP_THREADS = String(settings.intraOpThreads);
  if (settings.concurrency !== undefined) env.WORKER_CONCURRENCY = String(settings.concurrency);
  return env;
}

async function main(): Promise<number> {
  quietSdkNodeVersionWarning();
  const parsed = parseBenchArgs(process.argv.slice(2), process.env);
  if (parsed === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const opts = parsed;
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const workDir = resolve(opts.workDir);
  const runDir = join(workDir, 'runs', runId);
  mkdirSync(runDir, { recursive: true });
  const prefix = `bench/${runId}/`;

  progress(`preparing ${opts.images} images (+${opts.warmup} warm-up) in ${join(workDir, 'images')}`);
  let lastShown = 0;
  const set = await prepareImages(workDir, opts.images, opts.warmup, prefix, (done, total) => {
    if (done - lastShown >= Math.max(100, total / 10) || done === total) {
      lastShown = done;
      progress(`images ${done}/${total}`);
    }
  });

  const sweep = opts.sweep ? sweepPoints(cores()) : [];
  const needsServices =
    opts.only.some((v) => QUEUE_VARIANTS.includes(v)) || sweep.some((p) => p.variant !== 'bare');
  let services: BenchServices | undefined;
  let exitCode = 0;
  const runs: RunReport[] = [];
  const sweepRuns: RunReport[] = [];
  try {
    if (needsServices) {
      services = await startServices(workDir, runId, opts.redisUrl, opts.s3LatencyMs);
      progress(
        `redis ${services.redisUrl}${services.redisStarted ? ' (started)' : ''}, s3rver ${services.s3Endpoint}`,
      );
      await uploadImages(services, [...set.warmup, ...set.images]);
      progress(
        `uploaded ${set.images.length + set.warmup.length} images to s3://${services.bucket}/${prefix}`,
      );
    }

    const runOne = async (
      variant: VariantName,
      name: string,
      settings: Settings,
    ): Promise<RunReport | undefined> => {
      const models = variant === 'pipeline-nsfw' || variant === 'nsfwjs' ? [NSFW_MODEL] : opts.models;
      const isQueue = QUEUE_VARIANTS.includes(variant);
      const queueName = `bench-${runId}-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
      const spec: Omit<VariantSpec, 'resultFile'> = {
        variant,
        name,
        images: set.images,
        warmup: set.warmup,
        models,
        env: configEnv(opts, models, settings, services, queueName, prefix),
        loopResolutionMs: opts.loopResolutionMs,
        nsfwjsBackend: opts.nsfwjsBackend,
      };
      const stalls =
        isQueue && services !== undefined ? await watchStalls(services.redisUrl, queueName) : undefined;
      progress(`running ${name} (${models.join(', ')})`);
      try {
        const report = await runVariant(spec, {
          runDir,
          cpuProfile: opts.cpuProfile,
          timeoutSeconds: opts.timeoutSeconds,
          redisPid: services?.redisPid,
          ...(stalls ? { stalls } : {}),
        });
        if (!isQueue) report.servicesCpuMsPerImage = null;
        progress(`${name}: ${report.imagesPerSec} img/s, p99 loop delay ${report.loopDelayMs.p99} ms`);
        return report;
      } catch (err) {
        exitCode = 1;
        progress(toLabelqError(err).message);
        return undefined;
      } finally {
        await stalls?.close();
        if (isQueue && services !== undefined) await removeQueue(services.redisUrl, queueName);
      }
    };

    const defaults: Settings = {
      poolThreads: opts.poolThreads,
      intraOpThreads: opts.intraOpThreads,
      concurrency: opts.concurrency,
    };
    for (const variant of opts.only) {
      const report = await runOne(variant, variant, defaults);
      if (report) runs.push(report);
    }
    for (const point of sweep) {
      const report = await runOne(point.variant, point.name, point);
      if (report) sweepRuns.push(report);
    }
  } finally {
    await services?.stop();
  }

  const report: BenchReport = {
    machine: machineInfo(),
    date: new Date().toISOString(),
    command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
    images: opts.images,
    warmup: opts.warmup,
    models: opts.models,
    runs,
    ratios: computeRatios(runs),
    ...(opts.sweep ? { sweep: sweepRuns } : {}),
  };
  process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  progress(`logs and raw results: ${runDir}`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toLabelqError(err);
    process.stderr.write(`pnpm bench: ${e.code}: ${e.message}\n`);
    process.exit(2);
  },
);

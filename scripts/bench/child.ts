// Entry of one variant's child process: `node --import tsx scripts/bench/child.ts <spec.json>`. Each variant
// runs in a fresh process so its RSS, CPU and event-loop numbers are its own.
import { readFileSync, writeFileSync } from 'node:fs';
import { calibrateHarness } from './metrics.ts';
import { QUEUE_VARIANTS, type VariantName } from './options.ts';
import type { ChildResult, VariantSpec } from './protocol.ts';
import { profilePhaseTo, profileWritten } from './profile.ts';
import { quietSdkNodeVersionWarning } from './quiet.ts';
import { reason } from './variants/common.ts';

type Runner = (spec: VariantSpec) => Promise<ChildResult>;

/** Imported lazily: a variant's dependencies (tfjs, BullMQ...) load only in its own child. */
async function runnerFor(variant: VariantName): Promise<Runner> {
  switch (variant) {
    case 'bare':
    case 'bare-fulldecode':
      return (await import('./variants/bare.ts')).runBare;
    case 'pipeline':
    case 'pipeline-nsfw':
      return (await import('./variants/pipeline.ts')).runPipeline;
    case 'main-thread':
      return (await import('./variants/main-thread.ts')).runMainThread;
    case 'bullmq-sandboxed':
      return (await import('./variants/sandboxed.ts')).runSandboxed;
    case 'nsfwjs':
      return (await import('./variants/nsfwjs.ts')).runNsfwjs;
  }
}

/** What the meter costs this thread, with the queue variants' job-count poll (one Redis round trip) included. */
async function calibrate(spec: VariantSpec): Promise<void> {
  const redisUrl = spec.env.REDIS_URL;
  if (!QUEUE_VARIANTS.includes(spec.variant) || redisUrl === undefined) {
    await calibrateHarness(spec.loopResolutionMs);
    return;
  }
  const { Queue } = await import('bullmq');
  const queue = new Queue(`calibrate-${process.pid}`, {
    connection: { url: redisUrl },
    prefix: 'labelq-bench-calibrate',
  });
  try {
    await calibrateHarness(spec.loopResolutionMs, () => queue.getJobCounts('completed', 'failed'));
  } finally {
    await queue.close();
  }
}

quietSdkNodeVersionWarning();
const specPath = process.argv[2];
if (specPath === undefined) {
  process.stderr.write('usage: child.ts <spec.json>\n');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as VariantSpec;
if (spec.cpuProfileFile !== undefined) profilePhaseTo(spec.cpuProfileFile);
try {
  await calibrate(spec);
  const result = await (await runnerFor(spec.variant))(spec);
  await profileWritten();
  writeFileSync(spec.resultFile, JSON.stringify(result));
  // Worker threads, sandboxes or tfjs may hold handles; the numbers are written, so leave now.
  process.exit(0);
} catch (err) {
  writeFileSync(spec.resultFile, JSON.stringify({ error: reason(err), stack: (err as Error).stack }));
  process.exit(1);
}

// `pnpm bench` end to end on a handful of images: real models, real Redis, real s3rver, every variant in its own
// child process. Checks the JSON report is well-formed; never asserts speed.
import { describe, expect, it } from 'vitest';
import { runScript, type ScriptResult } from '../helpers/run-script.ts';

interface Run {
  name: string;
  variant: string;
  images: number;
  failed: number;
  imagesPerSec: number;
  cpuMsPerImage: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  peakRssMb: number;
  rssMb: { start: number; middle: number; end: number };
  stalled: number | null;
  mainCpuMsPerImage: number | null;
  mainThreadCpuMsPerImage: number | null;
  classes: Record<string, { images: number; imagesPerSec: number; peakRssMb: number }>;
}

function runBench(args: string[]): Promise<ScriptResult> {
  return runScript('scripts/bench.ts', args, { ...process.env, LOG_LEVEL: 'warn' });
}

const positive = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n > 0;
const nonNegative = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;

describe('pnpm bench', () => {
  it('--json on a handful of images reports every variant with finite, positive numbers and the ratios', async () => {
    // One image of each class (jpeg-12mp, jpeg-2mp, jpeg-web, png-alpha, webp) and a second 12 MP one.
    const images = 6;
    const { code, stdout, stderr } = await runBench(['--images', String(images), '--warmup', '1', '--json']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as {
      machine: Record<string, unknown>;
      runs: Run[];
      ratios: Record<string, number | null>;
    };

    expect(typeof report.machine.cpu).toBe('string');
    expect(positive(report.machine.cores)).toBe(true);
    expect(positive(report.machine.memoryGb)).toBe(true);
    expect(report.machine.node).toBe(process.version);
    expect(typeof report.machine.os).toBe('string');

    const names = report.runs.map((r) => r.name);
    expect(names).toEqual([
      'bare',
      'bare-fulldecode',
      'pipeline',
      'pipeline-nsfw',
      'main-thread',
      'bullmq-sandboxed',
      'nsfwjs',
    ]);
    for (const run of report.runs) {
      expect(run.images, run.name).toBe(images);
      expect(run.failed, `${run.name} failed jobs`).toBe(0);
      expect(positive(run.imagesPerSec), `${run.name} imagesPerSec`).toBe(true);
      expect(positive(run.cpuMsPerImage), `${run.name} cpuMsPerImage`).toBe(true);
      expect(positive(run.peakRssMb), `${run.name} peakRssMb`).toBe(true);
      for (const v of Object.values(run.rssMb)) expect(positive(v), `${run.name} rssMb`).toBe(true);
      expect(run.peakRssMb).toBeGreaterThanOrEqual(run.rssMb.start);
      // The raw main-thread CPU is measured; the net figure subtracts the harness's calibrated cost and is
      // clamped at 0 (calibration noise can exceed a light variant's own main-thread work on a few images).
      // /proc counts thread CPU in 10 ms ticks: over six images a main thread that only hands work out (bare,
      // and the queue variants since the S3 requests left it) can read 0 on a fast machine; the variants that
      // run inference on it cannot.
      const inferenceOnMain = run.name === 'main-thread' || run.name === 'nsfwjs';
      expect(
        (inferenceOnMain ? positive : nonNegative)(run.mainThreadCpuMsPerImage),
        `${run.name} mainThreadCpuMsPerImage`,
      ).toBe(true);
      expect(run.mainCpuMsPerImage, `${run.name} mainCpuMsPerImage`).toBeGreaterThanOrEqual(0);
      expect(run.mainCpuMsPerImage, `${run.name} mainCpuMsPerImage`).toBeLessThanOrEqual(
        run.mainThreadCpuMsPerImage as number,
      );
      // Every class of the mix, each image counted once.
      expect(Object.keys(run.classes), run.name).toEqual([
        'jpeg-12mp',
        'jpeg-2mp',
        'jpeg-web',
        'png-alpha',
        'webp',
      ]);
      expect(Object.values(run.classes).reduce((n, c) => n + c.images, 0)).toBe(images);
      expect(run.classes['jpeg-12mp']!.images).toBe(2);
      for (const c of Object.values(run.classes)) {
        expect(positive(c.imagesPerSec), `${run.name} class imagesPerSec`).toBe(true);
        expect(positive(c.peakRssMb), `${run.name} class peakRssMb`).toBe(true);
      }
      const { p50, p99, max } = run.loopDelayMs;
      for (const v of [p50, p99, max]) expect(nonNegative(v), `${run.name} loopDelayMs`).toBe(true);
      expect(p50).toBeLessThanOrEqual(p99);
      expect(p99).toBeLessThanOrEqual(max);
      const queued = ['pipeline', 'pipeline-nsfw', 'main-thread', 'bullmq-sandboxed'].includes(run.variant);
      if (queued)
        expect(Number.isInteger(run.stalled) && run.stalled! >= 0, `${run.name} stalled`).toBe(true);
      else expect(run.stalled).toBeNull();
    }

    for (const key of [
      'pipelineVsBareThroughput',
      'mainThreadVsPipelineP99Delay',
      'pipelineVsSandboxedThroughput',
      'pipelineVsSandboxedPeakRss',
      'pipelineVsNsfwjsThroughput',
      'pipelineNsfwOnlyVsNsfwjsThroughput',
      'bareVsFullDecode12mp',
      'pipelineVsBareMix',
      'pipelineVsSandboxedMix',
    ]) {
      expect(positive(report.ratios[key]), `ratio ${key}`).toBe(true);
    }
  }, 600_000);

  it('rejects a bad flag with a coded error', async () => {
    const { code, stderr } = await runBench(['--images', 'zero']);
    expect(code).toBe(2);
    expect(stderr).toContain('invalid_request');
    expect(stderr).toContain('--images must be an integer');
  }, 60_000);
});

// Ratios, targets and the stdout table.
import type { BenchReport, RunReport } from './protocol.ts';

/**
 * p99 delays below this count as this much in the main-thread/pipeline ratio: the histogram cannot tell 0.1 ms
 * from 0, and a near-zero denominator would make the ratio meaningless.
 */
export const DELAY_FLOOR_MS = 1;

function find(runs: readonly RunReport[], variant: string): RunReport | undefined {
  return runs.find((r) => r.variant === variant);
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || !(b > 0)) return null;
  return Math.round((a / b) * 100) / 100;
}

/** The ratios; null where a run is missing. */
export function computeRatios(runs: readonly RunReport[]): Record<string, number | null> {
  const bare = find(runs, 'bare');
  const fullDecode = find(runs, 'bare-fulldecode');
  const pipeline = find(runs, 'pipeline');
  const pipelineNsfw = find(runs, 'pipeline-nsfw');
  const mainThread = find(runs, 'main-thread');
  const sandboxed = find(runs, 'bullmq-sandboxed');
  const nsfwjs = find(runs, 'nsfwjs');
  const floor = (r: RunReport | undefined): number | undefined =>
    r === undefined ? undefined : Math.max(DELAY_FLOOR_MS, r.loopDelayMs.p99);
  return {
    /** Target >= 0.85. */
    pipelineVsBareThroughput: ratio(pipeline?.imagesPerSec, bare?.imagesPerSec),
    /** Target >= 5. */
    mainThreadVsPipelineP99Delay: ratio(floor(mainThread), floor(pipeline)),
    pipelineVsSandboxedThroughput: ratio(pipeline?.imagesPerSec, sandboxed?.imagesPerSec),
    pipelineVsSandboxedPeakRss: ratio(pipeline?.peakRssMb, sandboxed?.peakRssMb),
    /** Both default models vs nsfwjs's single model. */
    pipelineVsNsfwjsThroughput: ratio(pipeline?.imagesPerSec, nsfwjs?.imagesPerSec),
    /** Same NSFW model on both sides: the apples-to-apples ratio. Target >= 20. */
    pipelineNsfwOnlyVsNsfwjsThroughput: ratio(pipelineNsfw?.imagesPerSec, nsfwjs?.imagesPerSec),
    /** 12 MP JPEG class: decode once shrunk on load vs the full-size decode. Target >= 3. */
    bareVsFullDecode12mp: ratio(
      bare?.classes['jpeg-12mp']?.imagesPerSec,
      fullDecode?.classes['jpeg-12mp']?.imagesPerSec,
    ),
    /** The whole mix. Target >= 0.85. */
    pipelineVsBareMix: ratio(pipeline?.imagesPerSec, bare?.imagesPerSec),
    /** The whole mix. Target >= 1.2. */
    pipelineVsSandboxedMix: ratio(pipeline?.imagesPerSec, sandboxed?.imagesPerSec),
  };
}

export interface TargetCheck {
  target: string;
  actual: string;
  met: boolean | null;
}

/** The targets, each with the measured value; `met` is null where the run is missing. */
export function checkTargets(report: BenchReport): TargetCheck[] {
  const r = report.ratios;
  const pipeline = find(report.runs, 'pipeline');
  const checks: TargetCheck[] = [];
  const add = (
    target: string,
    value: number | null | undefined,
    ok: (v: number) => boolean,
    fmt: (v: number) => string = String,
  ): void => {
    checks.push({
      target,
      actual: value === null || value === undefined ? 'n/a' : fmt(value),
      met: value === null || value === undefined ? null : ok(value),
    });
  };
  add(
    'pipeline >= 0.85 x bare images/s',
    r.pipelineVsBareThroughput,
    (v) => v >= 0.85,
    (v) => `${v}x`,
  );
  add(
    'pipeline worker loop delay p99 <= 5 ms',
    pipeline?.loopDelayMs.p99,
    (v) => v <= 5,
    (v) => `${v} ms`,
  );
  add(
    'pipeline worker main-thread CPU <= 3 ms per image',
    pipeline?.mainCpuMsPerImage,
    (v) => v <= 3,
    (v) => `${v} ms`,
  );
  add(
    '12 MP JPEG class: bare >= 3 x bare-fulldecode',
    r.bareVsFullDecode12mp,
    (v) => v >= 3,
    (v) => `${v}x`,
  );
  add(
    'mix: pipeline >= 1.2 x bullmq-sandboxed',
    r.pipelineVsSandboxedMix,
    (v) => v >= 1.2,
    (v) => `${v}x`,
  );
  const p12 = pipeline?.classes['jpeg-12mp']?.peakRssMb;
  const p2 = pipeline?.classes['jpeg-2mp']?.peakRssMb;
  add(
    'pipeline peak RSS, 12 MP class <= 2 MP class + 150 MB',
    p12 !== undefined && p2 !== undefined ? p12 - p2 : undefined,
    (v) => v <= 150,
    (v) => `${Math.round(v)} MB (${p12} vs ${p2})`,
  );
  add('pipeline stalls = 0', pipeline?.stalled ?? undefined, (v) => v === 0);
  add(
    'main-thread p99 delay >= 5 x pipeline',
    r.mainThreadVsPipelineP99Delay,
    (v) => v >= 5,
    (v) => `${v}x`,
  );
  add(
    '>= 20 x nsfwjs throughput (same NSFW model)',
    r.pipelineNsfwOnlyVsNsfwjsThroughput,
    (v) => v >= 20,
    (v) => `${v}x`,
  );
  add(
    'pipeline peak RSS <= 600 MB',
    pipeline?.peakRssMb,
    (v) => v <= 600,
    (v) => `${v} MB`,
  );
  if (pipeline !== undefined) {
    const { start, end } = pipeline.rssMb;
    // "Flat": the end of the run within 10% (or 30 MB) of its start.
    const growth = end - start;
    add(
      'pipeline RSS flat over the run (end - start <= max(30 MB, 10%))',
      growth,
      (v) => v <= Math.max(30, start * 0.1),
      (v) => `${Math.round(v)} MB (${start} -> ${pipeline.rssMb.middle} -> ${end})`,
    );
  }
  return checks;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const [head, ...body] = rows;
  return [
    pad(head!, widths),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((r) => pad(r, widths)),
  ].join('\n');
}

function runRows(runs: readonly RunReport[]): string[][] {
  const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : String(n));
  return [
    [
      'run',
      'images',
      'img/s',
      'CPU ms/img',
      'main CPU ms/img (raw)',
      'svc CPU ms/img',
      'loop p50/p99/max ms',
      'loop busy',
      'peak RSS MB',
      'RSS start/mid/end MB',
      'threads x intra, conc',
      'stalled',
      'failed',
    ],
    ...runs.map((r) => [
      r.name,
      String(r.images),
      fmt(r.imagesPerSec),
      fmt(r.cpuMsPerImage),
      `${fmt(r.mainCpuMsPerImage)} (${fmt(r.mainThreadCpuMsPerImage)})`,
      fmt(r.servicesCpuMsPerImage),
      `${r.loopDelayMs.p50} / ${r.loopDelayMs.p99} / ${r.loopDelayMs.max}`,
      `${Math.round(r.loopUtilization * 100)}%`,
      fmt(r.peakRssMb),
      `${r.rssMb.start} / ${r.rssMb.middle} / ${r.rssMb.end}`,
      `${r.settings.poolThreads} x ${r.settings.intraOpThreads}, ${fmt(r.settings.concurrency)}`,
      fmt(r.stalled),
      String(r.failed),
    ]),
  ];
}

function classRows(runs: readonly RunReport[]): string[][] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.classes)))];
  return [
    ['run', ...names, 'mix'],
    ...runs.map((r) => [
      r.name,
      ...names.map((n) => {
        const c = r.classes[n];
        return c === undefined ? '-' : `${c.imagesPerSec} (${Math.round(c.peakRssMb)})`;
      }),
      String(r.imagesPerSec),
    ]),
  ];
}

/** The human-readable report. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `labelq benchmark, ${report.date}`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, ${m.os}`,
    `command: ${report.command}`,
    `images: ${report.images} per run (+${report.warmup} warm-up, not measured); models: ${report.models.join(', ')}`,
    '',
    table(runRows(report.runs)),
    '',
    'per class, img/s (peak RSS MB):',
    table(classRows(report.runs)),
    '',
    'ratios:',
    ...Object.entries(report.ratios).map(([k, v]) => `  ${k}: ${v === null ? 'n/a' : v}`),
    '',
    'targets:',
    ...checkTargets(report).map(
      (c) => `  [${c.met === null ? ' n/a ' : c.met ? ' met ' : 'MISSED'}] ${c.target}: ${c.actual}`,
    ),
  ];
  const notes = report.runs.flatMap((r) => r.notes.map((n) => `  ${r.name}: ${n}`));
  if (notes.length > 0) lines.push('', 'notes:', ...notes);
  if (report.sweep !== undefined && report.sweep.length > 0) {
    lines.push('', 'sweep (each point a fresh child process):', table(runRows(report.sweep)));
  }
  return lines.join('\n');
}

// `pnpm bench:decode-memory`: peak RSS of a process classifying huge-pixel, small-file images (progressive
// 10000x10000 JPEGs, ~1 MB each) all at once through the real pool and models, with the decode-memory budget
// at its default and effectively off. Each setting runs in a fresh child process, so its VmHWM (peak RSS) is its
// own. A measurement, not a test: test/inference/decode-memory-budget.test.ts asserts the budget's behaviour.
//
//   pnpm bench:decode-memory [--images 4] [--side 10000] [--json]
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '@labelq/config';
import { createInferencePool } from '@labelq/inference';
import { machineInfo } from './machine.ts';

/** Peak resident set of this process, MB (Linux VmHWM). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.resourceUsage().maxRSS / 1024);
}

async function images(dir: string, count: number, side: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `progressive-${side}-${i}.jpg`);
    if (!existsSync(path)) {
      // A gradient-free solid colour per image: tiny file, every pixel still decoded.
      const background = { r: (i * 70) % 256, g: 128, b: 255 - ((i * 70) % 256) };
      const bytes = await sharp({ create: { width: side, height: side, channels: 3, background } })
        .jpeg({ progressive: true, quality: 80, chromaSubsampling: '4:2:0' })
        .toBuffer();
      await writeFile(path, bytes);
    }
    paths.push(path);
  }
  return paths;
}

/** Child: one pool at `budget` bytes, every image submitted at once; prints one JSON line. */
async function child(budget: number, paths: string[]): Promise<void> {
  const config = loadConfig();
  const pool = await createInferencePool({
    modelsDir: config.models.dir,
    threads: config.pool.threads,
    maxDecodeBytes: budget,
  });
  const baseline = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const bytes = await Promise.all(paths.map((p) => readFile(p)));
  const t0 = performance.now();
  const out = await Promise.all(bytes.map((b) => pool.classify(b)));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  process.stdout.write(
    `${JSON.stringify({
      budgetBytes: budget,
      baselineRssMb: baseline,
      peakRssMb: peakRssMb(),
      seconds: Math.round(seconds * 10) / 10,
      decodeBytesEach: out[0]?.decodeBytes,
      maxMemoryWaitMs: Math.round(Math.max(...out.map((o) => o.timings.memoryWaitMs ?? 0))),
    })}\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '4' },
      side: { type: 'string', default: '10000' },
      json: { type: 'boolean', default: false },
      child: { type: 'string' },
      paths: { type: 'string' },
    },
  });
  if (values.child !== undefined) return child(Number(values.child), values.paths!.split(','));
  const count = Number(values.images);
  const side = Number(values.side);
  const paths = await images(resolve('.bench', 'decode-memory'), count, side);
  const sizes = paths.map((p) => readFileSync(p).length);
  const defaultBudget = loadConfig().pool.maxDecodeBytes;
  const runs = [];
  for (const [name, budget] of [
    ['default budget', defaultBudget],
    ['budget off', Number.MAX_SAFE_INTEGER],
  ] as const) {
    process.stderr.write(`[decode-memory] ${name}: ${count} x ${side}x${side} progressive JPEG at once\n`);
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1]!, '--child', String(budget), '--paths', paths.join(',')],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`${name}: child exited ${r.status}`);
    runs.push({ name, ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as object) });
  }
  const report = {
    machine: machineInfo(),
    date: new Date().toISOString(),
    command: `pnpm bench:decode-memory ${process.argv.slice(2).join(' ')}`.trim(),
    images: count,
    side,
    fileBytes: sizes,
    runs,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(
      `${count} progressive ${side}x${side} JPEGs (${sizes.map((s) => `${Math.round(s / 1024)} KB`).join(', ')}) at once\n`,
    );
    type Run = {
      name: string;
      peakRssMb: number;
      baselineRssMb: number;
      seconds: number;
      decodeBytesEach: number;
    };
    for (const r of runs as Run[])
      process.stdout.write(
        `${r.name.padEnd(16)} peak RSS ${r.peakRssMb} MB (baseline ${r.baselineRssMb} MB), ${r.seconds} s, ` +
          `estimate ${Math.round(r.decodeBytesEach / 1e6)} MB each\n`,
      );
  }
}

await main();

// Summarises a V8 .cpuprofile (from `pnpm bench --cpu-profile`): total sampled time, the top functions by self
// time, and self time grouped by package (node_modules/<pkg>, node:internal, our workspace files).
// Usage: tsx scripts/bench/profile-summary.ts <file.cpuprofile> [--top N] [--per-image N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: an npm package, Node's internals, a workspace file or a V8 pseudo-frame. */
function origin(url: string, name: string): string {
  if (url === '') return `(${name.replace(/[()]/g, '') || 'native'})`;
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[1]!;
  const plain = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (plain) return plain[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const ours = /\/(packages|services|scripts)\/([^/]+)/.exec(url);
  return ours ? `labelq ${ours[1]}/${ours[2]}` : url;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, 'per-image': { type: 'string' } },
  });
  const file = positionals[0];
  if (file === undefined)
    throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N] [--per-image N]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    // V8 attributes each delta to the sample that follows it.
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id)!;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const short = f.url
      .replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
      .replace(/^file:\/\/.*?\/(packages|services|scripts)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'}  ${short}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const o = origin(f.url, f.functionName);
    pkg.set(o, (pkg.get(o) ?? 0) + us);
  }
  const images = values['per-image'] !== undefined ? Number(values['per-image']) : undefined;
  const ms = (us: number): string =>
    images
      ? `${(us / 1000 / images).toFixed(2).padStart(7)} ms/img`
      : `${(us / 1000).toFixed(1).padStart(8)} ms`;
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const wall = (profile.endTime - profile.startTime) / 1000;
  process.stdout.write(
    `${file}\nwall ${wall.toFixed(0)} ms, busy (non-idle samples) ${(busy / 1000).toFixed(0)} ms = ${((100 * busy) / 1000 / wall).toFixed(1)}% of wall` +
      `${images ? `, ${(busy / 1000 / images).toFixed(2)} ms/img` : ''}, idle ${(idle / 1000).toFixed(0)} ms\n\nby package:\n`,
  );
  for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 20))
    process.stdout.write(`  ${ms(us)} ${pct(us)}  ${k}\n`);
  process.stdout.write(`\ntop ${values.top} functions by self time:\n`);
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
    process.stdout.write(`  ${ms(us)} ${pct(us)}  ${k}\n`);
}

main();

// Quick ORT latency check of the converted classifiers: tsx scripts/models/latency.ts [--runs N] [name ...]
// Per model and intra-op thread count (1 and 2): median and p90 of single-image session.run() calls on a fixture
// photo, after warm-up. Preprocessing is not timed. Needs `pnpm models --all` first for nsfw-inception-v3.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { manifestSchema } from '@labelq/models';
import { modelsDir, photos } from '../../test/fixtures/index.ts';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '30' } },
  allowPositionals: true,
});
const names = positionals.length > 0 ? positionals : ['nsfw-mobilenet-v2', 'nsfw-inception-v3'];
const runs = Number(values.runs);

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

for (const name of names) {
  const manifest = manifestSchema.parse(JSON.parse(await readFile(join(modelsDir, `${name}.json`), 'utf8')));
  if (manifest.task !== 'classify') continue;
  const { width, height, scale } = manifest.input;
  const raw = await sharp(photos.chelsea)
    .removeAlpha()
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const x = Float32Array.from(raw, (v) => v * scale);
  const feed = { [manifest.input.name ?? 'input']: new ort.Tensor('float32', x, [1, height, width, 3]) };
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(join(modelsDir, manifest.file), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    for (let i = 0; i < 5; i++) await session.run(feed);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feed);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(18)} intra-op threads ${threads}: median ${quantile(times, 0.5).toFixed(1)} ms, ` +
        `p90 ${quantile(times, 0.9).toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms (${runs} runs)`,
    );
    await session.release();
  }
}

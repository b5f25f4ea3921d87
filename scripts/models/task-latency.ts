// Per-model latency of the whole per-model step (resize + tensor + onnxruntime + decoding) on one thread, any
// task: tsx scripts/models/task-latency.ts [--runs N] [name ...]. The image is decoded once at the size the
// model needs (as the pool does) and not timed. Prints median and p90 per fixture photo set, and the file size.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createThreadModel, decodeImage, runModel } from '@labelq/inference/inline';
import { loadModels } from '@labelq/models';
import { modelsDir, photoNames, readPhoto } from '../../test/fixtures/index.ts';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const names =
  positionals.length > 0 ? positionals : ['coco-centernet', 'faces', 'coco-nanodet', 'nsfw-mobilenet-v2'];
const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

for (const loaded of await loadModels(modelsDir, names)) {
  const model = await createThreadModel(loaded.manifest, loaded.path, { intraOpThreads: 1 });
  const times: number[] = [];
  for (const photo of photoNames) {
    const image = await decodeImage(readPhoto(photo), {
      maxInputPixels: 100_000_000,
      models: [loaded.manifest.input],
    });
    const options = { topK: 5, minConfidence: undefined };
    await runModel(model, image, options); // warm-up
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await runModel(model, image, options);
      times.push(performance.now() - t0);
    }
  }
  times.sort((a, b) => a - b);
  const mib = (await stat(loaded.path)).size / 2 ** 20;
  console.log(
    `${loaded.manifest.name.padEnd(18)} ${mib.toFixed(1).padStart(5)} MiB  median ${quantile(times, 0.5).toFixed(1).padStart(6)} ms  p90 ${quantile(times, 0.9).toFixed(1).padStart(6)} ms  (${times.length} runs, 1 intra-op thread)`,
  );
  await model.session.release();
}

// Regenerates test/fixtures/golden/<model>.json: what our preprocessing + each real model produce for every
// fixture photo (all labels, no topK/minConfidence cut). test/inference/golden.test.ts compares against them
// with a 1e-3 tolerance. Regenerate after an intentional change to preprocessing or to a model:
//   pnpm models && pnpm tsx scripts/golden.ts
// and review the diff (a label changing rank is a behaviour change worth a sentence in the commit).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInferencePool } from '@labelq/inference';
import { fixturesDir, modelsDir, photoNames, photos } from '../test/fixtures/index.ts';

/** The models with committed goldens (the default set `pnpm models` builds, and NanoDet). */
export const GOLDEN_MODELS = ['nsfw-mobilenet-v2', 'coco-centernet', 'faces', 'coco-nanodet'] as const;

const pool = await createInferencePool({ modelsDir, models: [...GOLDEN_MODELS], threads: 1 });
try {
  const outDir = join(fixturesDir, 'golden');
  mkdirSync(outDir, { recursive: true });
  for (const model of GOLDEN_MODELS) {
    const manifest = pool.manifests.find((m) => m.name === model)!;
    const images: Record<string, unknown> = {};
    for (const name of photoNames) {
      const out = await pool.classify(readFileSync(photos[name]), {
        models: [model],
        topK: manifest.labels.length,
        minConfidence: 0,
      });
      const result = out.results[0]!;
      const { task: _task, model: _model, ...found } = result;
      images[name] = found;
    }
    const doc = {
      model: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 },
      images,
    };
    writeFileSync(join(outDir, `${model}.json`), `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`wrote golden/${model}.json`);
  }
} finally {
  await pool.close();
}

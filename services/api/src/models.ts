import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '@labelq/config';
import { LabelqError } from '@labelq/errors';
import { readManifest } from '@labelq/models';

/**
 * Names of the models workers load: `MODELS` when set, else every manifest in `MODELS_DIR` (what workers
 * default to). Reads manifests only; the API never loads the .onnx files.
 */
export async function configuredModelNames(config: Config): Promise<string[]> {
  if (config.models.names !== undefined) return [...config.models.names];
  const dir = resolve(config.models.dir);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    throw new LabelqError('model_missing', `Models folder ${dir} cannot be read (run \`pnpm models\`)`, {
      cause: err,
    });
  }
  const names: string[] = [];
  for (const f of files) names.push((await readManifest(join(dir, f))).name);
  if (names.length === 0)
    throw new LabelqError('model_missing', `No model manifests in ${dir} (run \`pnpm models\`)`);
  return names;
}

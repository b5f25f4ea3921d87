import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '@labelq/config';
import type { ModelInfo } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import { readManifest } from '@labelq/models';

/**
 * The models workers load, as `GET /v1/models` shows them: `names` (default `MODELS`) when given, else every
 * manifest in `MODELS_DIR` (what workers default to). Reads manifests only; the API never loads the .onnx files.
 */
export async function configuredModels(
  config: Config,
  names: readonly string[] | undefined = config.models.names,
): Promise<ModelInfo[]> {
  const dir = resolve(config.models.dir);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    throw new LabelqError('model_missing', `Models folder ${dir} cannot be read (run \`pnpm models\`)`, {
      cause: err,
    });
  }
  const all: ModelInfo[] = [];
  for (const f of files) {
    const m = await readManifest(join(dir, f));
    all.push({
      name: m.name,
      version: m.version,
      task: m.task,
      sha256: m.sha256,
      description: m.description,
      labels: m.labels,
    });
  }
  if (names === undefined) {
    if (all.length === 0)
      throw new LabelqError('model_missing', `No model manifests in ${dir} (run \`pnpm models\`)`);
    return all;
  }
  const missing = names.filter((n) => !all.some((m) => m.name === n));
  if (missing.length > 0) {
    throw new LabelqError('model_missing', `No manifest in ${dir} for model(s) ${missing.join(', ')}`, {
      details: { missing },
    });
  }
  return all.filter((m) => names.includes(m.name));
}

/** The names of {@link configuredModels}. */
export async function configuredModelNames(config: Config): Promise<string[]> {
  return (await configuredModels(config)).map((m) => m.name);
}

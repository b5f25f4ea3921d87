import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ModelConversionError } from '../errors.ts';
import type { LayersModelArtifacts, WeightSpec } from '../layers/weights.ts';

/** The layers models bundled in the nsfwjs package (`dist/models/<name>`). */
export type NsfwjsModel = 'mobilenet_v2' | 'mobilenet_v2_mid' | 'inception_v3';

export interface NsfwjsPackage {
  /** The package folder (the one holding package.json). */
  root: string;
  version: string;
  /** `dist/models/<model>` inside the package. */
  modelDir(model: NsfwjsModel): string;
}

/** Finds the nsfwjs package the way Node resolves it from `fromDir` (e.g. the repository root). */
export function locateNsfwjs(fromDir: string): NsfwjsPackage {
  const require = createRequire(join(fromDir, 'noop.js'));
  let entry: string;
  try {
    entry = require.resolve('nsfwjs');
  } catch (err) {
    throw new ModelConversionError(
      `the nsfwjs package is not installed (resolved from ${fromDir}): run pnpm install`,
      {
        cause: String(err),
      },
    );
  }
  // entry: <root>/dist/cjs/index.js
  let root = dirname(entry);
  while (root !== dirname(root)) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'nsfwjs') {
        const found = root;
        return {
          root,
          version: pkg.version ?? 'unknown',
          modelDir: (model) => join(found, 'dist', 'models', model),
        };
      }
    } catch {
      // no package.json at this level: keep walking up
    }
    root = dirname(root);
  }
  throw new ModelConversionError(`cannot find the package.json of nsfwjs above ${entry}`);
}

interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

/**
 * Reads one bundled nsfwjs model. The package ships each TF.js layers model as browserify bundles: `model.min.js`
 * exports the model.json object (Keras topology + weightsManifest) and each `<shard path>.min.js` exports that
 * weight shard as a base64 string. They are CommonJS modules (dist/models/package.json says so), loaded here with
 * require like nsfwjs itself does, and dropped from the require cache afterwards.
 */
export function readNsfwjsModel(modelDir: string): LayersModelArtifacts {
  const require = createRequire(join(modelDir, 'noop.js'));
  const load = (file: string): unknown => {
    const path = join(modelDir, file);
    let value: unknown;
    try {
      value = require(path);
    } catch (err) {
      throw new ModelConversionError(
        `cannot load ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    delete require.cache[require.resolve(path)];
    return value;
  };
  const json = load('model.min.js') as Partial<ModelJson> | null;
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelConversionError(`${join(modelDir, 'model.min.js')} does not export a TF.js layers model`);
  }
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) {
      const base64 = load(`${path}.min.js`);
      if (typeof base64 !== 'string') {
        throw new ModelConversionError(`${join(modelDir, `${path}.min.js`)} does not export a base64 string`);
      }
      shards.push(Buffer.from(base64, 'base64'));
    }
  }
  const weightData = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: new Uint8Array(weightData.buffer, weightData.byteOffset, weightData.byteLength),
  };
}

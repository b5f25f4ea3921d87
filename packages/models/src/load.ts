import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { LabelqError } from '@labelq/errors';
import { manifestSchema, type ModelManifest } from './manifest.ts';

/** A validated manifest and the absolute path of its verified .onnx file. */
export interface LoadedModel {
  manifest: ModelManifest;
  /** Absolute path of the .onnx file (its sha256 matched the manifest). */
  path: string;
  /** Absolute path of the manifest it came from. */
  manifestPath: string;
}

/**
 * Reads, validates and verifies model manifests.
 *
 * - `dir`: folder holding `<name>.json` manifests and the .onnx files they name.
 * - `names`: models to load, by manifest `name`; default: every `*.json` in `dir`, sorted by file name.
 *
 * Throws LabelqError: `model_missing` (no such dir, or a manifest's .onnx is absent), `manifest_invalid`
 * (bad JSON or schema; the message names the file and the field), `model_checksum_mismatch` (the .onnx
 * sha256 differs from the manifest), `unknown_model` (a requested name has no manifest).
 */
export async function loadModels(dir: string, names?: readonly string[]): Promise<LoadedModel[]> {
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (err) {
    throw new LabelqError('model_missing', `Models folder ${root} cannot be read (run \`pnpm models\`)`, {
      cause: err,
      details: { dir: root },
    });
  }
  const manifestFiles = entries.filter((f) => f.endsWith('.json')).sort();
  const manifests: { manifest: ModelManifest; manifestPath: string }[] = [];
  for (const file of manifestFiles) {
    const manifestPath = join(root, file);
    manifests.push({ manifest: await readManifest(manifestPath), manifestPath });
  }
  const seen = new Set<string>();
  for (const { manifest, manifestPath } of manifests) {
    if (seen.has(manifest.name)) {
      throw new LabelqError('manifest_invalid', `${manifestPath}: duplicate model name "${manifest.name}"`, {
        details: { file: manifestPath, field: 'name' },
      });
    }
    seen.add(manifest.name);
  }

  let selected = manifests;
  if (names !== undefined) {
    const unknown = names.filter((n) => !seen.has(n));
    if (unknown.length > 0) {
      throw new LabelqError(
        'unknown_model',
        `Unknown model(s): ${unknown.join(', ')}; available: ${[...seen].join(', ') || '(none)'}`,
        { details: { unknown, available: [...seen] } },
      );
    }
    // Keep the caller's order: it is the order results are reported in.
    selected = names.map((n) => manifests.find((m) => m.manifest.name === n)!);
  }
  if (selected.length === 0) {
    throw new LabelqError('model_missing', `No model manifests in ${root} (run \`pnpm models\`)`, {
      details: { dir: root },
    });
  }

  const loaded: LoadedModel[] = [];
  for (const { manifest, manifestPath } of selected) {
    const path = resolve(root, manifest.file);
    await verifyModelFile(path, manifest, manifestPath);
    for (const sidecar of sidecarFiles(manifest)) {
      await verifyModelFile(resolve(root, sidecar.file), { ...manifest, ...sidecar }, manifestPath);
    }
    loaded.push({ manifest, path, manifestPath });
  }
  return loaded;
}

/** Parses and validates one manifest file; `manifest_invalid` names the file and the first bad fields. */
export async function readManifest(manifestPath: string): Promise<ModelManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new LabelqError('manifest_invalid', `${manifestPath}: not valid JSON (${(err as Error).message})`, {
      cause: err,
      details: { file: manifestPath },
    });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LabelqError('manifest_invalid', `${basename(manifestPath)}: ${problems.join('; ')}`, {
      details: { file: manifestPath, fields: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  return parsed.data;
}

/** Files a model needs beside its .onnx (OCR: the recogniser and its dictionary), each with its sha256. */
export function sidecarFiles(manifest: ModelManifest): { file: string; sha256: string }[] {
  return manifest.task === 'text'
    ? [
        { file: manifest.output.recognizer.file, sha256: manifest.output.recognizer.sha256 },
        { file: manifest.output.dictionary.file, sha256: manifest.output.dictionary.sha256 },
      ]
    : [];
}

async function verifyModelFile(
  path: string,
  manifest: Pick<ModelManifest, 'file' | 'sha256' | 'name'>,
  manifestPath: string,
): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
  } catch (err) {
    throw new LabelqError(
      'model_missing',
      `${manifest.file} (named by ${basename(manifestPath)}) is missing`,
      {
        cause: err,
        details: { file: path, model: manifest.name },
      },
    );
  }
  const actual = await sha256File(path);
  if (actual !== manifest.sha256) {
    throw new LabelqError(
      'model_checksum_mismatch',
      `${manifest.file}: sha256 ${actual} does not match ${basename(manifestPath)} (${manifest.sha256})`,
      { details: { file: path, model: manifest.name, expected: manifest.sha256, actual } },
    );
  }
}

/** Hex sha256 of a file, streamed (models can be tens of MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

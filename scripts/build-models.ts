// pnpm models [--all] [--update-manifests] [name ...]
//
// Converts the catalog's models (scripts/models/catalog.ts) into the git-ignored models/ folder: models/<name>.onnx
// plus models/<name>.json, a copy of the committed manifest packages/models/manifests/<name>.json (its `file` is
// relative to it). Each conversion's sha256 must equal the one recorded in the manifest, so a converter change
// that alters a model cannot slip through; `--update-manifests` re-records it after an intentional change. When
// models/ already holds a file with the recorded sha256 the model is "up to date" and nothing is converted.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { manifestSchema, sidecarFiles } from '@labelq/models';
import { CATALOG, findPackage, sourceString, type CatalogEntry } from './models/catalog.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
let manifestsDir = join(repoRoot, 'packages', 'models', 'manifests');
let outDir = join(repoRoot, 'models');

const USAGE = `usage: pnpm models [--all] [--update-manifests] [name ...]

Converts the models into models/ and checks each against the sha256 in packages/models/manifests/<name>.json.
  (no names)           the default set: ${CATALOG.filter((e) => e.default)
    .map((e) => e.name)
    .join(', ')}
  --all                every model: ${CATALOG.map((e) => e.name).join(', ')}
  name ...             only these models
  --update-manifests   convert even when up to date and record the new sha256 (and source) in the manifests
                       (after an intentional converter or source change)
  --manifests-dir DIR  read the manifests from DIR (default packages/models/manifests)
  --out-dir DIR        write the models to DIR (default models)`;

class BuildFailure extends Error {}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const rel = (p: string): string => (p.startsWith(repoRoot) ? relative(repoRoot, p) : p);

/** Writes through a temporary file and a rename, so a reader never sees half a model. */
async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function fileDigest(path: string): Promise<{ sha256: string; bytes: number } | undefined> {
  if (!existsSync(path)) return undefined;
  const data = await readFile(path);
  return { sha256: sha256(data), bytes: data.byteLength };
}

interface Outcome {
  name: string;
  status: 'up to date' | 'converted' | 'recorded';
  seconds?: number;
  bytes: number;
  sha256: string;
}

async function build(entry: CatalogEntry, update: boolean): Promise<Outcome> {
  const manifestPath = join(manifestsDir, `${entry.name}.json`);
  if (!existsSync(manifestPath)) {
    throw new BuildFailure(
      `${entry.name}: no manifest at ${rel(manifestPath)} (write it first: labels, input, source)`,
    );
  }
  let text = await readFile(manifestPath, 'utf8');
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new BuildFailure(
      `${entry.name}: ${rel(manifestPath)} is not a valid manifest:\n${parsed.error.message}`,
    );
  }
  const manifest = parsed.data;
  if (manifest.name !== entry.name) {
    throw new BuildFailure(`${entry.name}: ${rel(manifestPath)} is named ${JSON.stringify(manifest.name)}`);
  }
  if (manifest.file.includes('/') || manifest.file.includes('\\')) {
    throw new BuildFailure(
      `${entry.name}: the manifest's file must be a plain file name, got ${manifest.file}`,
    );
  }

  const pkg = findPackage(entry.source.npm, repoRoot);
  if (!pkg)
    throw new BuildFailure(
      `${entry.name}: the source package ${entry.source.npm} is not installed (pnpm install)`,
    );
  const source = sourceString(entry, pkg.version);
  if (source !== manifest.source && !update) {
    throw new BuildFailure(
      `${entry.name}: the manifest's source is "${manifest.source}" but the installed package gives "${source}". ` +
        'Restore that version, or run `pnpm models --update-manifests` to record the new one.',
    );
  }

  const onnxPath = join(outDir, manifest.file);
  const jsonPath = join(outDir, `${entry.name}.json`);
  const existing = update ? undefined : await fileDigest(onnxPath);
  if (existing?.sha256 === manifest.sha256) {
    await writeSidecars(entry, pkg.root, manifest, update);
    if (!existsSync(jsonPath) || (await readFile(jsonPath, 'utf8')) !== text)
      await writeAtomic(jsonPath, text);
    return { name: entry.name, status: 'up to date', bytes: existing.bytes, sha256: existing.sha256 };
  }

  const started = performance.now();
  const bytes = await entry.convert(pkg.root);
  const seconds = (performance.now() - started) / 1000;
  const digest = sha256(bytes);
  let status: Outcome['status'] = 'converted';
  if (digest !== manifest.sha256 || source !== manifest.source) {
    if (!update) {
      throw new BuildFailure(
        `${entry.name}: the converted model's sha256 is ${digest}, but ${rel(manifestPath)} records ${manifest.sha256}. ` +
          'The converter or its source changed the model. If that is intended, run `pnpm models --update-manifests` ' +
          'and commit the manifest (and bump its version).',
      );
    }
    text = replaceField(text, 'sha256', manifest.sha256, digest);
    text = replaceField(text, 'source', manifest.source, source);
    await writeAtomic(manifestPath, text);
    status = 'recorded';
  }
  await mkdir(outDir, { recursive: true });
  text = await writeSidecars(entry, pkg.root, manifest, update, text);
  await writeAtomic(onnxPath, bytes);
  await writeAtomic(jsonPath, text);
  return { name: entry.name, status, seconds, bytes: bytes.byteLength, sha256: digest };
}

/**
 * Writes the files a model needs beside its .onnx (OCR's recogniser and dictionary), each checked against the
 * sha256 its manifest records (re-recorded in `text` with --update-manifests). Returns the manifest text.
 */
async function writeSidecars(
  entry: CatalogEntry,
  packageRoot: string,
  manifest: ReturnType<typeof manifestSchema.parse>,
  update: boolean,
  text = '',
): Promise<string> {
  if (!entry.sidecars) return text;
  const files = await entry.sidecars(packageRoot);
  await mkdir(outDir, { recursive: true });
  for (const want of sidecarFiles(manifest)) {
    const bytes = files[want.file];
    if (bytes === undefined) throw new BuildFailure(`${entry.name}: the catalog has no file ${want.file}`);
    const digest = sha256(bytes);
    if (digest !== want.sha256) {
      if (!update || text === '') {
        throw new BuildFailure(
          `${entry.name}: ${want.file} has sha256 ${digest}, the manifest records ${want.sha256} ` +
            '(run `pnpm models --update-manifests` after an intended change)',
        );
      }
      text = text.replace(want.sha256, digest);
    }
    const path = join(outDir, want.file);
    if ((await fileDigest(path))?.sha256 !== digest) await writeAtomic(path, bytes);
  }
  if (update && text !== '') await writeAtomic(join(manifestsDir, `${entry.name}.json`), text);
  return text;
}

/** Replaces one string field in the manifest text, keeping the file's formatting. */
function replaceField(text: string, field: string, from: string, to: string): string {
  if (from === to) return text;
  const needle = `"${field}": ${JSON.stringify(from)}`;
  if (text.split(needle).length !== 2) {
    const obj = JSON.parse(text) as Record<string, unknown>;
    obj[field] = to;
    return `${JSON.stringify(obj, null, 2)}\n`;
  }
  return text.replace(needle, `"${field}": ${JSON.stringify(to)}`);
}

function parseCommandLine() {
  return parseArgs({
    options: {
      all: { type: 'boolean', default: false },
      'update-manifests': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      'manifests-dir': { type: 'string' },
      'out-dir': { type: 'string' },
    },
    allowPositionals: true,
  });
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine();
  } catch (err) {
    console.error(`pnpm models: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values['manifests-dir'] !== undefined) manifestsDir = resolve(values['manifests-dir']);
  if (values['out-dir'] !== undefined) outDir = resolve(values['out-dir']);
  const unknown = positionals.filter((n) => !CATALOG.some((e) => e.name === n));
  if (unknown.length > 0) {
    console.error(`pnpm models: unknown model ${unknown.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const selected = CATALOG.filter((e) =>
    positionals.length > 0 ? positionals.includes(e.name) : values.all || e.default,
  );
  const update = values['update-manifests'];
  const failures: string[] = [];
  for (const entry of selected) {
    try {
      const o = await build(entry, update);
      const time = o.seconds === undefined ? '' : ` in ${o.seconds.toFixed(1)} s`;
      const note =
        o.status === 'recorded' ? ` (written to ${rel(join(manifestsDir, `${o.name}.json`))})` : '';
      const what = `${o.status}${time}`.padEnd(22);
      console.log(
        `models: ${o.name.padEnd(18)} ${what} ${mib(o.bytes).padStart(9)}  sha256 ${o.sha256.slice(0, 12)}${note}`,
      );
    } catch (err) {
      const message =
        err instanceof BuildFailure
          ? err.message
          : `${entry.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      console.error(`models: FAILED ${message}`);
      failures.push(entry.name);
    }
  }
  if (failures.length > 0) {
    console.error(`models: ${failures.length} of ${selected.length} failed (${failures.join(', ')})`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();

// pnpm build (after `pnpm models`): compiles what production runs into plain JavaScript, so nothing needs tsx or
// TypeScript at run time:
//
//   services/api/dist/main.js              node services/api/dist/main.js      (the Docker `api` target)
//   services/worker/dist/main.js           node services/worker/dist/main.js   (the Docker `worker` target)
//   services/worker/dist/thread/entry.mjs  the inference pool's Piscina thread, compiled
//   services/worker/dist/io-thread/entry.mjs  the S3 I/O thread (S3_IO_THREADS), compiled
//   services/cli/dist/main.js              node services/cli/dist/main.js classify ...
//   services/cli/dist/thread/entry.mjs     the same thread, for the CLI's pool
//   dist/start.js                          `pnpm start` (scripts/start.ts)
//
// Why esbuild bundles instead of tsc emitting per file: the workspace packages export `./src/index.ts`, so
// tsc's output would still import TypeScript through `@labelq/*` unless every package grew export conditions and
// its own dist. Bundling each entry inlines all workspace code (every `@labelq/*` import, found generically) and
// leaves every third-party import external: those packages sit in node_modules at run time (sharp and
// onnxruntime-node are native and cannot be bundled anyway). esbuild is what tsx already runs on (same version),
// it does not type-check: `pnpm typecheck` does.
//
// Each bundle is written inside its service's folder so that Node resolves the external imports from that
// service's node_modules, which holds exactly the service's `dependencies` (pnpm links nothing else there, and a
// production install has no root devDependencies). So the build fails when a bundle imports a package its
// service does not declare, imports tsx, or locates a file relative to its own source through
// `import.meta.url` (which points at the bundle afterwards); the one sanctioned use is a thread URL such as the
// pool's `new URL('./thread/entry.mjs', import.meta.url)`, which finds `dist/thread/entry.mjs` next to the bundle
// exactly as it finds `src/thread/entry.mjs` next to pool.ts in source mode (THREADS below).
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

interface Target {
  /** Printed name. */
  name: string;
  /** Source entry, relative to the root. */
  entry: string;
  /** Output folder (emptied first), relative to the root; the bundle is `<outDir>/main.js` unless `outFile`. */
  outDir: string;
  outFile?: string;
  /** The package.json whose `dependencies` the bundle's external imports must be declared in. */
  packageJson: string;
  /** Why this bundle may use import.meta.url beyond the thread URL (else the build fails on it). */
  importMetaUrl?: string;
}

const TARGETS: readonly Target[] = [
  {
    name: 'api',
    entry: 'services/api/src/main.ts',
    outDir: 'services/api/dist',
    packageJson: 'services/api',
  },
  {
    name: 'worker',
    entry: 'services/worker/src/main.ts',
    outDir: 'services/worker/dist',
    packageJson: 'services/worker',
  },
  {
    name: 'cli',
    entry: 'services/cli/src/main.ts',
    outDir: 'services/cli/dist',
    packageJson: 'services/cli',
  },
  {
    name: 'start',
    entry: 'scripts/start.ts',
    outDir: 'dist',
    outFile: 'start.js',
    packageJson: '.',
    importMetaUrl: 'dist/ and scripts/ are both one level below the root it locates',
  },
];

/**
 * The worker threads a bundle may start, each found by a `new URL('./<dir>/entry.mjs', import.meta.url)` in the
 * source that starts it: a bundle that contains that source gets the thread compiled to `<outDir>/<dir>/entry.mjs`.
 */
const THREADS: readonly { starter: string; thread: string; file: string }[] = [
  // The inference pool's Piscina threads (WORKER_URL in pool.ts).
  {
    starter: 'packages/inference/src/pool.ts',
    thread: 'packages/inference/src/thread/worker.ts',
    file: 'thread/entry.mjs',
  },
  // The S3 I/O threads (IO_THREAD_URL in io-threads.ts).
  {
    starter: 'packages/storage/src/io-threads.ts',
    thread: 'packages/storage/src/io-thread/worker.ts',
    file: 'io-thread/entry.mjs',
  },
];
/** `new URL('./<file>', import.meta.url)` for any thread of THREADS: the sanctioned uses of import.meta.url. */
const THREAD_URL = new RegExp(
  `new URL\\((["'])\\./(?:${THREADS.map((t) => t.file.replace(/[.]/g, '\\.')).join('|')})\\1, import\\.meta\\.url\\)`,
  'g',
);

/** Bundles `@labelq/*` (workspace code, TypeScript sources); everything else bare stays an import. */
const externalThirdParty: Plugin = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point' || args.path.startsWith('@labelq/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

async function bundle(entry: string, outfile: string): Promise<Metafile> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    // Syntax-only minification: drops the dead source-mode branch of `typeof __LABELQ_VERSION__` (and with it
    // version.ts's read of package.json); names and layout stay readable in stack traces.
    minifySyntax: true,
    sourcemap: true,
    define: { __LABELQ_VERSION__: JSON.stringify(rootPackage.version) },
    plugins: [externalThirdParty],
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** Problems with one output file: undeclared or dev-only imports, stray import.meta.url. */
async function check(target: Target, outfile: string, metafile: Metafile, declared: Set<string>) {
  const problems: string[] = [];
  const output = metafile.outputs[relative(root, join(root, outfile))];
  for (const imp of output?.imports ?? []) {
    if (!imp.external || isBuiltin(imp.path)) continue;
    const name = packageName(imp.path);
    if (name === 'tsx') problems.push(`${outfile} imports ${imp.path}: tsx must not be needed at run time`);
    else if (!declared.has(name))
      problems.push(
        `${outfile} imports ${imp.path}, which ${target.packageJson}/package.json does not list in dependencies ` +
          `(it would not resolve from ${target.outDir} in a production install)`,
      );
  }
  const code = (await readFile(join(root, outfile), 'utf8')).replace(THREAD_URL, '');
  if (code.includes('import.meta.url') && !target.importMetaUrl)
    problems.push(
      `${outfile} uses import.meta.url beyond the thread URL: code that reads files relative to its own source ` +
        `breaks when bundled (take the path from the config, or inject the value at build time with define)`,
    );
  return problems;
}

async function buildTarget(target: Target): Promise<string[]> {
  const outDir = join(root, target.outDir);
  await rm(target.outFile ? join(outDir, target.outFile) : outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const pkg = JSON.parse(await readFile(join(root, target.packageJson, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const declared = new Set(Object.keys(pkg.dependencies ?? {}));

  const outfile = join(target.outDir, target.outFile ?? 'main.js');
  const meta = await bundle(target.entry, outfile);
  const problems = await check(target, outfile, meta, declared);
  const files = [outfile];
  for (const t of THREADS) {
    if (!(t.starter in meta.inputs)) continue;
    const threadFile = join(target.outDir, t.file);
    problems.push(...(await check(target, threadFile, await bundle(t.thread, threadFile), declared)));
    files.push(threadFile);
  }
  const bytes = await Promise.all(files.map(async (f) => (await readFile(join(root, f))).length));
  console.log(
    `${target.name}: ${files.map((f, i) => `${f} (${Math.round(bytes[i]! / 1024)} KiB)`).join(', ')}`,
  );
  return problems;
}

const problems = [...new Set((await Promise.all(TARGETS.map(buildTarget))).flat())];
if (problems.length > 0) {
  console.error(`build: ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}

// `pnpm labelq classify <file|dir>...`: local classification through the same inference pool the workers use.
// `pnpm labelq keys create|list|revoke`: API keys in Redis (keys/).
// `pnpm labelq batch create|status|pause|resume|cancel|retry-failed|list|export`: batches through the API (batch/).
// `pnpm labelq queue depth|pause|resume|retry|clean|drain`: queue-wide operations in Redis (queue/).
// Wiring only: argument parsing, file walking, the bounded classify loop and output formats live beside it.
import { loadConfig } from '@labelq/config';
import { toLabelqError } from '@labelq/errors';
import { createInferencePool } from '@labelq/inference';
import { USAGE, parseCommand } from './args.ts';
import { classifyFiles, isUnexpected } from './classify-files.ts';
import { TableFormatter, jsonLine } from './format.ts';
import { runKeys } from './keys/run.ts';
import { runBatchCli } from './batch/run.ts';
import { runIndexCommand } from './index-cmds/run.ts';
import { runQueue } from './queue/run.ts';
import { collectFiles } from './walk.ts';
import { fileProgress } from './progress-bar.ts';

async function main(argv: readonly string[]): Promise<number> {
  // Each command parses its own flags: `keys` has none of classify's, and the reverse.
  if (argv[0] === 'keys') return runKeys(argv.slice(1));
  if (argv[0] === 'batch') return runBatchCli(argv.slice(1));
  if (argv[0] === 'search' || argv[0] === 'reindex' || argv[0] === 'index')
    return runIndexCommand(argv[0], argv.slice(1));
  if (argv[0] === 'queue') return runQueue(argv.slice(1));
  let command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    process.stderr.write(`${toLabelqError(err).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let pool;
  try {
    const config = loadConfig();
    const intraOpThreads = command.intraOpThreads ?? config.pool.intraOpThreads;
    pool = await createInferencePool({
      modelsDir: command.modelsDir ?? config.models.dir,
      models: command.models ?? config.models.names,
      intraOpThreads,
      threads: command.threads ?? (command.intraOpThreads ? undefined : config.pool.threads),
      maxInputPixels: config.pool.maxInputPixels,
      maxDecodeBytes: config.pool.maxDecodeBytes,
    });
  } catch (err) {
    const e = toLabelqError(err);
    process.stderr.write(`labelq: ${e.code}: ${e.message}\n`);
    return 2;
  }

  try {
    const { entries, skipped } = await collectFiles(command.paths);
    if (skipped.length > 0) {
      process.stderr.write(
        `labelq: skipped ${skipped.length} file(s) without an image extension (name a file to classify it anyway)\n`,
      );
    }
    const fileWidth = Math.min(60, Math.max(4, ...entries.map((e) => e.file.length)));
    const table = new TableFormatter(fileWidth, Math.max(5, ...pool.manifests.map((m) => m.name.length)));
    if (!command.json) process.stdout.write(`${table.header()}\n`);
    // A bar on stderr when it is a terminal; stdout keeps only the results.
    const bar = fileProgress(process.stderr, entries.length);
    const outcomes = await classifyFiles(
      pool,
      entries,
      { topK: command.topK, minConfidence: command.minConfidence },
      pool.threads * 2,
      (o) => {
        bar.pause();
        process.stdout.write(command.json ? `${jsonLine(o)}\n` : `${table.rows(o).join('\n')}\n`);
        bar.tick('error' in o);
      },
    );
    bar.stop();
    if (entries.length === 0) process.stderr.write('labelq: no image files found\n');
    return outcomes.some((o) => 'error' in o && isUnexpected(o.error)) ? 1 : 0;
  } finally {
    await pool.close();
  }
}

process.exitCode = await main(process.argv.slice(2));

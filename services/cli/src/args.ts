import { parseArgs } from 'node:util';
import { LabelqError } from '@labelq/errors';

export const USAGE = `Usage: pnpm labelq classify <file|dir>... [options]
       pnpm labelq keys create|list|revoke ...   API keys in Redis (pnpm labelq keys --help)
       pnpm labelq batch create|status|list|export ...   batches through the API (pnpm labelq batch --help)
       pnpm labelq search|reindex|index status   the results index (pnpm labelq search --help)

classify: classifies local images with the models in MODELS_DIR (no Redis, no S3).

Options:
  --json                 one JSON line per file: {"file","results"} or {"file","error":{"code","message"}}
  --models a,b           models to run (default: every model in the models dir)
  --models-dir DIR       models folder (default: MODELS_DIR, else ./models)
  --min-confidence X     drop labels below X (0..1; default: each model's manifest default)
  --top-k N              at most N labels per model (default: each model's manifest default)
  --threads N            inference threads (default: POOL_THREADS, else cores / INTRA_OP_THREADS)
  --intra-op-threads N   onnxruntime threads per session (default: INTRA_OP_THREADS, else 1)
  -h, --help             show this help

Exit codes: 0 every file was classified or rejected as bad input (its error is printed);
            1 some file failed for another reason (unreadable, inference failure);
            2 usage or configuration error (bad flag, unknown model, models missing).`;

/** The parsed `classify` command. Undefined fields fall back to configuration. */
export interface ClassifyCommand {
  paths: string[];
  json: boolean;
  models: string[] | undefined;
  modelsDir: string | undefined;
  minConfidence: number | undefined;
  topK: number | undefined;
  threads: number | undefined;
  intraOpThreads: number | undefined;
}

export type Command = { kind: 'help' } | ({ kind: 'classify' } & ClassifyCommand);

function usageError(message: string): LabelqError {
  return new LabelqError('invalid_request', message, { details: { usage: true } });
}

function num(
  name: string,
  raw: string | undefined,
  check: (n: number) => boolean,
  what: string,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n))
    throw usageError(`--${name} must be ${what}, got "${raw}"`);
  return n;
}

/** Parses argv (without node and script). Throws `invalid_request` with `details.usage` on bad usage. */
export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        models: { type: 'string' },
        'models-dir': { type: 'string' },
        'min-confidence': { type: 'string' },
        'top-k': { type: 'string' },
        threads: { type: 'string' },
        'intra-op-threads': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [sub, ...paths] = positionals;
  if (sub !== 'classify')
    throw usageError(
      sub === undefined
        ? 'Missing command (classify or keys)'
        : `Unknown command "${sub}" (classify or keys)`,
    );
  if (paths.length === 0) throw usageError('classify needs at least one file or directory');
  const isInt = (min: number) => (n: number) => Number.isInteger(n) && n >= min;
  return {
    kind: 'classify',
    paths,
    json: values.json,
    models: values.models
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    modelsDir: values['models-dir'],
    minConfidence: num(
      'min-confidence',
      values['min-confidence'],
      (n) => n >= 0 && n <= 1,
      'a number in [0, 1]',
    ),
    topK: num('top-k', values['top-k'], isInt(1), 'an integer >= 1'),
    threads: num('threads', values.threads, isInt(1), 'an integer >= 1'),
    intraOpThreads: num('intra-op-threads', values['intra-op-threads'], isInt(1), 'an integer >= 1'),
  };
}

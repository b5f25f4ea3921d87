import { parseArgs } from 'node:util';
import { batchModeSchema, type BatchMode } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';

export const BATCH_USAGE = `Usage: pnpm labelq batch create s3://bucket/prefix/ | --manifest s3://bucket/key.csv | ./local-dir [options]
       pnpm labelq batch status|pause|resume|cancel|retry-failed ID [--wait] [--json]
       pnpm labelq batch list [--json]
       pnpm labelq batch export ID [--format jsonl|csv] [-o FILE]

create options:
  --models a,b              models to run (default: every model the workers load)
  --mode missing|stale|all  missing (default): skip objects whose result is current; stale: re-run only results
                            made by other model files or policy; all: everything
  --ext jpg,png             only keys with these extensions
  --dry-run                 count what would be queued and skipped, queue nothing
  --wait                    follow the batch to its end: a progress bar on a TTY, plain lines otherwise
  --json                    print one JSON object: the batch (with --wait: as it ended)
  --concurrency N           local folder: uploads at once (default 4)
common options:
  --api URL                 the API (default LABELQ_API_URL, else http://127.0.0.1:8080)
  --key KEY                 the API key (default LABELQ_API_KEY)

A local folder is uploaded through the API (POST /v1/images); a state file (.labelq-upload.json in the folder)
makes a second run upload nothing already uploaded and unchanged.

Exit codes: 0 every item completed (or the command succeeded); 1 some item failed, or the API failed;
            2 usage or access error (bad flag, 400/401/403/404/409).`;

export type BatchCommand =
  | { kind: 'help' }
  | {
      kind: 'create';
      source:
        | { type: 'prefix'; bucket: string; prefix: string }
        | { type: 'manifest'; bucket: string; key: string }
        | { type: 'local'; dir: string };
      models: string[] | undefined;
      mode: BatchMode | undefined;
      extensions: string[] | undefined;
      dryRun: boolean;
      wait: boolean;
      json: boolean;
      concurrency: number;
      api: string | undefined;
      key: string | undefined;
    }
  | {
      kind: 'status' | 'pause' | 'resume' | 'cancel' | 'retry-failed';
      id: string;
      wait: boolean;
      json: boolean;
      api: string | undefined;
      key: string | undefined;
    }
  | { kind: 'list'; json: boolean; api: string | undefined; key: string | undefined }
  | {
      kind: 'export';
      id: string;
      format: 'jsonl' | 'csv';
      out: string | undefined;
      api: string | undefined;
      key: string | undefined;
    };

export function usageError(message: string): LabelqError {
  return new LabelqError('invalid_request', message, { details: { usage: true } });
}

/** `s3://bucket/rest` → bucket and rest. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw usageError(`expected s3://bucket/..., got "${url}"`);
  return { bucket: m[1]!, key: m[2]! };
}

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Parses `batch ...` arguments (without `batch`). Throws `invalid_request` with `details.usage`. */
export function parseBatchCommand(argv: readonly string[]): BatchCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        manifest: { type: 'string' },
        models: { type: 'string' },
        mode: { type: 'string' },
        ext: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        concurrency: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string', short: 'o' },
        api: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (v.help || sub === undefined || sub === 'help') return { kind: 'help' };
  const conn = { api: v.api, key: v.key };
  if (sub === 'create') {
    let source: Extract<BatchCommand, { kind: 'create' }>['source'];
    if (v.manifest !== undefined) {
      if (rest.length > 0) throw usageError('give either --manifest or a source, not both');
      const { bucket, key } = parseS3Url(v.manifest);
      if (key === '') throw usageError('--manifest needs s3://bucket/key');
      source = { type: 'manifest', bucket, key };
    } else {
      if (rest.length !== 1)
        throw usageError('batch create needs one source: s3://bucket/prefix/ or a folder');
      const src = rest[0]!;
      if (src.startsWith('s3://')) {
        const { bucket, key } = parseS3Url(src);
        source = { type: 'prefix', bucket, prefix: key };
      } else source = { type: 'local', dir: src };
    }
    let mode: BatchMode | undefined;
    if (v.mode !== undefined) {
      const m = batchModeSchema.safeParse(v.mode);
      if (!m.success) throw usageError(`--mode must be missing, stale or all, got "${v.mode}"`);
      mode = m.data;
    }
    const concurrency = v.concurrency === undefined ? 4 : Number(v.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw usageError(`--concurrency must be an integer 1..64, got "${v.concurrency}"`);
    }
    return {
      kind: 'create',
      source,
      models: list(v.models),
      mode,
      extensions: list(v.ext),
      dryRun: v['dry-run'],
      wait: v.wait,
      json: v.json,
      concurrency,
      ...conn,
    };
  }
  if (sub === 'list') return { kind: 'list', json: v.json, ...conn };
  if (['status', 'pause', 'resume', 'cancel', 'retry-failed', 'export'].includes(sub)) {
    if (rest.length !== 1) throw usageError(`batch ${sub} needs one batch id`);
    const id = rest[0]!;
    if (sub === 'export') {
      const format = v.format ?? 'jsonl';
      if (format !== 'jsonl' && format !== 'csv')
        throw usageError(`--format must be jsonl or csv, got "${format}"`);
      return { kind: 'export', id, format, out: v.out, ...conn };
    }
    return { kind: sub as 'status', id, wait: v.wait, json: v.json, ...conn };
  }
  throw usageError(`unknown batch command "${sub}"`);
}

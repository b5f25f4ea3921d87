import { readFile } from 'node:fs/promises';
import { LabelqError, toLabelqError } from '@labelq/errors';
import type { ClassifyOptions, InferencePool } from '@labelq/inference';
import type { FileOutcome } from './format.ts';
import type { WalkEntry } from './walk.ts';

/**
 * Classifies files with at most `concurrency` in flight (enough to keep every pool thread busy while the next
 * file is read) and reports outcomes in input order via `onOutcome`. Never throws for a single file.
 */
export async function classifyFiles(
  pool: InferencePool,
  entries: readonly WalkEntry[],
  options: ClassifyOptions,
  concurrency: number,
  onOutcome: (o: FileOutcome) => void,
): Promise<FileOutcome[]> {
  const outcomes: (FileOutcome | undefined)[] = new Array<FileOutcome | undefined>(entries.length);
  let next = 0;
  let printed = 0;
  const flush = () => {
    while (printed < entries.length && outcomes[printed] !== undefined) onOutcome(outcomes[printed++]!);
  };
  const one = async (entry: WalkEntry): Promise<FileOutcome> => {
    if ('error' in entry) {
      return {
        file: entry.file,
        error: new LabelqError('not_found', `Cannot read ${entry.file}: ${entry.error.message}`),
      };
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(entry.file);
    } catch (err) {
      return {
        file: entry.file,
        error: new LabelqError('not_found', `Cannot read ${entry.file}: ${(err as Error).message}`),
      };
    }
    try {
      const out = await pool.classify(bytes, options);
      return { file: entry.file, results: out.results };
    } catch (err) {
      return { file: entry.file, error: toLabelqError(err) };
    }
  };
  const lane = async () => {
    while (next < entries.length) {
      const i = next++;
      outcomes[i] = await one(entries[i]!);
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return outcomes as FileOutcome[];
}

/** Input errors (bad image, unsupported format) are expected outcomes; anything else is a failure. */
export function isUnexpected(err: LabelqError): boolean {
  return err.status >= 500 || err.code === 'not_found';
}

// Documents that change outside the worker (a person's review decision in the API) reach the index at once: a
// direct upsert, so the next search already sees the decision; when Postgres does not answer in time, the
// document goes to the outcome stream instead, and the indexers apply it once Postgres is back. Both paths are
// idempotent and ordered by the document's version (write.ts), so applying it twice, or after an older
// version, leaves the index equal to a reindex from S3.
import type { StoredDocument } from '@labelq/contracts';
import type { Pool } from 'pg';
import type { OutcomeRecorder } from './outcomes.ts';
import { upsertDocuments } from './write.ts';

export interface LiveIndexWriterOptions {
  pool: Pool;
  /** The fallback: the outcome stream the workers append to. */
  outcomes: OutcomeRecorder;
  /** Longest the direct upsert may take before the stream is used, ms. Default 2000. */
  timeoutMs?: number;
  /** Told when the direct upsert failed (the document then went to the stream). */
  onFallback?: (imageId: string, error: unknown) => void;
}

/** Where the document went: the index itself, the stream, or (stream full or Redis down) nowhere but S3. */
export type LiveIndexOutcome = 'indexed' | 'queued' | 'overflow' | 'error';

export interface LiveIndexWriter {
  /** Never rejects: the S3 document is already written and stays the source of truth. */
  record(doc: StoredDocument): Promise<LiveIndexOutcome>;
}

export function createLiveIndexWriter(options: LiveIndexWriterOptions): LiveIndexWriter {
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    async record(doc) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          upsertDocuments(options.pool, [doc]),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return 'indexed';
      } catch (err) {
        options.onFallback?.(doc.id, err);
        const appended = await options.outcomes.record(doc);
        return appended === 'appended' ? 'queued' : appended;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

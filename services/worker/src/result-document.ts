import {
  RESULT_SCHEMA_VERSION,
  tryReadStoredDocument,
  type ModelRef,
  type ResultDocument,
} from '@labelq/contracts';
import type { ModelManifest } from '@labelq/models';
import type { ModerationPolicy } from '@labelq/moderation';

/** The provenance refs of the models a job asked for, sorted by name. */
export function modelRefs(manifests: readonly ModelManifest[], names: readonly string[]): ModelRef[] {
  return manifests
    .filter((m) => names.includes(m.name))
    .map((m) => ({ name: m.name, version: m.version, sha256: m.sha256 }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * The document read from the result key when it is a completed result, of the current schema version, for
 * the same source bytes (ETag), the same model files (name + sha256) and the same moderation policy: a
 * redelivered job then reuses it instead of writing a new document whose only difference would be timings.
 * Anything else (absent, corrupt, older version, other bytes or models) is `undefined`: compute and overwrite.
 */
export function reusableResult(
  raw: unknown,
  expected: { etag: string; models: readonly ModelRef[]; policy: ModerationPolicy },
): ResultDocument | undefined {
  if ((raw as { schemaVersion?: unknown } | null | undefined)?.schemaVersion !== RESULT_SCHEMA_VERSION) {
    return undefined;
  }
  const doc = tryReadStoredDocument(raw);
  if (doc?.status !== 'completed' || doc.source.etag !== expected.etag) return undefined;
  const have = doc.provenance.models.map((m) => `${m.name}@${m.sha256}`).sort();
  const want = expected.models.map((m) => `${m.name}@${m.sha256}`).sort();
  if (JSON.stringify(have) !== JSON.stringify(want)) return undefined;
  if (doc.moderation !== undefined && doc.moderation.policy !== expected.policy.version) return undefined;
  return doc;
}

/** True when `raw` is a completed result for the source bytes with this ETag (any model set, any version). */
export function isCompletedFor(raw: unknown, etag: string): boolean {
  const doc = tryReadStoredDocument(raw);
  return doc?.status === 'completed' && doc.source.etag === etag;
}

/** What of a BullMQ job tells whether an earlier run may have stored its result (see mayHaveStoredResult). */
export interface JobStarts {
  /** BullMQ counts every start: retries, stalled re-runs, and hand-backs during an outage (attempts untouched). */
  attemptsStarted: number;
  attemptsMade: number;
  stalledCounter: number;
}

/**
 * Whether the job must read its result key before classifying. Only not when its submitter found no job and no
 * document for the id (`noPriorResult`) and this is the job's first start: then nothing can have written one
 * since, except a concurrent run of the same image under another job id (a batch item), whose document would
 * hold the same result. Every later start reads: the first may have written the document before it died,
 * stalled or was handed back, and "results written once" depends on finding it.
 */
export function mayHaveStoredResult(
  payload: { noPriorResult?: boolean | undefined },
  job: JobStarts,
): boolean {
  const firstStart = job.attemptsStarted <= 1 && job.attemptsMade === 0 && job.stalledCounter === 0;
  return !(payload.noPriorResult === true && firstStart);
}

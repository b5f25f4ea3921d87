import { tryReadStoredDocument, type BatchMode, type ModelRef, type SkipReason } from '@labelq/contracts';

/** What the stored document at an item's result key says, reduced to what a mode decision needs. */
export type ExistingResult =
  | { status: 'none' }
  | { status: 'failed' }
  | { status: 'completed'; etag: string; models: readonly string[]; policy: string | undefined };

/** Reads a raw result document (any version we wrote; corrupt or absent is `none`: it gets rewritten). */
export function existingResult(raw: unknown): ExistingResult {
  const doc = tryReadStoredDocument(raw);
  if (doc === undefined) return { status: 'none' };
  if (doc.status === 'failed') return { status: 'failed' };
  return {
    status: 'completed',
    etag: doc.source.etag,
    models: doc.provenance.models.map((m) => `${m.name}@${m.sha256}`).sort(),
    policy: doc.moderation?.policy,
  };
}

/** What a result made now would record. */
export interface CurrentTruth {
  /** The object's ETag from the listing (or a HEAD); undefined when unknown (then it is not compared). */
  etag: string | undefined;
  /** The batch's model files. */
  models: readonly ModelRef[];
  /** The moderation policy version results record when an NSFW model runs. */
  policyVersion: string;
}

/**
 * True when the result was made from these bytes, these model files and (when it moderated) this policy:
 * the same test a worker applies before reusing a document (services/worker/src/result-document.ts).
 */
export function isCurrent(existing: ExistingResult, now: CurrentTruth): boolean {
  if (existing.status !== 'completed') return false;
  if (now.etag !== undefined && existing.etag !== now.etag) return false;
  const want = now.models.map((m) => `${m.name}@${m.sha256}`).sort();
  if (JSON.stringify(existing.models) !== JSON.stringify(want)) return false;
  return existing.policy === undefined || existing.policy === now.policyVersion;
}

/**
 * The mode's decision for one object:
 * - `all`: queue.
 * - `missing`: queue unless the result is current (a failed or absent result is queued again).
 * - `stale`: queue only an object that has a completed result which is not current (other model files, policy
 *   or bytes); no result at all is `no_result` (that is `missing`'s job), a current one `current`.
 */
export function modeDecision(
  mode: BatchMode,
  existing: ExistingResult,
  now: CurrentTruth,
): { action: 'queue' } | { action: 'skip'; reason: SkipReason } {
  if (mode === 'all') return { action: 'queue' };
  const current = isCurrent(existing, now);
  if (current) return { action: 'skip', reason: 'current' };
  if (mode === 'missing') return { action: 'queue' };
  return existing.status === 'completed' ? { action: 'queue' } : { action: 'skip', reason: 'no_result' };
}

/** Whether the decision needs the result document at all (`all` never reads it). */
export function needsLookup(mode: BatchMode): boolean {
  return mode !== 'all';
}

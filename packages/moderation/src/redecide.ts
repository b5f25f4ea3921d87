import type { ResultDocument } from '@labelq/contracts';
import { moderate } from './decide.ts';
import type { ModerationPolicy } from './policy.ts';

/**
 * True when `doc` holds a moderation decision made with another policy than `policy`: a `stale` result that
 * {@link redecide} can bring up to date without inference (its NSFW scores are stored in `results`).
 */
export function isStaleDecision(doc: ResultDocument, policy: ModerationPolicy): boolean {
  return doc.moderation !== undefined && doc.moderation.policy !== policy.version;
}

/**
 * Decides again from the scores stored in a result document under `policy`: pure (no inference, no I/O), the
 * same function the worker applies to fresh scores. Returns the document with the new `moderation` and a
 * `redecided` note of what it replaced; the document itself when its decision is already `policy`'s, or when
 * no NSFW model ran. A human `review` stays as it is (a person's decision outranks a re-scored one).
 */
export function redecide(doc: ResultDocument, policy: ModerationPolicy, now = new Date()): ResultDocument {
  if (!isStaleDecision(doc, policy)) return doc;
  const moderation = moderate(doc.results, policy);
  if (moderation === undefined) return doc;
  return {
    ...doc,
    moderation,
    redecided: {
      at: now.toISOString(),
      fromPolicy: doc.moderation!.policy,
      fromDecision: doc.moderation!.decision,
    },
  };
}

import type { ModelResult, ResultDocument } from '@labelq/contracts';
import { compareLabelqTags, S3_TAG_LIMITS, type ObjectTag } from '@labelq/storage';

/**
 * Our tags for a source object, so that jobs with different model sets on the same object commute: one tag per
 * model, `labelq:<model name>` = for classifiers and detectors that model's label names at or above
 * `minConfidence`, highest first, `/`-separated, whole names up to 256 characters (none when no label reaches
 * it); for a `faces` model the number of faces (`labelq:faces=2`, also `0`); for a `text` model `yes` or `no`
 * (the text itself is too long for a tag: it lives in the result document); and `labelq:moderation`
 * (allow/review/block) when an NSFW model ran, which depends only on the NSFW model's scores and the policy.
 * Sorted in the order they keep their place under the 10-tag limit (see compareLabelqTags).
 */
export function labelqTags(doc: ResultDocument, minConfidence: number): ObjectTag[] {
  const tags: ObjectTag[] = [];
  // A person's review decision outranks the model's.
  if (doc.moderation !== undefined) {
    tags.push({ key: 'labelq:moderation', value: doc.review?.decision ?? doc.moderation.decision });
  }
  for (const result of doc.results) {
    const value = tagValue(result, minConfidence);
    if (value !== '') tags.push({ key: `labelq:${result.model.name}`, value });
  }
  return tags.sort((a, b) => compareLabelqTags(a.key, b.key));
}

/** One model's tag value ('' = no tag). */
function tagValue(result: ModelResult, minConfidence: number): string {
  switch (result.task) {
    case 'faces':
      return String(result.count);
    case 'text':
      return result.lines.some((l) => l.text.trim() !== '') ? 'yes' : 'no';
    case 'classify':
    case 'detect': {
      const best = new Map<string, number>();
      for (const label of result.labels) {
        if (label.confidence < minConfidence) continue;
        best.set(label.name, Math.max(best.get(label.name) ?? 0, label.confidence));
      }
      const names = [...best.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([n]) => n);
      let value = '';
      for (const name of names) {
        const next = value === '' ? name : `${value}/${name}`;
        if (next.length > S3_TAG_LIMITS.maxValueLength) break;
        value = next;
      }
      return value;
    }
  }
}

/**
 * The keys a job owns, removed unless labelqTags sets them: one per model it ran, `labelq:moderation` when an
 * NSFW model ran. Other models' tags (another job's) are left alone.
 */
export function labelqOwnedKeys(doc: ResultDocument): string[] {
  return [
    ...(doc.moderation !== undefined ? ['labelq:moderation'] : []),
    ...doc.provenance.models.map((m) => `labelq:${m.name}`),
  ];
}

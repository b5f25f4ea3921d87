import type { ResultDocument } from '@labelq/queue';
import { S3_TAG_LIMITS, type ObjectTag } from '@labelq/storage';

/**
 * Our tags for a source object, in priority order (when the owner's tags leave no room, the last are dropped
 * first): `labelq:moderation` (allow/review/block), `labelq:labels` (label names at or above `minConfidence`
 * across models, highest first, `/`-separated, whole names up to 256 characters), `labelq:id` (the image id,
 * to find the result document).
 */
export function labelqTags(doc: ResultDocument, minConfidence: number): ObjectTag[] {
  const tags: ObjectTag[] = [];
  if (doc.moderation !== undefined) tags.push({ key: 'labelq:moderation', value: doc.moderation.decision });
  const best = new Map<string, number>();
  for (const result of doc.results) {
    for (const label of result.labels) {
      if (label.confidence < minConfidence) continue;
      best.set(label.name, Math.max(best.get(label.name) ?? 0, label.confidence));
    }
  }
  const names = [...best.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([n]) => n);
  let value = '';
  for (const name of names) {
    const next = value === '' ? name : `${value}/${name}`;
    if (next.length > S3_TAG_LIMITS.maxValueLength) break;
    value = next;
  }
  if (value !== '') tags.push({ key: 'labelq:labels', value });
  tags.push({ key: 'labelq:id', value: doc.id });
  return tags;
}

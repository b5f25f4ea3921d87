import {
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import { mapS3Error } from './errors.ts';

/** Our tag keys start with this; tags with other keys belong to the object's owner and are never touched. */
export const LABELQ_TAG_PREFIX = 'labelq:';
/** S3's limits on object tags. */
export const S3_TAG_LIMITS = { maxTags: 10, maxKeyLength: 128, maxValueLength: 256 } as const;

export interface ObjectTag {
  key: string;
  value: string;
}

// S3 allows letters, digits, spaces and + - = . _ : / @ in tag keys and values.
const DISALLOWED = /[^\p{L}\p{N} +\-=._:/@]/gu;

/** Replaces characters S3 rejects with `_` and truncates to `max` characters (code points). */
export function sanitizeTagText(text: string, max: number): string {
  return [...text.replace(DISALLOWED, '_')].slice(0, max).join('');
}

export interface MergeResult {
  /** The full tag set to write. */
  tags: ObjectTag[];
  /** `labelq:` keys (ours or another writer's) that did not fit under S3's 10-tag limit. */
  dropped: string[];
  /** False when `tags` equals the existing set (no write needed). */
  changed: boolean;
}

/**
 * The order in which `labelq:` tags keep their place under the 10-tag limit: `labelq:moderation` first, then
 * by key. It depends on the key alone, so that merges by different writers commute.
 */
export function compareLabelqTags(a: string, b: string): number {
  const moderation = `${LABELQ_TAG_PREFIX}moderation`;
  if (a === b) return 0;
  if (a === moderation) return -1;
  if (b === moderation) return 1;
  return a < b ? -1 : 1;
}

/**
 * Merges one writer's tags into an object's existing tags. `ours` sets its keys; `owned` are the further keys
 * this writer is responsible for, removed unless `ours` sets them (a model with no label above the threshold, a
 * key an older version wrote). Every other tag is kept: the owner's always, and other writers' `labelq:` tags
 * (e.g. another model set's job on the same object), so merges by writers owning disjoint keys commute. When
 * the total would exceed 10 tags, the owner's tags win and `labelq:` tags are dropped from the end of
 * {@link compareLabelqTags}'s order (last model key first, `labelq:moderation` last). Keys and values are
 * sanitized to S3's character set and length limits.
 */
export function mergeTags(
  existing: readonly ObjectTag[],
  ours: readonly ObjectTag[],
  owned: readonly string[] = [],
): MergeResult {
  const clean = ours.map((t) => ({
    key: sanitizeTagText(t.key, S3_TAG_LIMITS.maxKeyLength),
    value: sanitizeTagText(t.value, S3_TAG_LIMITS.maxValueLength),
  }));
  const replaced = new Set([
    ...clean.map((t) => t.key),
    ...owned.map((k) => sanitizeTagText(k, S3_TAG_LIMITS.maxKeyLength)),
  ]);
  const isOurs = (t: ObjectTag): boolean => t.key.startsWith(LABELQ_TAG_PREFIX);
  const kept = existing.filter((t) => !isOurs(t));
  const room = Math.max(0, S3_TAG_LIMITS.maxTags - kept.length);
  const candidates = [...existing.filter((t) => isOurs(t) && !replaced.has(t.key)), ...clean].sort((a, b) =>
    compareLabelqTags(a.key, b.key),
  );
  const tags = [...kept, ...candidates.slice(0, room)];
  const dropped = candidates.slice(room).map((t) => t.key);
  const canon = (list: readonly ObjectTag[]): string =>
    JSON.stringify([...list].map((t) => [t.key, t.value]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
  return { tags, dropped, changed: canon(tags) !== canon(existing) };
}

export async function getObjectTags(client: S3Client, bucket: string, key: string): Promise<ObjectTag[]> {
  try {
    const out = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    return (out.TagSet ?? []).map((t: Tag) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
  } catch (err) {
    throw mapS3Error(err, { bucket, key, op: 'GetObjectTagging' });
  }
}

/**
 * Reads the object's tags, merges ours ({@link mergeTags}) and writes the set with PutObjectTagging, skipping
 * the write when nothing changes (so a redelivered job writes nothing). Not atomic with a concurrent change
 * of the owner's tags: S3 has no conditional tagging.
 */
export async function mergeObjectTags(
  client: S3Client,
  bucket: string,
  key: string,
  ours: readonly ObjectTag[],
  owned: readonly string[] = [],
): Promise<MergeResult> {
  const existing = await getObjectTags(client, bucket, key);
  const merged = mergeTags(existing, ours, owned);
  if (!merged.changed) return merged;
  try {
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: key,
        Tagging: { TagSet: merged.tags.map((t) => ({ Key: t.key, Value: t.value })) },
      }),
    );
  } catch (err) {
    throw mapS3Error(err, { bucket, key, op: 'PutObjectTagging' });
  }
  return merged;
}

import type { ModelManifest, ModelRef } from '@labelq/models';
import type { ModerationPolicy } from '@labelq/moderation';
import type { ResultDocument } from '@labelq/queue';

/** The provenance refs of the models a job asked for, sorted by name. */
export function modelRefs(manifests: readonly ModelManifest[], names: readonly string[]): ModelRef[] {
  return manifests
    .filter((m) => names.includes(m.name))
    .map((m) => ({ name: m.name, version: m.version, sha256: m.sha256 }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * True when `existing` (read from the result key) is a completed result for the same source bytes (ETag),
 * the same model files (name + sha256) and the same moderation policy: a redelivered job then reuses it
 * instead of writing a new document whose only difference would be timings.
 */
export function isReusable(
  existing: unknown,
  expected: { etag: string; models: ModelRef[]; schemaVersion: number; policy: ModerationPolicy },
): existing is ResultDocument {
  if (!isObject(existing) || existing.status !== 'completed') return false;
  if (existing.schemaVersion !== expected.schemaVersion) return false;
  if (!isObject(existing.source) || existing.source.etag !== expected.etag) return false;
  if (!isObject(existing.provenance) || !Array.isArray(existing.provenance.models)) return false;
  const have = (existing.provenance.models as unknown[])
    .map((m) => (isObject(m) ? `${String(m.name)}@${String(m.sha256)}` : ''))
    .sort();
  const want = expected.models.map((m) => `${m.name}@${m.sha256}`).sort();
  if (JSON.stringify(have) !== JSON.stringify(want)) return false;
  if (isObject(existing.moderation) && existing.moderation.policy !== expected.policy.version) return false;
  return Array.isArray(existing.results);
}

/** True when `existing` is a completed result for the source bytes with this ETag (any model set). */
export function isCompletedFor(existing: unknown, etag: string): boolean {
  return (
    isObject(existing) &&
    existing.status === 'completed' &&
    isObject(existing.source) &&
    existing.source.etag === etag
  );
}

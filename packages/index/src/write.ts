// Idempotent upserts of documents into the index: three statements per batch however many documents it has.
import type { StoredDocument } from '@labelq/contracts';
import type { Pool, PoolClient } from 'pg';
import { documentRows, type IndexRows } from './document-rows.ts';

export interface UpsertOptions {
  /**
   * `newer` (default, the live indexer): a document replaces the indexed one only if its version (finished_at,
   * then revised_at) is the same or later, so a late, re-delivered older outcome (or the unreviewed version of
   * a reviewed one) never overwrites a newer one. `always` (reindex): the
   * S3 document wins, S3 being the source of truth.
   */
  replace?: 'newer' | 'always';
}

const IMAGE_COLUMNS = [
  ['tenant', 'text'],
  ['id', 'text'],
  ['status', 'text'],
  ['bucket', 'text'],
  ['key', 'text'],
  ['etag', 'text'],
  ['format', 'text'],
  ['bytes', 'bigint'],
  ['width', 'integer'],
  ['height', 'integer'],
  ['content_type', 'text'],
  ['purpose', 'text'],
  ['origin', 'text'],
  ['batch_id', 'text'],
  ['submitted_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
  ['decision', 'text'],
  ['model_decision', 'text'],
  ['reviewed_by', 'text'],
  ['reviewed_at', 'timestamptz'],
  ['revised_at', 'timestamptz'],
  ['policy_version', 'text'],
  ['models', 'jsonb'],
  ['error_code', 'text'],
  ['schema_version', 'integer'],
  ['ocr_text', 'text'],
  ['phash', 'bigint'],
  ['brightness', 'real'],
  ['sharpness', 'real'],
  ['colours', 'jsonb'],
] as const;

function imageValues(r: IndexRows['image']): unknown[] {
  return [
    r.tenant,
    r.id,
    r.status,
    r.bucket,
    r.key,
    r.etag,
    r.format,
    r.bytes,
    r.width,
    r.height,
    r.contentType,
    r.purpose,
    r.origin,
    r.batchId,
    r.submittedAt,
    r.finishedAt,
    r.decision,
    r.modelDecision,
    r.reviewedBy,
    r.reviewedAt,
    r.revisedAt,
    r.policyVersion,
    JSON.stringify(r.models),
    r.errorCode,
    r.schemaVersion,
    r.ocrText,
    r.phash,
    r.brightness,
    r.sharpness,
    r.colours === null ? null : JSON.stringify(r.colours),
  ];
}

/**
 * A document's version: its outcome's finish time, then its last revision (a review or re-decision of the same
 * outcome keeps finished_at). Older versions never replace newer ones, in whatever order indexers see them.
 */
const version = (table: string): string =>
  `(${table}.finished_at, coalesce(${table}.revised_at, '-infinity'::timestamptz))`;

/** The same order in JS, for documents of one image within a batch. */
function newerOrSame(a: IndexRows['image'], b: IndexRows['image']): boolean {
  const t = (iso: string | null) => (iso === null ? -Infinity : Date.parse(iso));
  const byFinish = t(a.finishedAt) - t(b.finishedAt);
  return byFinish > 0 || (byFinish === 0 && t(a.revisedAt) >= t(b.revisedAt));
}

function upsertImagesSql(replace: 'newer' | 'always'): string {
  const names = IMAGE_COLUMNS.map(([n]) => n);
  // jsonb arrives as text (pg sends arrays of strings), cast per element.
  const select = IMAGE_COLUMNS.map(([n, t]) => (t === 'jsonb' ? `t.${n}::jsonb` : `t.${n}`));
  const unnest = IMAGE_COLUMNS.map(([, t], i) => `$${i + 1}::${t === 'jsonb' ? 'text' : t}[]`);
  const updates = names.filter((n) => n !== 'tenant' && n !== 'id').map((n) => `${n} = EXCLUDED.${n}`);
  return `INSERT INTO labelq.images (${names.join(', ')}, indexed_at)
SELECT ${select.join(', ')}, clock_timestamp()
FROM unnest(${unnest.join(', ')}) AS t(${names.join(', ')})
ON CONFLICT (tenant, id) DO UPDATE SET ${updates.join(', ')}, indexed_at = clock_timestamp()
${replace === 'newer' ? `WHERE ${version('labelq.images')} <= ${version('EXCLUDED')}` : ''}
RETURNING tenant, id, (xmax = 0) AS inserted`;
}

const SQL = { newer: upsertImagesSql('newer'), always: upsertImagesSql('always') };

const DELETE_LABELS = `DELETE FROM labelq.labels l
USING unnest($1::text[], $2::text[]) AS u(tenant, id)
WHERE l.tenant = u.tenant AND l.image_id = u.id`;

const INSERT_LABELS = `INSERT INTO labelq.labels
  (tenant, image_id, model, task, label, confidence, instances, finished_at, batch_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::real[], $7::integer[],
  $8::timestamptz[], $9::text[])`;

/**
 * Upserts documents (any mix of tenants) in one transaction: images rows, then each replaced image's labels.
 * Idempotent: applying the same documents again changes nothing but `indexed_at`. Returns how many images rows
 * were written (documents older than the indexed ones are skipped under `replace: 'newer'`).
 */
export async function upsertDocuments(
  db: Pool | PoolClient,
  docs: readonly StoredDocument[],
  options: UpsertOptions = {},
): Promise<number> {
  if (docs.length === 0) return 0;
  // One row per image: the latest document wins (ON CONFLICT cannot touch a row twice in one statement).
  const latest = new Map<string, IndexRows>();
  for (const doc of docs) {
    const rows = documentRows(doc);
    const k = `${rows.image.tenant}\0${rows.image.id}`;
    const prev = latest.get(k);
    if (prev === undefined || newerOrSame(rows.image, prev.image)) latest.set(k, rows);
  }
  const batch = [...latest.values()];
  const columns: unknown[][] = IMAGE_COLUMNS.map(() => []);
  for (const { image } of batch) imageValues(image).forEach((v, i) => columns[i]!.push(v));

  const client = 'release' in db ? db : await db.connect();
  let failed: unknown;
  try {
    await client.query('BEGIN');
    const written = await client.query<{ tenant: string; id: string; inserted: boolean }>(
      SQL[options.replace ?? 'newer'],
      columns,
    );
    // xmax = 0: the row is new, so it has no labels to delete (the common case: a first outcome).
    const fresh = new Set<string>();
    const updated = new Set<string>();
    for (const r of written.rows) (r.inserted ? fresh : updated).add(`${r.tenant}\0${r.id}`);
    const key = (b: IndexRows): string => `${b.image.tenant}\0${b.image.id}`;
    const replaced = batch.filter((b) => fresh.has(key(b)) || updated.has(key(b)));
    if (replaced.length > 0) {
      const stale = replaced.filter((b) => updated.has(key(b)));
      if (stale.length > 0)
        await client.query(DELETE_LABELS, [stale.map((b) => b.image.tenant), stale.map((b) => b.image.id)]);
      const l: unknown[][] = Array.from({ length: 9 }, () => []);
      for (const { image, labels } of replaced)
        for (const label of labels) {
          l[0]!.push(image.tenant);
          l[1]!.push(image.id);
          l[2]!.push(label.model);
          l[3]!.push(label.task);
          l[4]!.push(label.label);
          l[5]!.push(label.confidence);
          l[6]!.push(label.instances);
          l[7]!.push(image.finishedAt);
          l[8]!.push(image.batchId);
        }
      if (l[0]!.length > 0) await client.query(INSERT_LABELS, l);
    }
    await client.query('COMMIT');
    return written.rowCount ?? 0;
  } catch (err) {
    failed = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A client whose connection broke is discarded, not returned to the pool.
    if (client !== db) client.release(failed instanceof Error ? failed : undefined);
  }
}

// The index's read side: image search with keyset pagination, label facets, near duplicates. Every statement is
// parameterised (user text only ever travels as a bind value) and names exactly one tenant.
import {
  BLURRY_SHARPNESS,
  type ImageSearchQuery,
  type ImageSearchResponse,
  type IndexedImage,
  type LabelFacetQuery,
  type LabelFacetResponse,
  type SimilarQuery,
  type SimilarResponse,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { Pool } from 'pg';
import { CursorCodec, loadCursorKey } from './cursor.ts';
import { indexError } from './db.ts';
import { bigintToPhash } from './document-rows.ts';
import { hashChunks, probesWithin } from './phash.ts';

interface ImageDbRow {
  id: string;
  status: 'completed' | 'failed';
  bucket: string;
  key: string;
  etag: string | null;
  format: string | null;
  bytes: string | null;
  width: number | null;
  height: number | null;
  batch_id: string | null;
  decision: string | null;
  model_decision: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  policy_version: string | null;
  error_code: string | null;
  submitted_at: string | null;
  finished_at: string;
  models: IndexedImage['models'];
  phash: string | null;
  brightness: number | null;
  sharpness: number | null;
  colours: IndexedImage['properties'] extends infer P ? (P extends { colours: infer C } ? C : never) : never;
}

const UTC_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const iso = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', ${UTC_ISO})`;

/** The images columns every answer carries (alias `i`). */
const IMAGE_SELECT = `i.id, i.status, i.bucket, i.key, i.etag, i.format, i.bytes::text AS bytes, i.width, i.height,
  i.batch_id, i.decision, i.model_decision, i.reviewed_by, ${iso('i.reviewed_at')} AS reviewed_at,
  i.policy_version, i.error_code, ${iso('i.submitted_at')} AS submitted_at, ${iso('i.finished_at')} AS finished_at, i.models, i.phash::text AS phash, i.brightness, i.sharpness, i.colours`;

function toImage(row: ImageDbRow, labels: IndexedImage['labels']): IndexedImage {
  return {
    id: row.id,
    status: row.status,
    bucket: row.bucket,
    key: row.key,
    etag: row.etag,
    format: row.format,
    bytes: row.bytes === null ? null : Number(row.bytes),
    width: row.width,
    height: row.height,
    batch: row.batch_id,
    decision: row.decision,
    modelDecision: row.model_decision,
    reviewedBy: row.reviewed_by,
    reviewedAt: row.reviewed_at,
    policyVersion: row.policy_version,
    errorCode: row.error_code,
    submittedAt: row.submitted_at,
    finishedAt: row.finished_at,
    models: row.models,
    labels,
    properties:
      row.phash === null
        ? null
        : {
            phash: bigintToPhash(row.phash),
            brightness: row.brightness,
            sharpness: row.sharpness,
            colours: row.colours,
          },
  };
}

const chunkBranch = (k: number): string =>
  `SELECT id, phash FROM labelq.images WHERE tenant = $1 AND phash IS NOT NULL AND phash_${k} = ANY($${k + 4}::int[])
     AND bit_count((phash # $2::bigint)::bit(64)) <= $8`;

/**
 * Near duplicates: $1 tenant, $2 the image's pHash (bigint), $3 its id, $4-$7 the probe values of chunks 0-3,
 * $8 maxDistance, $9 limit. Each chunk is an index-only scan of images_phash_k (which includes phash and id),
 * with the exact distance checked on the index entries, so no candidate costs a heap visit; only the nearest
 * `limit` are then read from the table.
 */
export const SIMILAR_SQL = `WITH near AS (
    SELECT c.id, bit_count((c.phash # $2::bigint)::bit(64))::int AS distance
    FROM (${[0, 1, 2, 3].map(chunkBranch).join('\n      UNION\n      ')}) c
    WHERE c.id <> $3
    ORDER BY distance, c.id LIMIT $9
  )
  SELECT ${IMAGE_SELECT}, near.distance
  FROM near JOIN labelq.images i ON i.tenant = $1 AND i.id = near.id
  ORDER BY near.distance, i.id`;

/** Query text and its bind values, built together so a `$n` always matches its value. */
class Sql {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface SearchServiceOptions {
  pool: Pool;
}

/** Search over the index for the API and the CLI. Every method rejects with a coded LabelqError. */
export class SearchService {
  private codec: Promise<CursorCodec> | undefined;

  constructor(private readonly pool: Pool) {}

  private cursorCodec(): Promise<CursorCodec> {
    this.codec ??= loadCursorKey(this.pool).then(
      (key) => new CursorCodec(key),
      (err: unknown) => {
        this.codec = undefined;
        throw err;
      },
    );
    return this.codec;
  }

  /** `GET /v1/images`: newest first (finished_at, then id), `limit` per page, `nextCursor` for the next. */
  async searchImages(tenant: string, query: ImageSearchQuery): Promise<ImageSearchResponse> {
    const { limit, cursor, ...filters } = query;
    try {
      const codec = await this.cursorCodec();
      const position = cursor === undefined ? undefined : codec.decode(cursor, tenant, filters);
      const sql = new Sql();
      const t = sql.bind(tenant);
      const where: string[] = [];
      if (filters.decision !== undefined) where.push(`i.decision = ${sql.bind(filters.decision)}`);
      if (filters.status !== undefined) where.push(`i.status = ${sql.bind(filters.status)}`);
      if (filters.batch !== undefined) where.push(`i.batch_id = ${sql.bind(filters.batch)}`);
      if (filters.text !== undefined)
        where.push(
          `i.ocr_text IS NOT NULL AND i.ocr_tsv @@ websearch_to_tsquery('simple', ${sql.bind(filters.text)})`,
        );
      if (filters.before !== undefined)
        where.push(`i.finished_at < ${sql.bind(filters.before)}::timestamptz`);
      if (filters.after !== undefined) where.push(`i.finished_at >= ${sql.bind(filters.after)}::timestamptz`);
      if (filters.blurry !== undefined)
        where.push(`i.sharpness ${filters.blurry ? '<' : '>='} ${sql.bind(BLURRY_SHARPNESS)}`);
      const labelFiltered =
        filters.label !== undefined || filters.model !== undefined || filters.minConfidence !== undefined;
      const labelConds = (alias: string): string[] => {
        const c: string[] = [];
        if (filters.label !== undefined) c.push(`${alias}.label = ${sql.bind(filters.label)}`);
        if (filters.model !== undefined) c.push(`${alias}.model = ${sql.bind(filters.model)}`);
        if (filters.minConfidence !== undefined)
          c.push(`${alias}.confidence >= ${sql.bind(filters.minConfidence)}`);
        return c;
      };
      let text: string;
      const lim = sql.bind(limit + 1);
      if (filters.label !== undefined) {
        // Walk labels_search (tenant, label, finished_at DESC, image_id DESC) in result order; DISTINCT ON drops
        // the second model that found the same label on the same image.
        const conds = [`l.tenant = ${t}`, ...labelConds('l'), ...where];
        if (position !== undefined)
          conds.push(
            `(l.finished_at, l.image_id) < (${sql.bind(position.finishedAt)}::timestamptz, ${sql.bind(position.id)})`,
          );
        text = `SELECT DISTINCT ON (l.finished_at, l.image_id) ${IMAGE_SELECT}
          FROM labelq.labels l JOIN labelq.images i ON i.tenant = l.tenant AND i.id = l.image_id
          WHERE ${conds.join(' AND ')}
          ORDER BY l.finished_at DESC, l.image_id DESC LIMIT ${lim}`;
      } else {
        const conds = [`i.tenant = ${t}`, ...where];
        if (labelFiltered)
          conds.push(
            `EXISTS (SELECT 1 FROM labelq.labels l WHERE l.tenant = i.tenant AND l.image_id = i.id AND ${labelConds('l').join(' AND ')})`,
          );
        if (position !== undefined)
          conds.push(
            `(i.finished_at, i.id) < (${sql.bind(position.finishedAt)}::timestamptz, ${sql.bind(position.id)})`,
          );
        text = `SELECT ${IMAGE_SELECT} FROM labelq.images i WHERE ${conds.join(' AND ')}
          ORDER BY i.finished_at DESC, i.id DESC LIMIT ${lim}`;
      }
      const { rows } = await this.pool.query<ImageDbRow>(text, sql.values);
      const page = rows.slice(0, limit);
      const items = await this.withLabels(tenant, page);
      const last = page.at(-1);
      return {
        items,
        nextCursor:
          rows.length > limit && last !== undefined
            ? codec.encode(tenant, filters, { finishedAt: last.finished_at, id: last.id })
            : null,
      };
    } catch (err) {
      throw indexError(err);
    }
  }

  /** `GET /v1/labels`: how many images carry each label, most first. */
  async labelFacets(tenant: string, query: LabelFacetQuery): Promise<LabelFacetResponse> {
    const sql = new Sql();
    const conds = [`tenant = ${sql.bind(tenant)}`];
    if (query.batch !== undefined) conds.push(`batch_id = ${sql.bind(query.batch)}`);
    if (query.model !== undefined) conds.push(`model = ${sql.bind(query.model)}`);
    if (query.minConfidence !== undefined) conds.push(`confidence >= ${sql.bind(query.minConfidence)}`);
    try {
      const { rows } = await this.pool.query<{ label: string; images: string }>(
        `SELECT label, count(DISTINCT image_id) AS images FROM labelq.labels WHERE ${conds.join(' AND ')}
         GROUP BY label ORDER BY images DESC, label LIMIT ${sql.bind(query.limit)}`,
        sql.values,
      );
      return { items: rows.map((r) => ({ label: r.label, images: Number(r.images) })) };
    } catch (err) {
      throw indexError(err);
    }
  }

  /**
   * `GET /v1/images/:id/similar`: the tenant's images whose pHash is within `maxDistance` bits of this one's,
   * nearest first. Prefilter (see phash.ts): candidates share one 16-bit chunk within floor(d / 4) bits, found
   * through four btree indexes; the exact Hamming distance is then checked on those candidates only.
   */
  async similar(tenant: string, id: string, query: SimilarQuery): Promise<SimilarResponse> {
    try {
      const { rows: found } = await this.pool.query<{ phash: string | null }>(
        'SELECT phash::text AS phash FROM labelq.images WHERE tenant = $1 AND id = $2',
        [tenant, id],
      );
      const row = found[0];
      if (row === undefined) throw new LabelqError('not_found', `No image ${id} in the index`);
      if (row.phash === null)
        throw new LabelqError(
          'no_perceptual_hash',
          `Image ${id} has no perceptual hash (it failed or predates them)`,
        );
      const chunks = hashChunks(BigInt(row.phash));
      const radius = Math.floor(query.maxDistance / 4);
      const probes = chunks.map((c) => probesWithin(c, radius));
      const { rows } = await this.pool.query<ImageDbRow & { distance: number }>(SIMILAR_SQL, [
        tenant,
        row.phash,
        id,
        ...probes,
        query.maxDistance,
        query.limit,
      ]);
      const items = await this.withLabels(tenant, rows);
      return { items: items.map((item, n) => ({ ...item, distance: rows[n]!.distance })) };
    } catch (err) {
      throw indexError(err);
    }
  }

  /** One image as indexed (the CLI's `search --id`); undefined when absent. */
  async getImage(tenant: string, id: string): Promise<IndexedImage | undefined> {
    try {
      const { rows } = await this.pool.query<ImageDbRow>(
        `SELECT ${IMAGE_SELECT} FROM labelq.images i WHERE i.tenant = $1 AND i.id = $2`,
        [tenant, id],
      );
      return (await this.withLabels(tenant, rows))[0];
    } catch (err) {
      throw indexError(err);
    }
  }

  private async withLabels(tenant: string, rows: ImageDbRow[]): Promise<IndexedImage[]> {
    if (rows.length === 0) return [];
    const { rows: labels } = await this.pool.query<{
      image_id: string;
      model: string;
      task: string;
      label: string;
      confidence: number;
      instances: number;
    }>(
      `SELECT image_id, model, task, label, confidence, instances FROM labelq.labels
       WHERE tenant = $1 AND image_id = ANY($2::text[]) ORDER BY confidence DESC, label`,
      [tenant, rows.map((r) => r.id)],
    );
    const byImage = new Map<string, IndexedImage['labels']>();
    for (const l of labels) {
      const list = byImage.get(l.image_id) ?? [];
      list.push({
        model: l.model,
        task: l.task,
        label: l.label,
        confidence: Math.round(l.confidence * 1e6) / 1e6,
        instances: l.instances,
      });
      byImage.set(l.image_id, list);
    }
    return rows.map((r) => toImage(r, byImage.get(r.id) ?? []));
  }
}

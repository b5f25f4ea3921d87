import { createHash } from 'node:crypto';
import {
  DEFAULT_TENANT,
  decodeFailedReason,
  imageIdSchema,
  resultLabels,
  type Box,
  type ModelResult,
  type ResultDocument,
  type StoredJobPayload,
} from '@labelq/contracts';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { queueDepth } from '@labelq/queue';
import { inReviewQueue } from '@labelq/moderation';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import type { Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { loadDocument } from '../status.ts';
import { withDeadline } from '../timeout.ts';
import { uiReviewRoutes } from './review-data.ts';

/** Failed jobs read to chart failures by code (newest first): the chart covers these, not older ones. */
const FAILED_SAMPLE = 500;
/** Completed jobs read to find the caller's tenant's recent results. */
const RECENT_SCAN = 300;
/** Thumbnail size, px (the longer side). */
const THUMB_PX = 320;

const recentQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(60).default(24) });
const thumbParamsSchema = z.strictObject({ id: imageIdSchema });

function tenantOf(job: Job<StoredJobPayload>): string {
  const t = (job.data as { tenant?: unknown }).tenant;
  return typeof t === 'string' ? t : DEFAULT_TENANT;
}

function boxesOf(r: ModelResult): { label: string; confidence: number; box: Box }[] {
  switch (r.task) {
    case 'detect':
      return r.instances;
    case 'faces':
      return r.faces.map((f) => ({ label: 'face', confidence: f.confidence, box: f.box }));
    case 'text':
      return r.lines.map((l) => ({ label: l.text, confidence: l.confidence, box: l.box }));
    case 'classify':
      return [];
  }
}

/** The most a gallery card needs from a result document. */
function card(doc: ResultDocument) {
  return {
    id: doc.id,
    source: { bucket: doc.source.bucket, key: doc.source.key },
    image: doc.image,
    finishedAt: doc.timings.finishedAt,
    decision: doc.moderation?.decision,
    // Every box a model drew, named: detections by class, faces as `face`, text lines by what they say.
    results: doc.results.map((r) => ({
      model: r.model.name,
      task: r.task,
      labels: resultLabels(r).slice(0, 3),
      instances: boxesOf(r).slice(0, 20),
    })),
  };
}

/**
 * The dashboard's JSON (under `/v1/ui`, so every call carries the API key like any other): who am I, the
 * overview (scope `metrics`), the tenant's recent results (scope `read`), the review queue (scope `review`,
 * review-data.ts) and thumbnails (scope `read`, or `review` for the images of the tenant's review queue, pending
 * or decided: a reviewer must see what they decide, and nothing else; made by sharp from the source object once
 * and cached in S3 under S3_THUMBNAILS_PREFIX).
 */
export function uiDataRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): void {
  const { config, queue } = deps;
  let store: ObjectStore | undefined;
  const objects = (): ObjectStore => (store ??= createObjectStore(config.s3));
  app.addHook('onClose', () => store?.destroy());
  if (deps.workflow !== undefined) uiReviewRoutes(app, deps, deps.workflow, timeoutMs);
  const redis = <T>(op: () => Promise<T>): Promise<T> =>
    withDeadline(op, timeoutMs * 5, 'queue_unavailable', 'Redis');

  app.get('/ui/me', { schema: { hide: true } }, (request) => ({
    keyId: request.principal.keyId,
    tenant: request.principal.tenant,
    scopes: request.principal.scopes,
  }));

  app.get('/ui/overview', { config: { scope: 'metrics' }, schema: { hide: true } }, async () => {
    const depth = await redis(() => queueDepth(queue));
    // BullMQ's own per-minute counters (workers record them: `metrics` option), newest minute first.
    const [completed, failed] = await redis(() =>
      Promise.all([queue.getMetrics('completed', 0, 58), queue.getMetrics('failed', 0, 58)]),
    );
    const failedJobs = (await redis(() => queue.getJobs(['failed'], 0, FAILED_SAMPLE - 1, false))) as (
      Job<StoredJobPayload> | undefined
    )[];
    const hourMs = 3_600_000;
    const thisHour = Math.floor(Date.now() / hourMs) * hourMs;
    const hours = Array.from({ length: 24 }, (_, i) => thisHour - (23 - i) * hourMs);
    const byCode: Record<string, number[]> = {};
    for (const job of failedJobs) {
      if (job?.finishedOn === undefined) continue;
      const slot = hours.indexOf(Math.floor(job.finishedOn / hourMs) * hourMs);
      if (slot < 0) continue;
      const { code } = decodeFailedReason(job.failedReason);
      (byCode[code] ??= Array.from({ length: 24 }, () => 0))[slot]! += 1;
    }
    // Oldest first: the 59 finished minutes BullMQ has written as data points (newest first), then the minute
    // in progress, which is only in its running count so far.
    const minutes = (m: { data: (string | number)[]; meta: { count: number; prevCount: number } }) => [
      ...Array.from({ length: 59 }, (_, i) => Number(m.data[58 - i] ?? 0)),
      Math.max(0, Number(m.meta.count) - Number(m.meta.prevCount)),
    ];
    return {
      depth,
      throughput: { perMinute: { completed: minutes(completed), failed: minutes(failed) } },
      failuresByCode: {
        hours: hours.map((h) => new Date(h).toISOString()),
        codes: byCode,
        sampled: failedJobs.length,
      },
    };
  });

  app.get(
    '/ui/recent',
    {
      config: { scope: 'read' },
      schema: { hide: true, querystring: zodJsonSchema(recentQuerySchema) },
    },
    async (request) => {
      const { limit } = parseOrThrow(recentQuerySchema, request.query, 'querystring');
      const jobs = (await redis(() => queue.getJobs(['completed'], 0, RECENT_SCAN - 1, false))) as (
        Job<StoredJobPayload, ResultDocument> | undefined
      )[];
      const items = jobs
        .filter((j): j is Job<StoredJobPayload, ResultDocument> => j !== undefined)
        .filter((j) => tenantOf(j) === request.principal.tenant && j.returnvalue?.status === 'completed')
        .slice(0, limit)
        .map((j) => card(j.returnvalue));
      return { items };
    },
  );

  app.get(
    '/ui/thumbnails/:id',
    { schema: { hide: true, params: zodJsonSchema(thumbParamsSchema) } },
    async (request, reply) => {
      const { id } = parseOrThrow(thumbParamsSchema, request.params, 'params');
      const { scopes, tenant } = request.principal;
      if (!scopes.includes('read') && !scopes.includes('review')) {
        throw new LabelqError(
          'insufficient_scope',
          'This needs an API key with the "read" or "review" scope',
          {
            details: { required: 'read' },
          },
        );
      }
      const doc = await loadDocument(deps.storage, tenant, id, request.log);
      // Without `read`, only the images of the tenant's review queue (pending or decided): what a reviewer is
      // shown. Anything else answers like a missing image, so a review key cannot probe which images exist.
      const visible =
        doc?.status === 'completed' &&
        (doc.tenant === undefined || doc.tenant === tenant) &&
        (scopes.includes('read') || inReviewQueue(doc));
      if (!visible) throw new LabelqError('not_found', `No result for ${id}`);
      // Keyed by the source ETag: a changed object gets a new thumbnail.
      const etag = createHash('sha256').update(doc.source.etag).digest('hex').slice(0, 16);
      const key = `${config.s3.thumbnailsPrefix}${tenant}/${id}-${etag}.webp`;
      const s3 = objects();
      let bytes: Uint8Array;
      try {
        bytes = (await s3.getObjectBytes(config.s3.bucket, key, { maxBytes: 4 * 1024 * 1024 })).bytes;
      } catch (err) {
        if (toLabelqError(err).code !== 'object_not_found') throw err;
        const source = await s3.getObjectBytes(doc.source.bucket, doc.source.key, {
          maxBytes: config.worker.maxObjectBytes,
        });
        bytes = await sharp(source.bytes, { limitInputPixels: config.pool.maxInputPixels })
          .rotate()
          .resize(THUMB_PX, THUMB_PX, { fit: 'inside', withoutEnlargement: true })
          .webp({ quality: 75 })
          .toBuffer()
          .catch((e: unknown) => {
            throw new LabelqError(
              'image_decode_failed',
              `Could not make a thumbnail: ${(e as Error).message}`,
            );
          });
        await s3
          .putObject(config.s3.bucket, key, bytes, {
            contentType: 'image/webp',
            contentLength: bytes.byteLength,
          })
          .catch((e: unknown) => request.log.warn({ err: e }, 'could not cache the thumbnail'));
      }
      return reply
        .header('content-type', 'image/webp')
        .header('cache-control', 'private, max-age=3600')
        .send(Buffer.from(bytes));
    },
  );
}

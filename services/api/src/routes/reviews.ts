import { randomUUID } from 'node:crypto';
import {
  humanReviewSchema,
  isImageId,
  readStoredDocument,
  reviewItemSchema,
  reviewRequestSchema,
  type HumanReview,
  type ResultDocument,
  type ReviewItem,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { ReviewEntry } from '@labelq/moderation';
import { webhookEvent } from '@labelq/webhooks';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { notFound, selfLink } from '../status.ts';
import type { ApiWorkflow } from '../workflow/deps.ts';

const listQuery = z.strictObject({
  status: z.enum(['pending', 'decided']).default('pending'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** The last id of the previous page. */
  after: z.string().max(200).optional(),
});
type ReviewRequest = z.infer<typeof reviewRequestSchema>;
const params = z.strictObject({ id: z.string() });
/** How long one decision may hold its image (tag, document, index, queue); a crashed holder frees it then. */
const CLAIM_MS = 30_000;
const decidedBody = z.object({
  id: z.string(),
  review: humanReviewSchema,
  moderation: z.unknown(),
  links: z.object({ self: z.string() }),
});

/** A Redis failure is `queue_unavailable` (503, retry), not an internal error. */
async function redisOp(op: () => Promise<void>): Promise<void> {
  try {
    await op();
  } catch (err) {
    throw err instanceof LabelqError
      ? err
      : new LabelqError('queue_unavailable', `Redis: ${(err as Error).message}`, { cause: err });
  }
}

function item(e: ReviewEntry): ReviewItem {
  return {
    id: e.id,
    source: { bucket: e.bucket, key: e.key },
    modelDecision: 'review',
    reasons: e.reasons,
    policy: e.policy,
    queuedAt: e.queuedAt,
    ...(e.decision !== undefined
      ? { decision: e.decision, decidedBy: e.decidedBy, decidedAt: e.decidedAt }
      : {}),
    links: { image: selfLink(e.id) },
  };
}

/**
 * `/reviews` (scope `review`): the tenant's images the model sent to review, oldest first, and a person's
 * decision on one. The decision goes into the result document beside the model's (which stays), onto the
 * source object's `labelq:moderation` tag, into the queue's decided list, and out as `review.decided`.
 */
export function reviewRoutes(app: FastifyInstance, deps: ApiDeps, wf: ApiWorkflow): void {
  const tags = ['reviews'];
  const { objects } = wf;

  app.get(
    '/reviews',
    {
      config: { scope: 'review' },
      schema: {
        tags,
        summary: 'Images waiting for (or given) a human decision, oldest first',
        querystring: zodJsonSchema(listQuery),
        response: {
          200: openapi(z.object({ items: z.array(reviewItemSchema), next: z.string().optional() })),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = parseOrThrow(listQuery, request.query, 'query');
      const page = await wf.reviews.list(request.principal.tenant, q.status, q.limit, q.after);
      return { items: page.items.map(item), ...(page.next !== undefined ? { next: page.next } : {}) };
    },
  );

  app.post(
    '/reviews/:id',
    {
      config: { scope: 'review' },
      schema: {
        tags,
        summary: 'Decide an image in review: allow or block (409 if not in review, or decided without force)',
        params: zodJsonSchema(params),
        body: zodJsonSchema(reviewRequestSchema),
        response: { 200: openapi(decidedBody), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      const body = parseOrThrow(reviewRequestSchema, request.body, 'body');
      const { tenant, keyId } = request.principal;
      if (!isImageId(id)) throw notFound(id);
      // One decision at a time per image: without it two reviewers both pass the 409 check below and the later
      // write silently replaces the earlier decision (no `replaced`, tag and document possibly from different
      // people).
      const holder = `${keyId}:${randomUUID()}`;
      let claimed = false;
      await redisOp(async () => {
        claimed = await wf.reviews.claim(tenant, id, holder, CLAIM_MS);
      });
      if (!claimed) {
        throw new LabelqError(
          'review_in_progress',
          `Another decision on "${id}" is being recorded; reload the image to see it`,
        );
      }
      try {
        return await decide(request.log, id, body, tenant, keyId);
      } finally {
        await wf.reviews
          .release(tenant, id, holder)
          .catch((err: unknown) =>
            request.log.warn({ err, imageId: id }, 'could not release the review claim'),
          );
      }
    },
  );

  const decide = async (
    log: FastifyBaseLogger,
    id: string,
    body: ReviewRequest,
    tenant: string,
    keyId: string,
  ): Promise<{ id: string; review: HumanReview; moderation: unknown; links: { self: string } }> => {
    const key = objects.resultKey(tenant, id);
    const doc = readStoredDocument(await objects.getJson(deps.config.s3.bucket, key));
    if (doc === undefined) throw notFound(id);
    if (doc.status !== 'completed' || doc.moderation === undefined) {
      throw new LabelqError('review_not_pending', `Image "${id}" has no moderation decision to review`);
    }
    if (doc.review !== undefined && !body.force) {
      // The same decision again from the same key: a retry of one whose answer was lost or whose queue and
      // webhook step failed (503) after the document was written. Finish that step (the event id is the same,
      // so receivers see it once) instead of answering 409 and leaving the image listed as pending.
      if (doc.review.by === keyId && doc.review.decision === body.decision && doc.review.note === body.note) {
        await announce(tenant, doc, doc.review);
        return { id, review: doc.review, moderation: doc.moderation, links: { self: selfLink(id) } };
      }
      throw new LabelqError(
        'review_already_decided',
        `Image "${id}" was decided "${doc.review.decision}" by ${doc.review.by} at ${doc.review.at}`,
        { details: { decision: doc.review.decision, by: doc.review.by, at: doc.review.at } },
      );
    }
    if (doc.review === undefined && doc.moderation.decision !== 'review') {
      throw new LabelqError(
        'review_not_pending',
        `Image "${id}" was decided "${doc.moderation.decision}" by policy ${doc.moderation.policy}, not sent to review`,
        { details: { decision: doc.moderation.decision } },
      );
    }
    const review: HumanReview = {
      v: 1,
      decision: body.decision,
      by: keyId,
      at: new Date().toISOString(),
      ...(body.note !== undefined ? { note: body.note } : {}),
      modelDecision: doc.moderation.decision,
      policy: doc.moderation.policy,
      ...(doc.review !== undefined
        ? { replaced: { decision: doc.review.decision, by: doc.review.by, at: doc.review.at } }
        : {}),
    };
    const updated: ResultDocument = { ...doc, review };
    // The tag first: if it cannot be written nothing is recorded and the client may simply retry.
    if (deps.config.s3.writeTags) {
      await objects.mergeTags(
        doc.source.bucket,
        doc.source.key,
        [{ key: 'labelq:moderation', value: body.decision }],
        ['labelq:moderation'],
      );
    }
    await objects.putJson(deps.config.s3.bucket, key, updated);
    // The index follows the document (never fails the decision: the stream or a reindex catches up).
    await deps.resultsIndex?.record(updated);
    await announce(tenant, updated, review);
    log.info({ imageId: id, decision: review.decision, force: body.force }, 'review decided');
    return { id, review, moderation: doc.moderation, links: { self: selfLink(id) } };
  };

  /** The decided list and `review.decided` (a Redis failure: 503, and the same request again finishes it). */
  const announce = (tenant: string, doc: ResultDocument, review: HumanReview): Promise<void> =>
    redisOp(async () => {
      await wf.reviews.decided(tenant, doc);
      await wf.webhookEvents.emit(
        webhookEvent(
          tenant,
          'review.decided',
          {
            id: doc.id,
            decision: review.decision,
            modelDecision: review.modelDecision,
            by: review.by,
            at: review.at,
            ...(review.note !== undefined ? { note: review.note } : {}),
            ...(review.replaced !== undefined ? { replaced: review.replaced } : {}),
            source: { bucket: doc.source.bucket, key: doc.source.key },
            links: { self: selfLink(doc.id) },
          },
          [doc.id, review.at],
          { timestamp: review.at },
        ),
      );
    });
}

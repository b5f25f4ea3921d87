import { readStoredDocument, resultLabels, type StoredDocument } from '@labelq/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { withDeadline } from '../timeout.ts';
import type { ApiWorkflow } from '../workflow/deps.ts';

const reviewsQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(40) });

/** The labels a reviewer sees beside the reasons: each model's best three. */
function labelsOf(doc: StoredDocument | undefined): { model: string; name: string; confidence: number }[] {
  if (doc?.status !== 'completed') return [];
  return doc.results.flatMap((r) =>
    resultLabels(r)
      .slice(0, 3)
      .map((l) => ({ model: r.model.name, name: l.name, confidence: l.confidence })),
  );
}

/**
 * `GET /v1/ui/reviews` (scope `review`): the review page's one request: the tenant's pending reviews, oldest
 * first (the same queue as `GET /v1/reviews`), each with the models' top labels read from its result
 * document. Decisions go through the public `POST /v1/reviews/:id`, so the page and API clients cannot differ.
 */
export function uiReviewRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  wf: ApiWorkflow,
  timeoutMs: number,
): void {
  app.get(
    '/ui/reviews',
    { config: { scope: 'review' }, schema: { hide: true, querystring: zodJsonSchema(reviewsQuerySchema) } },
    async (request) => {
      const { limit } = parseOrThrow(reviewsQuerySchema, request.query, 'querystring');
      const { tenant } = request.principal;
      const [page, pending] = await withDeadline(
        () => Promise.all([wf.reviews.list(tenant, 'pending', limit), wf.reviews.pendingCount(tenant)]),
        timeoutMs * 5,
        'queue_unavailable',
        'Redis',
      );
      // A document that cannot be read costs its labels, not the page: the reviewer still has the reasons.
      const docs = await Promise.all(
        page.items.map((e) =>
          deps.storage
            .getDocument(tenant, e.id)
            .then((raw) => readStoredDocument(raw))
            .catch((err: unknown) => {
              request.log.warn({ err, imageId: e.id }, 'review page: result document unreadable');
              return undefined;
            }),
        ),
      );
      return {
        pending,
        items: page.items.map((e, i) => ({
          id: e.id,
          source: { bucket: e.bucket, key: e.key },
          reasons: e.reasons,
          policy: e.policy,
          queuedAt: e.queuedAt,
          labels: labelsOf(docs[i]),
        })),
      };
    },
  );
}

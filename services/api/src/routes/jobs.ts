import type { FastifyInstance } from 'fastify';
import { objectImageId } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { ApiDeps } from '../deps.ts';
import { jobsBodyDocSchema, jobsBodySchema, MAX_BULK_JOBS } from '../http/schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { acceptedResponse, bulkAcceptedResponse, errorResponses } from '../http/response-schemas.ts';
import { submit, type Submission } from '../submit/flow.ts';
import { assertSourceAllowed, newJob, resolveModels } from '../submit/job.ts';
import { checkCallbackUrls } from '../workflow/callbacks.ts';

/** Names the offending item of a bulk request (nothing is queued). */
function itemError(err: unknown, index: number, body: unknown): unknown {
  if (err instanceof LabelqError && Array.isArray(body)) {
    return new LabelqError(err.code, `[${index}]: ${err.message}`, { details: { ...err.details, index } });
  }
  return err;
}

/** `POST /jobs` (under `/v1`): classify objects already in an allowed bucket, one or up to 1000 at once. */
export function jobRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): void {
  const { config } = deps;
  const modelNames = deps.models.map((m) => m.name);
  app.post(
    '/jobs',
    {
      config: { scope: 'submit' },
      // 1000 items with metadata can pass Fastify's 1 MiB default.
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags: ['jobs'],
        summary: `Classify objects already in S3 (one, or up to ${MAX_BULK_JOBS})`,
        description:
          'A single object answers `{id, status, duplicate, links}`; an array answers `{count, jobs}` in the ' +
          "same order. Buckets outside S3_ALLOWED_BUCKETS or the key's bucket list, and labelq's own uploads and " +
          'results prefixes, answer 403 and nothing is queued. Each item answers ' +
          'its real status: a key already queued, active or completed answers that status with ' +
          '`duplicate: true` (a moderation item raises a waiting job to moderation priority); a failed one is ' +
          "queued again. `force: true` also re-runs a completed key (the worker reuses the result when the object's " +
          'ETag is unchanged and recomputes it when the object changed).',
        body: zodJsonSchema(jobsBodySchema, jobsBodyDocSchema),
        response: { 202: { oneOf: [acceptedResponse, bulkAcceptedResponse] }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const items = parseOrThrow(jobsBodySchema, request.body, 'body');
      const { tenant } = request.principal;
      const callbacks = await checkCallbackUrls(
        deps,
        tenant,
        items.map((item) => item.callbackUrl),
        timeoutMs,
        (err, index) => itemError(err, index, request.body),
      );
      const submissions = items.map((item, index): Submission => {
        const bucket = item.bucket ?? config.s3.bucket;
        try {
          assertSourceAllowed(config, request.principal, bucket, item.key);
          const models = resolveModels(item.models, modelNames);
          const job = newJob({
            tenant,
            id: objectImageId(tenant, bucket, item.key, models),
            bucket,
            key: item.key,
            models,
            purpose: item.purpose,
            origin: 's3',
            metadata: item.metadata,
            callbackUrl: callbacks[index],
          });
          return { job, force: item.force };
        } catch (err) {
          throw itemError(err, index, request.body);
        }
      });
      const accepted = await submit(deps, submissions, timeoutMs, { log: request.log });
      request.log.info(
        {
          count: accepted.length,
          queued: accepted.filter((a) => !a.duplicate).length,
          imageIds: accepted.slice(0, 10).map((a) => a.id),
        },
        'object jobs accepted',
      );
      return reply
        .status(202)
        .send(Array.isArray(request.body) ? { count: accepted.length, jobs: accepted } : accepted[0]);
    },
  );
}

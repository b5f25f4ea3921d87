import { batchOutcomes, csvHeader, csvRow, startBatchRun, type BatchAction } from '@labelq/batch';
import { batchCreateRequestSchema, batchSchema, isBatchId, newBatchId } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { assertSourceAllowed, resolveModels } from '../submit/job.ts';
import { withDeadline } from '../timeout.ts';

const exportQuerySchema = z.strictObject({ format: z.enum(['jsonl', 'csv']).default('jsonl') });
const listQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

const ACTIONS: Record<string, BatchAction> = {
  pause: 'pause',
  resume: 'resume',
  cancel: 'cancel',
  'retry-failed': 'retry',
};

/**
 * `/batches` (under `/v1`): create a batch over an S3 prefix or manifest (scope `submit`), follow it (scope
 * `read`), pause, resume, cancel or retry its failed items (`submit`), and export every item's outcome as a
 * stream (`read`). The API only records a batch and asks the batch role (in the worker fleet) to run it: no
 * listing ever runs inside a request.
 */
export function batchRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): void {
  const batches = deps.batches;
  if (batches === undefined) return;
  const { store, control } = batches;
  const modelNames = deps.models.map((m) => m.name);
  const redisOp = <T>(op: () => Promise<T>): Promise<T> =>
    withDeadline(op, timeoutMs, 'queue_unavailable', 'Redis');
  const idOf = (request: FastifyRequest): string => {
    const id = (request.params as { id?: unknown }).id;
    if (!isBatchId(id)) throw new LabelqError('not_found', `No batch ${String(id)}`);
    return id;
  };

  app.post(
    '/batches',
    {
      config: { scope: 'submit' },
      schema: {
        tags: ['batches'],
        summary: 'Tag every object under an S3 prefix or in a manifest',
        description:
          'Answers 202 with the batch; the batch role lists, filters and queues it (windowed: at most ' +
          'BATCH_WINDOW jobs waiting per batch). `mode` missing (default) skips objects whose result is current, ' +
          'stale re-runs only results made by other model files or policy, all queues everything. `dryRun` ' +
          'lists and decides without queueing: the batch completes with the counts.',
        body: zodJsonSchema(batchCreateRequestSchema),
        response: { 202: openapi(batchSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = parseOrThrow(batchCreateRequestSchema, request.body, 'body');
      const { principal } = request;
      const src = body.source;
      assertSourceAllowed(deps.config, principal, src.bucket, 'prefix' in src ? src.prefix : src.manifestKey);
      const models = resolveModels(body.models, modelNames);
      const id = newBatchId();
      const state = await redisOp(() =>
        store.create(id, principal.tenant, {
          source: src,
          purpose: body.purpose,
          mode: body.mode,
          dryRun: body.dryRun,
          models,
          ...(body.filter !== undefined ? { filter: body.filter } : {}),
          ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
          ...(principal.buckets !== undefined ? { allowedBuckets: [...principal.buckets] } : {}),
        }),
      );
      await redisOp(() => startBatchRun(control, id, state.gen));
      request.log.info(
        { batchId: id, tenant: principal.tenant, source: src, mode: body.mode },
        'batch created',
      );
      return reply.status(202).send(await store.view(state));
    },
  );

  app.get(
    '/batches',
    {
      config: { scope: 'read' },
      schema: { tags: ['batches'], summary: "This tenant's batches, newest first", response: errorResponses },
    },
    async (request) => {
      const { limit } = parseOrThrow(listQuerySchema, request.query, 'query');
      const states = await redisOp(() => store.list(request.principal.tenant, limit));
      return { batches: await Promise.all(states.map((s) => store.view(s))) };
    },
  );

  app.get(
    '/batches/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['batches'],
        summary: 'A batch: status, counts, rate, ETA',
        response: { 200: openapi(batchSchema), ...errorResponses },
      },
    },
    async (request) => {
      const s = await redisOp(() => store.readOwned(request.principal.tenant, idOf(request)));
      return store.view(s);
    },
  );

  app.post(
    '/batches/:id/:action',
    {
      config: { scope: 'submit' },
      schema: {
        tags: ['batches'],
        summary: 'pause | resume | cancel | retry-failed',
        description:
          'pause stops queueing (jobs already queued finish); resume goes on from the checkpoint; cancel ends the ' +
          'batch (queued items are not run); retry-failed queues the failed items again. 409 ' +
          '`batch_state_conflict` when the status does not allow it.',
        response: { 200: openapi(batchSchema), ...errorResponses },
      },
    },
    async (request) => {
      const action = ACTIONS[(request.params as { action: string }).action];
      if (action === undefined) throw new LabelqError('not_found', 'Unknown batch action');
      const id = idOf(request);
      await redisOp(() => store.readOwned(request.principal.tenant, id));
      await redisOp(() => store.transition(id, action));
      const s = (await redisOp(() => store.read(id)))!;
      if (action === 'resume' || action === 'retry') await redisOp(() => startBatchRun(control, id, s.gen));
      request.log.info({ batchId: id, action, status: s.status }, 'batch action');
      return store.view(s);
    },
  );

  app.get(
    '/batches/:id/results',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['batches'],
        summary: "Every item's outcome, streamed (JSONL or CSV)",
        description:
          'One line per listed object in listing order: key, ETag, status (completed, failed, skipped, pending, ' +
          'cancelled), labels per model, moderation decision, failure code. CSV flattens each model to its top ' +
          'three labels. Streamed page by page: the batch is never held in memory.',
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { format } = parseOrThrow(exportQuerySchema, request.query, 'query');
      const s = await redisOp(() => store.readOwned(request.principal.tenant, idOf(request)));
      const outcomes = batchOutcomes(
        { store, s3: batches.s3, reportsPrefix: deps.config.batch.reportsPrefix },
        s,
      );
      async function* lines(): AsyncGenerator<string> {
        if (format === 'csv') yield `${csvHeader(s.spec.models)}\n`;
        for await (const o of outcomes) {
          yield format === 'csv' ? `${csvRow(o, s.spec.models)}\n` : `${JSON.stringify(o)}\n`;
        }
      }
      const stream = Readable.from(lines());
      stream.on('error', (err) =>
        request.log.error({ err, batchId: s.id }, 'batch export failed mid-stream'),
      );
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${s.id}.${format}"`)
        .send(stream);
    },
  );
}

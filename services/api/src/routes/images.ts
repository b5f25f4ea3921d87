import { createHash } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import {
  type Accepted,
  CONTENT_TYPES,
  describeUnsupported,
  EXTENSIONS,
  IMAGE_FORMATS,
  isImageId,
  MIN_IMAGE_BYTES,
  sniffFormat,
  unsupportedFormatMessage,
  uploadImageId,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { ApiDeps } from '../deps.ts';
import { imageParamsSchema, uploadOptionsSchema } from '../http/schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { acceptedResponse, errorResponses, imageStatusResponse } from '../http/response-schemas.ts';
import { notFound, readImageStatus, readJobSnapshot, selfLink } from '../status.ts';
import { submit } from '../submit/flow.ts';
import { newJob, resolveModels } from '../submit/job.ts';
import { withDeadline } from '../timeout.ts';
import { UploadBudget } from '../upload/budget.ts';
import { receiveUpload } from '../upload/receive.ts';
import { readWait } from '../workflow/wait.ts';
import { waitForImage } from '../workflow/wait-result.ts';
import { checkCallbackUrls } from '../workflow/callbacks.ts';
import { z } from 'zod';

/** The upload's query string: its options, and `wait` (seconds to wait for the answer, #10). */
const uploadQuerySchema = uploadOptionsSchema.extend({
  wait: z
    .string()
    .optional()
    .describe('Seconds to wait for the result (also `Prefer: wait=N`); 200 if it ends in time'),
});

/** The multipart body, for the OpenAPI document only (multipart is parsed in the handler). */
export const uploadBodyDoc = {
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: {
          file: {
            type: 'string',
            format: 'binary',
            description: `The image (${IMAGE_FORMATS.join(', ')})`,
          },
          models: { type: 'string', description: 'Comma-separated model names (or repeat the field)' },
          purpose: { type: 'string', enum: ['tagging', 'moderation'] },
          metadata: { type: 'string', description: 'A JSON object of at most 4 KB, echoed in the result' },
          callbackUrl: {
            type: 'string',
            description: "One-off receiver of this image's events (tenants with callbacks on)",
          },
        },
      },
    },
    'image/*': { schema: { type: 'string', format: 'binary' } },
  },
} as const;

/** `POST /images` (upload one image) and `GET /images/:id` (its status and result), under `/v1`. */
export function imageRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): void {
  const { config, queue, storage } = deps;
  const modelNames = deps.models.map((m) => m.name);
  const uploads = new UploadBudget(config.api.maxUploadBytesInFlight);

  app.post(
    '/images',
    {
      // 100 Continue only once the upload budget has room (receiveUpload): a refusal comes before the body.
      config: { scope: 'submit', continuesItself: true },
      schema: {
        tags: ['images'],
        summary: 'Upload one image to classify',
        description:
          'multipart/form-data (field `file`, optional fields `models`, `purpose`, `metadata`) or a raw ' +
          '`image/*` body (options in the query string). The type is checked by magic bytes. A duplicate ' +
          'upload (same bytes and models) of a queued, active or completed image answers its id and status ' +
          'with `duplicate: true` (a moderation duplicate raises a waiting job to moderation priority); one ' +
          'whose processing failed is queued again.',
        querystring: zodJsonSchema(uploadQuerySchema),
        response: { 200: imageStatusResponse, 202: acceptedResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      // Checked before the body is read: a bad wait is refused without storing anything.
      const wait = readWait(request.query, request.headers.prefer, config.workflow.maxWaitSeconds);
      // Reserved before the body is read, released when the upload is stored (not held while waiting).
      const declared = Number(request.headers['content-length']);
      const release = uploads.reserve(
        Number.isFinite(declared) && declared > 0
          ? Math.min(declared, config.api.maxUploadBytes)
          : config.api.maxUploadBytes,
      );
      let uploaded: { id: string; tenant: string; accepted: Accepted };
      try {
        uploaded = await handleUpload(request);
      } finally {
        release();
      }
      const { id, tenant, accepted } = uploaded;
      if (wait.fromPrefer && deps.workflow !== undefined) {
        reply.header('preference-applied', `wait=${wait.seconds}`);
      }
      const done = await waitForImage(deps, id, tenant, wait.seconds, timeoutMs, reply);
      if (done !== undefined) return reply.status(200).header('location', selfLink(id)).send(done);
      return reply.status(202).header('location', selfLink(id)).send(accepted);
    },
  );

  const handleUpload = async (
    request: FastifyRequest,
  ): Promise<{ id: string; tenant: string; accepted: Accepted }> => {
    const { bytes, fields } = await receiveUpload(request, config.api.maxUploadBytes);
    const { wait: _wait, ...query } = request.query as Record<string, unknown>;
    const options = parseOrThrow(uploadOptionsSchema, { ...query, ...fields }, 'fields');
    if (bytes.length === 0) throw new LabelqError('image_empty');
    const format = sniffFormat(bytes);
    if (format === undefined) {
      throw new LabelqError('unsupported_format', unsupportedFormatMessage(bytes), {
        details: { format: describeUnsupported(bytes) },
      });
    }
    if (bytes.length < MIN_IMAGE_BYTES[format]) {
      throw new LabelqError(
        'image_decode_failed',
        `${bytes.length} bytes cannot hold a ${format} image (its mandatory headers alone take ${MIN_IMAGE_BYTES[format]})`,
        { details: { format, bytes: bytes.length, minBytes: MIN_IMAGE_BYTES[format] } },
      );
    }
    const models = resolveModels(options.models, modelNames);
    const { tenant } = request.principal;
    const [callbackUrl] = await checkCallbackUrls(deps, tenant, [options.callbackUrl], timeoutMs);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const id = uploadImageId(tenant, sha256, models);
    // Under the tenant's own prefix: the same bytes from two tenants are two objects.
    const key = `${config.s3.uploadsPrefix}${tenant}/${sha256}.${EXTENSIONS[format]}`;
    const log = request.log.child({ imageId: id });
    const job = newJob({
      tenant,
      id,
      bucket: config.s3.bucket,
      key,
      models,
      purpose: options.purpose,
      origin: 'upload',
      metadata: options.metadata,
      callbackUrl,
    });
    let stored = false;
    const accepted = await submit(deps, [{ job, force: false }], timeoutMs, {
      log,
      // Only a job about to be queued stores its bytes: a duplicate of a known image writes nothing.
      beforeEnqueue: async () => {
        await storage.putObject(key, bytes, CONTENT_TYPES[format]);
        stored = true;
      },
    }).then(
      ([a]) => a!,
      async (err: unknown) => {
        if (stored) await removeOrphanUpload(deps, id, key, log);
        throw err;
      },
    );
    log.info(
      { key, bytes: bytes.length, format, models, purpose: options.purpose, status: accepted.status },
      accepted.duplicate ? 'duplicate upload' : 'image queued',
    );
    return { id, tenant, accepted };
  };

  app.get(
    '/images/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['images'],
        summary: 'Status, timings and result of an image',
        description:
          'A finished image answers from its result (or failure) document, the same body whether Redis still ' +
          'holds the job or only the document in S3 is left; a queued or active one from Redis.',
        params: zodJsonSchema(imageParamsSchema),
        response: { 200: imageStatusResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      if (!isImageId(id)) throw notFound(id);
      const snapshot = await withDeadline(
        () => readJobSnapshot(queue, id),
        timeoutMs,
        'queue_unavailable',
        'Redis',
      );
      const status = await readImageStatus(id, request.principal.tenant, snapshot, storage, request.log);
      if (!status) throw notFound(id);
      return status;
    },
  );
}

/**
 * An upload whose job could not be queued (Redis out of memory or down) must not leave its object behind. Only
 * when Redis says no job holds the id: a deadline can pass while the add still lands (commands on one
 * connection run in order, so this read sees its outcome), and when Redis cannot answer, the object stays (a
 * stray object costs storage; a deleted source would fail a queued job). Best effort, logged.
 */
async function removeOrphanUpload(
  deps: ApiDeps,
  id: string,
  key: string,
  log: FastifyBaseLogger,
): Promise<void> {
  const { storage } = deps;
  if (storage.deleteObject === undefined) return;
  try {
    const held = await withDeadline(
      () => deps.queue.getJob(id),
      deps.dependencyTimeoutMs ?? 1000,
      'queue_unavailable',
      'Redis',
    );
    if (held !== undefined) return;
    await storage.deleteObject(key);
    log.info({ key }, 'removed the upload whose job could not be queued');
  } catch (err) {
    log.warn({ key, err }, 'could not remove the upload whose job could not be queued');
  }
}

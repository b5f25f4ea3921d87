import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { LabelqError } from '@labelq/errors';
import { IMAGE_ID_PATTERN, uploadImageId } from '@labelq/queue';
import type { ApiDeps } from '../deps.ts';
import { imageParamsSchema, uploadOptionsSchema } from '../http/schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { acceptedSchema, errorSchema, imageStatusSchema } from '../http/response-schemas.ts';
import { decide, findExisting, promoteToModeration, removeForRerun, type LookupDeps } from '../resubmit.ts';
import { notFound, readImageStatus, readJobSnapshot, selfLink, type ImageStatus } from '../status.ts';
import { JOB_NAME, jobData, jobOptions, resolveModels } from '../submit.ts';
import { withDeadline } from '../timeout.ts';
import { CONTENT_TYPES, EXTENSIONS, sniffFormat } from '../upload/magic.ts';
import { receiveUpload } from '../upload/receive.ts';

/** The multipart body, for the OpenAPI document only (multipart is parsed in the handler). */
const uploadBodyDoc = {
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: {
          file: {
            type: 'string',
            format: 'binary',
            description: 'The image (jpeg, png, webp, gif, avif, tiff)',
          },
          models: { type: 'string', description: 'Comma-separated model names (or repeat the field)' },
          purpose: { type: 'string', enum: ['tagging', 'moderation'] },
          metadata: { type: 'string', description: 'A JSON object of at most 4 KB, echoed in the result' },
        },
      },
    },
    'image/*': { schema: { type: 'string', format: 'binary' } },
  },
} as const;
export { uploadBodyDoc };

/** `POST /v1/images` (upload one image) and `GET /v1/images/:id` (its status and result). */
export function imageRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): void {
  const { config, queue, storage } = deps;
  const resultKey = (id: string): string => `${config.s3.resultsPrefix}${id}.json`;
  const queueOp = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withDeadline(op, timeoutMs, 'queue_unavailable', what);

  app.post(
    '/v1/images',
    {
      schema: {
        tags: ['images'],
        summary: 'Upload one image to classify',
        description:
          'multipart/form-data (field `file`, optional fields `models`, `purpose`, `metadata`) or a raw ' +
          '`image/*` body (options in the query string). The type is checked by magic bytes. A duplicate ' +
          'upload (same bytes and models) of a queued, active or completed image answers its id and status ' +
          'with `duplicate: true` (a moderation duplicate raises a waiting job to moderation priority); one ' +
          'whose processing failed is queued again.',
        querystring: zodJsonSchema(uploadOptionsSchema),
        response: { 202: acceptedSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request, reply) => {
      const { bytes, fields } = await receiveUpload(request, config.api.maxUploadBytes);
      const options = parseOrThrow(
        uploadOptionsSchema,
        { ...(request.query as Record<string, unknown>), ...fields },
        'fields',
      );
      if (bytes.length === 0) throw new LabelqError('image_empty');
      const format = sniffFormat(bytes);
      if (format === undefined) {
        throw new LabelqError(
          'unsupported_format',
          'The image format is not supported: send jpeg, png, webp, gif, avif or tiff',
        );
      }
      const models = resolveModels(options.models, deps.models);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const id = uploadImageId(sha256, models);
      const key = `${config.s3.uploadsPrefix}${sha256}.${EXTENSIONS[format]}`;
      const log = request.log.child({ imageId: id });

      // Known already: BullMQ still holds it, or it finished and left its document in S3. A queued, active or
      // completed one is joined (processed once); a failed one runs again, since its cause may be gone.
      const lookup: LookupDeps = { queue, storage, resultKey, queueOp };
      const existing = (await findExisting(lookup, [id])).get(id);
      const decision = decide(existing, { purpose: options.purpose });
      const duplicate = (status: ImageStatus, promoted: boolean) => {
        log.info({ status, promoted }, 'duplicate upload');
        return reply
          .status(202)
          .header('location', selfLink(id))
          .send({ id, status, duplicate: true, links: { self: selfLink(id) } });
      };
      if (decision.action === 'duplicate') {
        if (decision.promote && existing?.job) await promoteToModeration(lookup, [existing.job]);
        return duplicate(decision.status, decision.promote);
      }
      // A worker holds the lock: it was retried and started meanwhile, so join it.
      if (decision.replace && (await removeForRerun(lookup, [id])).has(id)) return duplicate('active', false);
      if (existing) log.info({ previous: existing.status }, 'resubmitted after failure: queued again');

      await storage.putObject(key, bytes, CONTENT_TYPES[format]);
      const data = jobData({
        id,
        bucket: config.s3.bucket,
        key,
        models,
        purpose: options.purpose,
        origin: 'upload',
        metadata: options.metadata,
      });
      await queueOp('Redis', () => queue.add(JOB_NAME, data, jobOptions(config, data)));
      log.info({ key, bytes: bytes.length, format, models, purpose: options.purpose }, 'image queued');
      return reply
        .status(202)
        .header('location', selfLink(id))
        .send({ id, status: 'queued', duplicate: false, links: { self: selfLink(id) } });
    },
  );

  app.get(
    '/v1/images/:id',
    {
      schema: {
        tags: ['images'],
        summary: 'Status, timings and result of an image',
        description: 'Answered from Redis while the job is there, then from the result document in S3.',
        params: zodJsonSchema(imageParamsSchema),
        response: { 200: imageStatusSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      if (!IMAGE_ID_PATTERN.test(id)) throw notFound(id);
      const snapshot = await queueOp('Redis', () => readJobSnapshot(queue, id));
      const status = await readImageStatus(id, snapshot, storage, resultKey(id));
      if (!status) throw notFound(id);
      return status;
    },
  );
}

import { ERROR_CODES, type ErrorCode } from '@labelq/errors';
import { z } from 'zod';
import { failureReasonSchema } from './failure.ts';
import { imageIdSchema, modelNameSchema } from './ids.ts';
import { resultDocumentSchema } from './documents.ts';

/**
 * Bodies of the HTTP API, derived from the document schemas (the OpenAPI document is generated from these).
 */

/** What clients see of a job's life. */
export const imageStatusSchema = z.enum(['queued', 'active', 'completed', 'failed']);
export type ImageStatus = z.infer<typeof imageStatusSchema>;

export const linksSchema = z.object({ self: z.string().describe('GET this for status and result') });

const nullableTime = z.iso.datetime().nullable();

/** `GET /v1/images/:id`: the same body whether Redis still holds the job or only its S3 document is left. */
export const imageStatusBodySchema = z.object({
  id: imageIdSchema,
  status: imageStatusSchema,
  timings: z.object({
    /** When the API accepted the job. */
    submittedAt: nullableTime,
    /** When a worker started the attempt that finished it (or the running one). */
    startedAt: nullableTime,
    /** When it completed or finally failed. */
    finishedAt: nullableTime,
  }),
  /** Attempts made so far. */
  attemptsMade: z.number().int().nonnegative(),
  /** The result document once completed. */
  result: resultDocumentSchema.optional(),
  /** Why it failed, once failed for good. */
  error: failureReasonSchema.optional(),
  links: linksSchema,
});
export type ImageStatusBody = z.infer<typeof imageStatusBodySchema>;

/** One accepted submission (`POST /v1/images`, an item of `POST /v1/jobs`). */
export const acceptedSchema = z.object({
  id: imageIdSchema.describe('Image id, derived from the content (or bucket/key) and model set'),
  status: imageStatusSchema.describe('queued when queued now, else the existing job or result status'),
  duplicate: z
    .boolean()
    .describe('True when this submission joined an existing queued, active or completed job or result'),
  links: linksSchema,
});
export type Accepted = z.infer<typeof acceptedSchema>;

export const bulkAcceptedSchema = z.object({
  count: z.number().int(),
  jobs: z.array(acceptedSchema),
});

/** `GET /v1/models`: what workers load. */
export const modelInfoSchema = z.object({
  name: modelNameSchema,
  version: z.string(),
  task: z.enum(['classify', 'detect', 'faces', 'text']),
  sha256: z.string(),
  description: z.string(),
  labels: z.array(z.string()),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;
export const modelListSchema = z.object({ models: z.array(modelInfoSchema) });

/** The body of every error response. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

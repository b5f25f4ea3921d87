import { LabelqError } from '@labelq/errors';
import { z } from 'zod';
import { imageIdSchema, modelNameSchema } from './ids.ts';

/** Why a job was submitted; moderation jobs jump the queue. */
export const purposeSchema = z.enum(['tagging', 'moderation']);
export type Purpose = z.infer<typeof purposeSchema>;

/** 'upload' for images sent to the API, 's3' for objects already in a bucket. */
export const originSchema = z.enum(['upload', 's3']);
export type Origin = z.infer<typeof originSchema>;

/** The tenant of everything submitted before access control existed, and of an installation without it. */
export const DEFAULT_TENANT = 'default';
export const tenantIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'tenant ids are 1-63 lower-case letters, digits, _ -');

/** The BullMQ job name of classify jobs. */
export const JOB_NAME = 'classify';

/** v1: every payload written by labelq 0.1.0. Frozen: it is also what a v1 worker accepts. */
export const jobPayloadV1Schema = z.object({
  v: z.literal(1),
  /** The image id clients use (`GET /v1/images/:id`); also the BullMQ job id. */
  id: imageIdSchema,
  bucket: z.string().min(3),
  key: z.string().min(1),
  /** Sorted, de-duplicated model names. */
  models: z.array(modelNameSchema).min(1),
  purpose: purposeSchema,
  origin: originSchema,
  /** Small client JSON echoed in the result (from the first submission of a duplicate). */
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** ISO time the API accepted the job. */
  submittedAt: z.string(),
});

/**
 * A hint any payload version may carry, outside the frozen v1 shape: readers that do not know it drop it (zod
 * objects strip unknown keys; labelq 0.1.0's v1 schema did too), and they lose nothing by that but an S3 read.
 */
export const jobHintsSchema = z.object({
  /**
   * The submitter looked this id up and found neither a job in Redis nor a result or failure document in S3, so
   * the job's first attempt has no stored result to reuse, re-decide or keep (a person's review) and need not
   * read one: one S3 request fewer per new image. Retries, stalled re-runs and later runs read it as before
   * (the worker checks the job's start count too). Absent, the worker reads: producers that cannot tell (batch
   * items, an older API) never set it. Default: absent.
   */
  noPriorResult: z.boolean().optional(),
});

/** What labelq reads as v1: the frozen shape and the hints. */
const jobPayloadV1ReadSchema = jobPayloadV1Schema.extend(jobHintsSchema.shape);

/**
 * The longest `callbackUrl` a job carries, in characters of its normalised form (`new URL(raw).toString()`, the
 * form stored: percent-encoding and punycode can make it longer than what the client sent). The API refuses a
 * longer one, so a job it accepted always passes this schema in the worker.
 */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/**
 * v2 adds the tenant the job belongs to, and (optional, added with #10's callbacks; a worker that predates it
 * ignores it) the request's one-off `callbackUrl`, checked by the API when the job was submitted.
 */
export const jobPayloadV2Schema = jobPayloadV1Schema.extend({
  v: z.literal(2),
  tenant: tenantIdSchema,
  callbackUrl: z.string().max(MAX_CALLBACK_URL_LENGTH).optional(),
  ...jobHintsSchema.shape,
});

/** The payload version this code writes when it needs to (see {@link encodeJobPayload}). */
export const JOB_PAYLOAD_VERSION = 2;

/** A classify job's payload as workers use it (the current version, whatever version was read). */
export type ClassifyJob = z.infer<typeof jobPayloadV2Schema>;
/** What a payload looks like in Redis: any version still accepted. */
export type StoredJobPayload = z.infer<typeof jobPayloadV1ReadSchema> | ClassifyJob;

const anyPayload = z.discriminatedUnion('v', [jobPayloadV1ReadSchema, jobPayloadV2Schema]);

/**
 * Reads a job payload taken from Redis: the current version and the previous one (upgraded in memory: a v1
 * job belongs to the default tenant), so a rolling deploy never fails jobs an older API queued. Anything else
 * is `invalid_request` (poison, never retried).
 */
export function parseJobPayload(data: unknown): ClassifyJob {
  const parsed = anyPayload.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new LabelqError('invalid_request', `Unknown or malformed job payload: ${problems}`, {
      details: { problems },
    });
  }
  const payload = parsed.data;
  return payload.v === 1 ? { ...payload, v: 2, tenant: DEFAULT_TENANT } : payload;
}

/**
 * The payload to store for a job: the oldest version that expresses it, so workers one release behind (which
 * read only v1) keep taking jobs while a deploy rolls. A default-tenant job is written as v1; a job of another
 * tenant (or with a callbackUrl) needs v2, which only an installation with access control (and so workers of this release) produces.
 */
export function encodeJobPayload(job: ClassifyJob): StoredJobPayload {
  // v1 is frozen: a callback needs v2 even for the default tenant. The hints ride along (jobHintsSchema): a
  // 0.1.0 worker drops them.
  if (job.tenant === DEFAULT_TENANT && job.callbackUrl === undefined) {
    const { tenant: _tenant, v: _v, ...rest } = job;
    return { v: 1, ...rest };
  }
  return job;
}

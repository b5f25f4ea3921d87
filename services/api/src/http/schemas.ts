import { modelNameSchema, purposeSchema } from '@labelq/contracts';
import { z } from 'zod';

/** Largest `metadata` accepted, in bytes of its JSON serialisation. */
export const MAX_METADATA_BYTES = 4096;
/** Most items one `POST /v1/jobs` may carry. */
export const MAX_BULK_JOBS = 1000;

/** `models`: a comma list, repeated fields, or an array; normalised to a list of names. */
export const modelsSchema = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()))
  .transform((v) => v.filter(Boolean))
  .pipe(z.array(modelNameSchema).min(1, 'models must name at least one model'));

function metadataSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** Small client JSON echoed in the result. */
export const metadataObjectSchema = z
  .record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' })
  .refine(
    (v) => metadataSize(v) <= MAX_METADATA_BYTES,
    `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  );

/** `metadata` sent as a form field or query parameter: a JSON object in a string. */
export const metadataStringSchema = z
  .string()
  .max(MAX_METADATA_BYTES, `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(metadataObjectSchema);

/** Options of `POST /v1/images`, from the query string or multipart fields. */
export const uploadOptionsSchema = z.object({
  models: modelsSchema.optional(),
  purpose: purposeSchema.default('tagging'),
  metadata: metadataStringSchema.optional(),
});
export type UploadOptions = z.output<typeof uploadOptionsSchema>;

/** One object to classify in `POST /v1/jobs`. */
export const jobItemSchema = z.strictObject({
  key: z.string().min(1).max(1024),
  bucket: z.string().min(3).max(63).optional(),
  models: modelsSchema.optional(),
  purpose: purposeSchema.default('tagging'),
  metadata: metadataObjectSchema.optional(),
  /** Re-run even when a completed result exists (the source object may have changed). Default false. */
  force: z
    .boolean()
    .default(false)
    .describe(
      'Re-run a key that already completed (its object may have changed); a failed key is always re-run',
    ),
});
export type JobItem = z.output<typeof jobItemSchema>;

export const jobListSchema = z
  .array(jobItemSchema)
  .min(1, 'send at least one job')
  .max(MAX_BULK_JOBS, `send at most ${MAX_BULK_JOBS} jobs per request`);

/**
 * One job or a list of them. Dispatched on the shape instead of a z.union so a bad item in a list gets its
 * own message ("[3].key: ...") rather than union's "Invalid input".
 */
export const jobsBodySchema = z.custom<unknown>().transform((body, ctx): JobItem[] => {
  const parsed = Array.isArray(body) ? jobListSchema.safeParse(body) : jobItemSchema.safeParse(body);
  if (parsed.success) return Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
  return z.NEVER;
});

/** What the OpenAPI document shows for the body of `POST /v1/jobs`. */
export const jobsBodyDocSchema = z.union([jobItemSchema, jobListSchema]);

export const imageParamsSchema = z.object({ id: z.string() });

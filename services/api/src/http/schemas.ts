import { MAX_CALLBACK_URL_LENGTH, modelNameSchema, purposeSchema } from '@labelq/contracts';
import { z } from 'zod';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-body.ts';

/** Largest `metadata` accepted, in bytes of its JSON serialisation. */
export const MAX_METADATA_BYTES = 4096;
/** Most items one `POST /v1/jobs` may carry. */
export const MAX_BULK_JOBS = 1000;
/** Longest S3 object key, in bytes of UTF-8 (S3's own limit counts bytes, not characters). */
export const MAX_KEY_BYTES = 1024;

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
    // Same nesting limit as a JSON body (the string is parsed here, not by the body parser).
    if (jsonDepthExceeds(s)) {
      ctx.addIssue({
        code: 'custom',
        message: `metadata nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
      });
      return z.NEVER;
    }
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(metadataObjectSchema);

/**
 * A one-off receiver of this request's image events (#10): allowed only for tenants the installation lets
 * (`CALLBACK_URL_TENANTS`) that turned callbacks on (`POST /v1/callbacks/secret`); checked like webhook URLs.
 */
export const callbackUrlSchema = z
  .string()
  .min(1)
  .max(MAX_CALLBACK_URL_LENGTH)
  .describe(
    'Receiver of image.completed / image.failed / image.review_required for this image, signed with the ' +
      "tenant's callback secret (Standard Webhooks)",
  );

/** Options of `POST /v1/images`, from the query string or multipart fields; any other name is refused. */
export const uploadOptionsSchema = z.strictObject({
  models: modelsSchema.optional(),
  purpose: purposeSchema.default('tagging'),
  metadata: metadataStringSchema.optional(),
  callbackUrl: callbackUrlSchema.optional(),
});
export type UploadOptions = z.output<typeof uploadOptionsSchema>;

// C0 controls and DEL: NUL and newlines in a key break logs, tags and tools downstream.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// A lone UTF-16 surrogate (from a `\ud800` escape) has no UTF-8 form: S3 would store a different key.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * An S3 object key as a client may name it: 1 to {@link MAX_KEY_BYTES} bytes of UTF-8, no control characters, no
 * `.` or `..` path segment (`a/../b`, `../x`, `./x`: S3 keeps them literally, but anything that maps keys to
 * paths resolves them elsewhere). A `..` inside a name (`a..b.jpg`) is fine.
 */
export const objectKeySchema = z
  .string()
  .min(1, 'key must not be empty')
  .refine((k) => !CONTROL_CHARACTER.test(k), {
    error: 'key must not contain control characters (NUL, \\x01-\\x1f, \\x7f)',
    abort: true,
  })
  .refine((k) => !LONE_SURROGATE.test(k), {
    error: 'key must be valid Unicode (it contains a lone UTF-16 surrogate)',
    abort: true,
  })
  .refine((k) => Buffer.byteLength(k, 'utf8') <= MAX_KEY_BYTES, {
    error: (issue) =>
      `key must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${Buffer.byteLength(String(issue.input), 'utf8')}`,
    abort: true,
  })
  .refine((k) => !k.split('/').some((segment) => segment === '.' || segment === '..'), {
    error: 'key must not contain "." or ".." path segments',
  })
  .describe(
    `S3 object key: at most ${MAX_KEY_BYTES} bytes of UTF-8, no control characters, no "." or ".." path segments`,
  );

/** One object to classify in `POST /v1/jobs`. */
export const jobItemSchema = z.strictObject({
  key: objectKeySchema,
  bucket: z.string().min(3).max(63).optional(),
  models: modelsSchema.optional(),
  purpose: purposeSchema.default('tagging'),
  metadata: metadataObjectSchema.optional(),
  callbackUrl: callbackUrlSchema.optional(),
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

export const imageParamsSchema = z.strictObject({ id: z.string() });

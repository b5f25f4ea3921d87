import { z } from 'zod';
import { modelNameSchema } from './ids.ts';
import { dominantColourSchema, perceptualHashSchema } from './image-properties.ts';
import { moderationDecisionSchema } from './model-result.ts';

/**
 * The results index's query surface: `GET /v1/images` filters, `GET /v1/labels`, `GET /v1/images/:id/similar`,
 * and what `labelq search` sends. Query strings carry strings: numbers and booleans are coerced. Unknown
 * parameters are refused (a typo must not silently widen a search).
 */
const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 time, e.g. 2026-11-30T00:00:00Z' });
const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');
/** Labels and batch ids as documents spell them; bounded so a query stays a query. */
const term = z.string().min(1).max(200);

export const SEARCH_MAX_LIMIT = 500;
export const SEARCH_DEFAULT_LIMIT = 50;

export const imageSearchQuerySchema = z.strictObject({
  /** A label (exact, as the model names it, e.g. `dog`). */
  label: term.optional(),
  /** With `label` (or alone: any label): the label's confidence is at least this. */
  minConfidence: z.coerce.number().min(0).max(1).optional(),
  /** Only labels from this model. */
  model: modelNameSchema.optional(),
  /** The moderation decision (a reviewer's, once one decided). */
  decision: moderationDecisionSchema.optional(),
  /** `completed` or `failed`. Default: both. */
  status: z.enum(['completed', 'failed']).optional(),
  batch: term.optional(),
  /** Words in the image's OCR text (web-search syntax: `"exact phrase"`, `or`, `-not`). */
  text: z.string().min(1).max(500).optional(),
  /** Results written before / at-or-after this time. */
  before: isoTime.optional(),
  after: isoTime.optional(),
  /** `true`: sharpness below BLURRY_SHARPNESS; `false`: at or above it. */
  blurry: boolString.optional(),
  limit: z.coerce.number().int().min(1).max(SEARCH_MAX_LIMIT).default(SEARCH_DEFAULT_LIMIT),
  /** `nextCursor` of the previous page, with the same filters. */
  cursor: z.string().min(1).max(2000).optional(),
});
export type ImageSearchQuery = z.output<typeof imageSearchQuerySchema>;
/** The filters alone (what a cursor is bound to). */
export type ImageSearchFilters = Omit<ImageSearchQuery, 'limit' | 'cursor'>;

export const labelFacetQuerySchema = z.strictObject({
  batch: term.optional(),
  model: modelNameSchema.optional(),
  minConfidence: z.coerce.number().min(0).max(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type LabelFacetQuery = z.output<typeof labelFacetQuerySchema>;

export const SIMILAR_MAX_DISTANCE = 15;
export const SIMILAR_DEFAULT_DISTANCE = 10;

export const similarQuerySchema = z.strictObject({
  /** Largest Hamming distance between the 64-bit perceptual hashes. Default 10; 0-15. */
  maxDistance: z.coerce.number().int().min(0).max(SIMILAR_MAX_DISTANCE).default(SIMILAR_DEFAULT_DISTANCE),
  limit: z.coerce.number().int().min(1).max(SEARCH_MAX_LIMIT).default(SEARCH_DEFAULT_LIMIT),
});
export type SimilarQuery = z.output<typeof similarQuerySchema>;

export const indexedLabelSchema = z.object({
  model: z.string(),
  task: z.string(),
  label: z.string(),
  confidence: z.number(),
  instances: z.number().int(),
});

/** One image as the index knows it. */
export const indexedImageSchema = z.object({
  id: z.string(),
  status: z.enum(['completed', 'failed']),
  bucket: z.string(),
  key: z.string(),
  etag: z.string().nullable(),
  format: z.string().nullable(),
  bytes: z.number().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  batch: z.string().nullable(),
  /** The image's decision now: a reviewer's when a person decided, else the policy's. */
  decision: z.string().nullable(),
  /** The policy's decision (optional: answers before reviews were indexed lack it). */
  modelDecision: z.string().nullable().optional(),
  /** The reviewer's API key id and the time of the decision; null without a review. */
  reviewedBy: z.string().nullable().optional(),
  reviewedAt: z.string().nullable().optional(),
  policyVersion: z.string().nullable(),
  errorCode: z.string().nullable(),
  submittedAt: z.string().nullable(),
  finishedAt: z.string(),
  models: z.array(z.object({ name: z.string(), version: z.string() }).loose()),
  labels: z.array(indexedLabelSchema),
  properties: z
    .object({
      phash: perceptualHashSchema,
      brightness: z.number().nullable(),
      sharpness: z.number().nullable(),
      colours: z.array(dominantColourSchema).nullable(),
    })
    .nullable(),
});
export type IndexedImage = z.infer<typeof indexedImageSchema>;

export const imageSearchResponseSchema = z.object({
  items: z.array(indexedImageSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type ImageSearchResponse = z.infer<typeof imageSearchResponseSchema>;

export const labelFacetResponseSchema = z.object({
  items: z.array(z.object({ label: z.string(), images: z.number().int() })),
});
export type LabelFacetResponse = z.infer<typeof labelFacetResponseSchema>;

export const similarResponseSchema = z.object({
  items: z.array(indexedImageSchema.extend({ distance: z.number().int() })),
});
export type SimilarResponse = z.infer<typeof similarResponseSchema>;

import { z } from 'zod';
import { moderationDecisionSchema } from './model-result.ts';

/** What a reviewer may decide: the model's `review` becomes `allow` or `block`. */
export const reviewDecisionSchema = z.enum(['allow', 'block']);
export type ReviewDecision = z.infer<typeof reviewDecisionSchema>;

/**
 * A person's decision on an image the model sent to review, stored in the result document beside the model's
 * `moderation` (which is never changed by it). Versioned on its own (`v`), so it evolves without a new
 * document version: readers of a document without it see no review.
 */
export const humanReviewV1Schema = z.object({
  v: z.literal(1),
  decision: reviewDecisionSchema,
  /** The API key id that decided. */
  by: z.string().min(1),
  /** ISO time of the decision. */
  at: z.string(),
  note: z.string().max(2000).optional(),
  /** The model's decision when this was recorded (always `review` unless policy changes re-decided it). */
  modelDecision: moderationDecisionSchema,
  /** The policy version the model's decision was made with. */
  policy: z.string(),
  /** The earlier human decision this one replaced (`force`), if any. */
  replaced: z.object({ decision: reviewDecisionSchema, by: z.string(), at: z.string() }).optional(),
});
export const humanReviewSchema = humanReviewV1Schema;
export type HumanReview = z.infer<typeof humanReviewSchema>;

/**
 * A moderation decision made again from stored scores under a newer policy (no inference): when and which
 * policy and decision it replaced.
 */
export const redecisionSchema = z.object({
  at: z.string(),
  fromPolicy: z.string(),
  fromDecision: moderationDecisionSchema,
});
export type Redecision = z.infer<typeof redecisionSchema>;

import { MODERATION_CATEGORIES, type ModerationCategory } from '@labelq/contracts';
import { z } from 'zod';
import { policyRuleSchema } from './rules.ts';

// The NSFW models' classes (nsfwjs) are Drawing, Hentai, Neutral, Porn, Sexy; the policy has thresholds for
// MODERATION_CATEGORIES (Porn, Hentai, Sexy) only.

const thresholds = z
  .object({
    Porn: z.number().min(0).max(1).optional(),
    Hentai: z.number().min(0).max(1).optional(),
    Sexy: z.number().min(0).max(1).optional(),
  })
  .strict();

/**
 * A moderation policy: per-category score thresholds at which an image is sent to review or blocked, and rules
 * over any model's output (classifier labels, detector instances, OCR text; see rules.ts). A score equal to a
 * threshold triggers it. An absent category never triggers at that level. The strictest triggered action wins.
 */
export const policySchema = z
  .object({
    /** Recorded in every result (`moderation.policy`); change it whenever a threshold or rule changes. */
    version: z.string().min(1).max(64),
    block: thresholds,
    review: thresholds,
    /** Rules over other models' output, in the order written. Absent: none. */
    rules: z.array(policyRuleSchema).max(100).optional(),
  })
  .strict();

export type ModerationPolicy = z.infer<typeof policySchema>;

/**
 * The calibrated default (see docs/moderation.md for the measured scores behind each number). Clothed people
 * score Porn up to ~0.5 and Sexy up to ~0.9 on the NSFW models, so thresholds sit above those.
 * - block: Porn >= 0.85 or Hentai >= 0.85
 * - review: Porn >= 0.6, Hentai >= 0.6 or Sexy >= 0.95
 */
export const DEFAULT_POLICY: ModerationPolicy = Object.freeze({
  version: 'nsfw-2026.11-1',
  block: Object.freeze({ Porn: 0.85, Hentai: 0.85 }),
  review: Object.freeze({ Porn: 0.6, Hentai: 0.6, Sexy: 0.95 }),
});

/**
 * The file format of MODERATION_POLICY_FILE (and of stored per-tenant policies): a `version` plus thresholds
 * overriding the defaults per level and category (`null` disables a category at that level), and optional
 * `rules`, which replace the base policy's rules when present. Example:
 * `{"version": "acme-1", "review": {"Sexy": null, "Porn": 0.7},
 *   "rules": [{"kind": "instance", "label": "knife", "minConfidence": 0.6, "action": "review"}]}`.
 */
export const policyFileSchema = z
  .object({
    version: z.string().min(1).max(64),
    block: z.partialRecord(z.enum(MODERATION_CATEGORIES), z.number().min(0).max(1).nullable()).optional(),
    review: z.partialRecord(z.enum(MODERATION_CATEGORIES), z.number().min(0).max(1).nullable()).optional(),
    rules: z.array(policyRuleSchema).max(100).optional(),
  })
  .strict();

export type PolicyFile = z.infer<typeof policyFileSchema>;

type Thresholds = ModerationPolicy['block'];

function apply(
  base: Thresholds,
  over: Partial<Record<ModerationCategory, number | null>> | undefined,
): Thresholds {
  const out: Thresholds = { ...base };
  for (const [category, value] of Object.entries(over ?? {}) as [ModerationCategory, number | null][]) {
    if (value === null) delete out[category];
    else out[category] = value;
  }
  return out;
}

/** Merges a validated policy file over `base` (default: {@link DEFAULT_POLICY}). */
export function mergePolicy(file: PolicyFile, base: ModerationPolicy = DEFAULT_POLICY): ModerationPolicy {
  const rules = file.rules ?? base.rules;
  return policySchema.parse({
    version: file.version,
    block: apply(base.block, file.block),
    review: apply(base.review, file.review),
    ...(rules !== undefined ? { rules } : {}),
  });
}
